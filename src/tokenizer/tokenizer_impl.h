// The concrete tokenizer (internal): the pipeline of components plus added tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"

namespace oc::tok {

struct AddedToken {
  std::string content;
  TokenId id = 0;
  bool single_word = false, lstrip = false, rstrip = false, special = false, normalized = false;
};

// Splits text around the longest dictionary word found at each position, left to right (the
// reference's DictionarySplitter). Pieces are never empty.
class DictionarySplitter {
 public:
  void build(const std::vector<std::string>& words);
  std::vector<std::string> split(std::string_view text) const;
  bool empty() const { return words_ == 0; }

 private:
  struct Node {
    int32_t word_len = -1;  // length of the word ending here, -1 if none
  };
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int32_t> edges_;
  bool first_byte_[256] = {};
  size_t words_ = 0;
};

class TokenizerImpl final : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const override;
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  std::string id_to_token(TokenId id) const override;
  size_t vocab_size() const override { return id_to_token_.size(); }
  bool is_special(TokenId id) const override;
  const SpecialTokens& special_tokens() const override { return specials_; }

  // What a streaming decoder must hold back at the end of the text (it may still change).
  bool cleans_up_spaces() const { return clean_up_spaces_; }

  // ---- filled by the loader ----
  TokenMap tokens_;                       // string -> id: model vocabulary plus added tokens
  std::vector<std::string> id_to_token_;  // id -> string
  std::vector<bool> has_token_;           // id has a string
  std::vector<bool> special_;             // id's string is a special token
  std::vector<AddedToken> added_;
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> added_map_;  // content -> added_ index
  DictionarySplitter split_raw_, split_normalized_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  bool remove_space_ = false, lowercase_and_remove_accent_ = false, clean_up_spaces_ = true;
  SpecialTokens specials_;

 private:
  void encode_text(std::string_view text, std::vector<TokenId>& ids) const;
};

std::unique_ptr<TokenizerImpl> load_tokenizer(const std::filesystem::path& tokenizer_json,
                                              const std::filesystem::path& tokenizer_config);

}  // namespace oc::tok
