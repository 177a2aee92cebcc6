// Text of a generated token stream: UTF-8-safe incremental detokenization and stop strings that
// may span token boundaries and never reach the output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace oc::engine {

// Turns ids into text deltas by decoding a short window of recent tokens: the delta is the text the
// new token adds to the window, released once it is valid UTF-8 (byte-fallback tokens can end in
// the middle of a character). The concatenation of all deltas plus flush() is the decoded text.
class IncrementalDecoder {
 public:
  IncrementalDecoder(const tok::Tokenizer& tokenizer, bool skip_special_tokens);
  std::string push(tok::TokenId id);
  std::string flush();  // whatever is still held (an incomplete sequence at the end)

 private:
  const tok::Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<tok::TokenId> ids_;
  size_t prefix_ = 0;  // window start
  size_t read_ = 0;    // tokens whose text was released
};

// Holds back text that may be the start of a stop string; reports the first stop string found.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  struct Result {
    std::string text;  // safe to emit
    bool stopped = false;
    std::string matched;
  };
  Result push(std::string_view text);
  std::string flush();  // the held text, when generation ends without a stop string
  bool empty() const { return stops_.empty(); }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
};

}  // namespace oc::engine
