// A context-free grammar over bytes (the output constraint of structured generation), and the
// builder that JSON Schema compilation (json_schema.h) and tool calls use to write one.
//
// Rules have alternatives; an alternative is a sequence of elements (a byte set or a rule) closed by
// an End element, all stored in one flat array so that a parser position is one integer. Grammars
// must not be left-recursive (the builder only makes right recursion: repetition is `R ::= x R | ε`).
#pragma once

#include <bitset>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace oc::grammar {

using ByteSet = std::bitset<256>;

struct Elem {
  enum class Kind : uint8_t { End, Bytes, Rule };
  Kind kind = Kind::End;
  int32_t arg = 0;  // Bytes: index into Grammar::sets; Rule: rule id
};

using Seq = std::vector<Elem>;

struct Grammar {
  static constexpr int64_t kInfinite = std::numeric_limits<int64_t>::max() / 4;

  std::vector<Elem> elems;                  // every alternative, each closed by End
  std::vector<std::vector<int32_t>> rules;  // rule -> positions where its alternatives start
  std::vector<ByteSet> sets;
  int32_t root = 0;
  // Per position: the fewest bytes that reach the End of its alternative from there (kInfinite
  // when none does). Drives the steering towards a complete output when tokens run short.
  std::vector<int64_t> suffix_len;
};

class GrammarBuilder {
 public:
  int32_t new_rule();  // a rule without alternatives yet (for recursion)
  void add_alt(int32_t rule, Seq alt);
  int32_t rule_of(std::vector<Seq> alts);  // a new rule with these alternatives

  Elem bytes(const ByteSet& set);
  Elem byte_range(unsigned char lo, unsigned char hi);
  static Elem ref(int32_t rule) { return {Elem::Kind::Rule, rule}; }
  Seq literal(std::string_view text);

  // x*, x{min,max} (max < 0: unbounded), x? ; x must not derive the empty string.
  Elem star(const Seq& x);
  Elem repeat(const Seq& x, int64_t min, int64_t max);
  Elem optional(const Seq& x);

  // Computes the minimal lengths; throws oc::Error(InvalidRequest) when the root derives no finite
  // string (the constraint can never be satisfied).
  Grammar finish(int32_t root);

 private:
  std::vector<std::vector<Seq>> rules_;
  std::vector<ByteSet> sets_;
};

void append(Seq& to, const Seq& from);

}  // namespace oc::grammar
