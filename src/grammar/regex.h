// ECMAScript regular expressions (JSON Schema `pattern`) -> grammar over the JSON-escaped string
// contents: literals, classes ([a-z], [^...], \d \w \s and their negations, .), groups, alternation,
// quantifiers (* + ? {n} {n,} {n,m}, lazy forms alike). Anchors only at the ends (a pattern not
// anchored at an end may have any text there); lookarounds, backreferences and word boundaries are
// refused. Classes hold ASCII characters and single non-ASCII characters, not non-ASCII ranges.
#pragma once

#include <stdexcept>
#include <string_view>

#include "grammar/grammar.h"

namespace oc::grammar {

struct RegexError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `any_char`: one JSON string character (used for unanchored ends). Throws RegexError.
Elem add_regex(GrammarBuilder& b, std::string_view pattern, Elem any_char);

}  // namespace oc::grammar
