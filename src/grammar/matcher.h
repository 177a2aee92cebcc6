// Grammar-constrained decoding: a Constraint (one grammar over one vocabulary, shared by the choices
// of a request) makes one Matcher per output sequence. A matcher answers "may this token come
// next?" cheaply (the sampled token is checked first), and computes the full mask of allowed tokens
// only when the answer is no.
//
// The parser is a pushdown automaton over bytes whose configurations (sets of stacks) are interned
// as states with a lazily filled byte transition table, so walking the token trie is mostly table
// lookups, and a state's token mask is cached (text inside a JSON string keeps one state).
// Steering: given how many tokens the output may still take, a token is allowed only when the
// shortest completion after it still fits (one byte per token at worst), so a grammar-constrained
// output ends complete within max_tokens whenever that is possible at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/token_table.h"

namespace oc::grammar {

class Automaton;  // matcher.cpp: interned parser states, transitions and cached masks
class Matcher;

class Constraint {
 public:
  // Parser states of one constraint. Patterns whose subset construction explodes (`.+a.{20}`)
  // would otherwise take unbounded time and memory from every request of the batch: past this many
  // states (about 40 MB), or past 256 times as many stacks stepped over in all (states that
  // each hold many stacks), the request ends with an Unsupported error instead.
  static constexpr size_t kDefaultMaxStates = size_t{1} << 16;

  // end_ids: the tokens that end the output (EOS); allowed exactly when the grammar is complete.
  Constraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTable> tokens,
             std::vector<TokenId> end_ids, size_t max_states = kDefaultMaxStates);
  ~Constraint();
  std::unique_ptr<Matcher> new_matcher() const;
  // Shortest output (in bytes) that satisfies the grammar.
  int64_t min_length() const;

 private:
  std::shared_ptr<Automaton> automaton_;
};

// One output sequence's position in the grammar. Thread-compatible: one thread at a time per
// matcher; matchers of one constraint may be used from different threads.
class Matcher {
 public:
  explicit Matcher(std::shared_ptr<Automaton> automaton);

  // remaining: how many tokens the output may still take, this one included.
  bool allows(TokenId id, int remaining) const;
  // Sets words to a bitset over `vocab` ids (bit i%32 of words[i/32]) of the tokens allowed next.
  // When the budget leaves nothing, the mask ignores it (the output then ends at max_tokens).
  // Returns false when no token at all is allowed (the grammar cannot continue with this
  // vocabulary).
  bool mask(int remaining, size_t vocab, std::vector<uint32_t>& words) const;
  // Moves past a token (an end token, or one that mask() allowed).
  void accept(TokenId id);
  bool complete() const;  // the output so far is a whole match: an end token is allowed
  bool is_end(TokenId id) const;

 private:
  std::shared_ptr<Automaton> automaton_;
  int32_t state_ = 0;
};

}  // namespace oc::grammar
