// JSON <-> template values for the API layer and the CLI. Objects keep their key order, with
// JavaScript's property order applied (integer-like keys first, ascending), as the reference sees
// objects that came from JSON.parse; integral numbers are integers, as JavaScript numbers are.
// JSON nested deeper than 200 levels is refused with oc::Error(InvalidRequest).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "template/value.h"

namespace oc::tmpl {

Value value_from_json(const nlohmann::ordered_json& j);
// nlohmann::json has sorted keys already: prefer ordered_json where the order matters.
Value value_from_json(const nlohmann::json& j);
// Parses text keeping key order. Throws nlohmann::json::parse_error.
Value value_from_json_text(std::string_view text);
nlohmann::ordered_json value_to_json(const Value& v);

}  // namespace oc::tmpl
