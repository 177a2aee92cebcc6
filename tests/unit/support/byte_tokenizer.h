// A vocabulary for grammar tests: every byte is a token, then `extra` multi-byte pieces, then one
// special end token. Encoding is one token per byte.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace oc::test {

class ByteTokenizer final : public tok::Tokenizer {
 public:
  explicit ByteTokenizer(std::vector<std::string> extra) {
    for (int b = 0; b < 256; ++b) pieces_.push_back(std::string(1, static_cast<char>(b)));
    for (auto& p : extra) pieces_.push_back(std::move(p));
    eos_ = static_cast<tok::TokenId>(pieces_.size());
    pieces_.push_back("<eos>");
  }
  std::vector<tok::TokenId> encode(std::string_view text, bool) const override {
    std::vector<tok::TokenId> ids;
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::string decode(std::span<const tok::TokenId> ids, bool) const override {
    std::string s;
    for (tok::TokenId id : ids) s += pieces_[static_cast<size_t>(id)];
    return s;
  }
  std::optional<tok::TokenId> token_to_id(std::string_view) const override { return std::nullopt; }
  std::string id_to_token(tok::TokenId id) const override { return pieces_[static_cast<size_t>(id)]; }
  size_t vocab_size() const override { return pieces_.size(); }
  bool is_special(tok::TokenId id) const override { return id == eos_; }
  const tok::SpecialTokens& special_tokens() const override { return special_; }
  tok::TokenId eos() const { return eos_; }
  // The id of a piece (vocab_size() when there is none).
  tok::TokenId id_of(std::string_view piece) const {
    return static_cast<tok::TokenId>(std::find(pieces_.begin(), pieces_.end(), piece) - pieces_.begin());
  }

 private:
  std::vector<std::string> pieces_;
  tok::TokenId eos_ = 0;
  tok::SpecialTokens special_;
};

}  // namespace oc::test
