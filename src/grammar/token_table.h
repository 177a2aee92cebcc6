// The bytes each token of a vocabulary adds to the output, arranged as a trie in depth-first order
// so that a grammar can test every token at once by walking it (and skip a whole subtree at the
// first byte the grammar rejects). Built once per tokenizer and shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace oc::grammar {

using TokenId = tok::TokenId;

class TokenTable {
 public:
  // The table of a tokenizer, built on first use (about a second for a 262k vocabulary) and cached
  // while any constraint holds it.
  static std::shared_ptr<const TokenTable> of(const tok::Tokenizer& tokenizer);
  explicit TokenTable(const tok::Tokenizer& tokenizer);

  struct Node {
    uint32_t end = 0;          // index past this node's subtree
    uint32_t first_token = 0;  // tokens ending here: sorted_ids()[first_token, last_token)
    uint32_t last_token = 0;
    uint16_t depth = 0;  // bytes from the root (the root is depth 0)
    uint8_t byte = 0;
  };

  size_t vocab_size() const { return bytes_.size(); }
  // The bytes of a token; empty for tokens a grammar never allows (special tokens, and pieces of
  // byte-level vocabularies that are not whole bytes of text).
  const std::string& bytes(TokenId id) const;
  const std::vector<Node>& nodes() const { return nodes_; }  // nodes()[0] is the root
  const std::vector<TokenId>& sorted_ids() const { return sorted_; }
  size_t max_depth() const { return max_depth_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<Node> nodes_;
  std::vector<TokenId> sorted_;
  size_t max_depth_ = 0;
};

}  // namespace oc::grammar
