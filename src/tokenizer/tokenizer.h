// A Hugging Face tokenizer.json, encoded and decoded exactly as the reference (transformers.js).
// Public interface only: implementation details live in the .cpp files of this folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oc::tok {

using TokenId = int32_t;

struct SpecialTokens {
  std::optional<TokenId> bos, eos, pad, unk;
  std::string bos_text, eos_text, pad_text, unk_text;
  bool add_bos = false;  // tokenizer_config add_bos_token (when the post-processor does not say)
  bool add_eos = false;
};

class Tokenizer {
 public:
  // Loads tokenizer.json and, when present, tokenizer_config.json beside it. Throws oc::Error
  // (ModelLoad) naming the file, or naming an unsupported component ("pre_tokenizer type X").
  static std::unique_ptr<Tokenizer> from_dir(const std::filesystem::path& dir);
  static std::unique_ptr<Tokenizer> from_files(const std::filesystem::path& tokenizer_json,
                                               const std::filesystem::path& tokenizer_config = {});
  virtual ~Tokenizer() = default;

  // Added tokens (special or not) are matched before the model; with add_special_tokens the
  // post-processor adds BOS/EOS as the tokenizer says.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const = 0;
  virtual std::string decode(std::span<const TokenId> ids, bool skip_special_tokens) const = 0;

  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(TokenId id) const = 0;  // "" when out of range
  virtual size_t vocab_size() const = 0;                  // highest id + 1, added tokens included
  virtual bool is_special(TokenId id) const = 0;
  virtual const SpecialTokens& special_tokens() const = 0;
};

// Turns ids into text one at a time: every returned delta is valid UTF-8, and the concatenation
// of all deltas plus flush() equals tokenizer.decode(all ids, skip_special_tokens).
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens);
  ~StreamDecoder();
  StreamDecoder(StreamDecoder&&) noexcept;
  std::string push(TokenId id);
  std::string flush();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace oc::tok
