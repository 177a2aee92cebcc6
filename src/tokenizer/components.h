// The pipeline stages of a tokenizer (internal): normalizers, pre-tokenizers, models,
// post-processors and decoders, each reproducing the reference's behaviour. Built by loader.cpp
// from tokenizer.json; no JSON here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/flat_map.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"

namespace oc::tok {

// Transparent hashing so that maps keyed by std::string can be queried with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = StringIdMap;

inline std::optional<TokenId> lookup(const TokenMap& map, std::string_view key) { return map.get(key); }

// ---- normalizers ----------------------------------------------------------------------------
struct Normalizer {
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string_view text) const = 0;
};

std::unique_ptr<Normalizer> make_sequence_normalizer(std::vector<std::unique_ptr<Normalizer>> items);
// pattern: a compiled regex (from a Regex or an escaped String pattern).
std::unique_ptr<Normalizer> make_replace_normalizer(std::shared_ptr<Regex> pattern, std::string content);
std::unique_ptr<Normalizer> make_unicode_normalizer(std::string form);  // NFC NFD NFKC NFKD
std::unique_ptr<Normalizer> make_strip_normalizer(bool left, bool right);
std::unique_ptr<Normalizer> make_strip_accents_normalizer();
std::unique_ptr<Normalizer> make_lowercase_normalizer();
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prepend);
std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool handle_chinese_chars,
                                                 std::optional<bool> strip_accents, bool lowercase);
std::unique_ptr<Normalizer> make_precompiled_normalizer();

// ---- pre-tokenizers -------------------------------------------------------------------------
struct PreTokenizer {
  virtual ~PreTokenizer() = default;
  // Splits one piece, appending the resulting pieces to out.
  virtual void split(std::string_view text, size_t section_index, std::vector<std::string>& out) const = 0;
  // Applies to every piece (what a Sequence step does).
  std::vector<std::string> apply(const std::vector<std::string>& pieces, size_t section_index) const {
    std::vector<std::string> out;
    for (const auto& p : pieces) split(p, section_index, out);
    return out;
  }
};

std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(std::vector<std::unique_ptr<PreTokenizer>> items);
std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement, std::string str_rep,
                                                           std::string prepend_scheme);
// mode: the reference's three ways: invert (matches only), removed (String.split), isolated.
enum class SplitMode { Matches, JsSplit, Isolated };
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(std::shared_ptr<Regex> pattern, SplitMode mode);
std::unique_ptr<PreTokenizer> make_punctuation_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits);
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_replace_pre_tokenizer(std::shared_ptr<Regex> pattern, std::string content);
std::unique_ptr<PreTokenizer> make_fixed_length_pre_tokenizer(size_t length);

// The GPT-2 byte <-> unicode table.
int unicode_to_byte(char32_t cp);  // -1 when cp is not in the table

// ---- models ---------------------------------------------------------------------------------
struct Model {
  virtual ~Model() = default;
  // Encodes pre-tokenized words, appending ids. `vocab` maps token strings (added tokens
  // included, as the reference does) to ids.
  virtual void encode(const std::vector<std::string>& words, std::vector<TokenId>& ids) const = 0;
  std::optional<TokenId> unk_id;
  std::optional<std::string> unk_token;
  std::optional<std::string> end_of_word_suffix;  // read by decode
  bool fuse_unk = false;
};

// BPE merges in one character buffer: merge i is the pair (a, b) stored as a then b, so that the
// merged string a+b is a slice too.
class MergeList {
 public:
  void add(std::string_view a, std::string_view b) {
    spans_.push_back(
        {static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(a.size()), static_cast<uint32_t>(b.size())});
    text_.append(a).append(b);
  }
  void reserve(size_t merges, size_t bytes) {
    spans_.reserve(merges);
    text_.reserve(bytes);
  }
  size_t size() const { return spans_.size(); }
  std::string_view first(size_t i) const { return std::string_view(text_).substr(spans_[i].start, spans_[i].a); }
  std::string_view second(size_t i) const {
    return std::string_view(text_).substr(spans_[i].start + spans_[i].a, spans_[i].b);
  }
  std::string_view joined(size_t i) const {
    return std::string_view(text_).substr(spans_[i].start, spans_[i].a + spans_[i].b);
  }

 private:
  struct Span {
    uint32_t start, a, b;
  };
  std::string text_;
  std::vector<Span> spans_;
};

struct BpeConfig {
  MergeList merges;
  std::optional<std::string> unk_token;
  std::optional<std::string> end_of_word_suffix, continuing_subword_suffix;
  bool byte_fallback = false, ignore_merges = false, fuse_unk = false;
};
// `tokens` is the tokenizer's full string->id map (model vocab plus added tokens).
std::unique_ptr<Model> make_bpe(BpeConfig config, const TokenMap& tokens);

struct WordPieceConfig {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;
  bool fuse_unk = false;
};
std::unique_ptr<Model> make_wordpiece(WordPieceConfig config, const TokenMap& tokens);

struct UnigramConfig {
  std::vector<std::pair<std::string, double>> vocab;
  std::optional<TokenId> unk_id;
};
std::unique_ptr<Model> make_unigram(UnigramConfig config, const TokenMap& tokens);

// ---- post-processors ------------------------------------------------------------------------
struct PostProcessor {
  virtual ~PostProcessor() = default;
  virtual std::vector<TokenId> process(std::vector<TokenId> ids, bool add_special_tokens) const = 0;
};
struct TemplatePiece {
  bool is_special = false;
  std::optional<TokenId> special_id;  // resolved token (absent: the token string was unknown)
  bool sequence_a = true;
};
std::unique_ptr<PostProcessor> make_template_post_processor(std::vector<TemplatePiece> single);
std::unique_ptr<PostProcessor> make_passthrough_post_processor();
std::unique_ptr<PostProcessor> make_cls_sep_post_processor(std::optional<TokenId> cls, std::optional<TokenId> sep);
std::unique_ptr<PostProcessor> make_sequence_post_processor(std::vector<std::unique_ptr<PostProcessor>> items);

// ---- decoders -------------------------------------------------------------------------------
struct Decoder {
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

std::unique_ptr<Decoder> make_byte_level_decoder(std::shared_ptr<const std::vector<std::string>> added_contents);
std::unique_ptr<Decoder> make_wordpiece_decoder(std::string prefix, bool cleanup);
std::unique_ptr<Decoder> make_metaspace_decoder(std::string replacement);
std::unique_ptr<Decoder> make_bpe_decoder(std::string suffix);
std::unique_ptr<Decoder> make_ctc_decoder(std::string pad_token, std::string word_delimiter_token, bool cleanup);
std::unique_ptr<Decoder> make_sequence_decoder(std::vector<std::unique_ptr<Decoder>> items);
std::unique_ptr<Decoder> make_replace_decoder(std::shared_ptr<Regex> pattern, std::string content);
std::unique_ptr<Decoder> make_fuse_decoder();
std::unique_ptr<Decoder> make_strip_decoder(std::string content, size_t start, size_t stop);
std::unique_ptr<Decoder> make_byte_fallback_decoder();

// The reference's clean_up_tokenization (" ." -> "." and friends).
std::string clean_up_tokenization(std::string_view text);

}  // namespace oc::tok
