// PCRE2 regexes (UTF, JIT) with JavaScript iteration semantics, and the translation of the
// Oniguruma-style patterns found in tokenizer.json into PCRE2 syntax, following the reference.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oc::tok {

class Regex {
 public:
  // Compiles a PCRE2 pattern; throws oc::Error (ModelLoad) naming `what` on a syntax error.
  Regex(const std::string& pcre_pattern, const std::string& what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  struct Match {
    size_t start, end;
    std::vector<std::pair<size_t, size_t>> groups;  // capture groups (npos when unset)
  };
  // Every match, as String.prototype.matchAll with the g flag (an empty match advances one code point).
  std::vector<Match> find_all(std::string_view text, bool with_groups = false) const;
  // Anchored/unanchored search from `from`; false when none.
  bool search(std::string_view text, size_t from, Match& m, bool with_groups) const;
  // String.prototype.split(regex): pieces and captured groups, as JavaScript produces them (empty
  // pieces are kept, unset groups are skipped).
  std::vector<std::string> js_split(std::string_view text) const;
  std::string replace_all(std::string_view text, std::string_view replacement) const;
  bool matches_whole(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Translates a tokenizer.json "Regex" pattern (Oniguruma flavour) into PCRE2 syntax with the
// reference's rewrites: ASCII-only (?i:...), \s \d \w as Unicode properties, possessive and atomic
// forms as plain groups, X{n,m}+ as (?:X{n,m})+. Throws oc::Error on what it cannot express.
std::string onig_to_pcre(std::string_view pattern);
// Escapes a literal string for PCRE2.
std::string escape_literal(std::string_view s);

}  // namespace oc::tok
