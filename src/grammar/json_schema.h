// JSON Schema -> grammar: the OpenAI strict-mode subset and what else a grammar can express (types,
// properties/required/additionalProperties, enum/const, arrays with items/prefixItems/min/maxItems,
// anyOf, allOf and oneOf of disjoint branches, $ref into $defs/definitions, string length, pattern
// and formats, integer ranges). docs/STRUCTURED.md lists the exact subset and the choices made.
#pragma once

#include <string_view>

#include "grammar/grammar.h"

namespace oc::grammar {

// Adds the rules for JSON text matching the schema (no surrounding whitespace) and returns the
// element that derives it. Throws oc::Error: InvalidRequest (code "invalid_schema") for a schema
// that is not valid JSON Schema or can never be satisfied, Unsupported naming the keyword and its
// place ("properties.a.uniqueItems") for keywords a grammar cannot enforce.
Elem add_json_schema(GrammarBuilder& b, std::string_view schema_json);

// Any JSON value, or any JSON object.
Elem add_any_json(GrammarBuilder& b, bool object_only);

// Optional JSON whitespace (spaces, tabs, newlines).
Elem add_json_whitespace(GrammarBuilder& b);

}  // namespace oc::grammar
