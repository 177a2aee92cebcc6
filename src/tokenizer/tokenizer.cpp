// Encoding and decoding: added tokens first, then normalizer, pre-tokenizer, model and
// post-processor; decoding through the decoder chain. Follows the reference step by step.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "common/error.h"
#include "common/utf8.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace oc::tok {

// ---- added tokens: the dictionary splitter ---------------------------------------------------
void DictionarySplitter::build(const std::vector<std::string>& words) {
  nodes_.assign(1, Node{});
  edges_.clear();
  words_ = 0;
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (const auto& w : words) {
    if (w.empty()) continue;
    ++words_;
    first_byte_[static_cast<unsigned char>(w[0])] = true;
    int32_t node = 0;
    for (unsigned char b : w) {
      uint64_t key = (static_cast<uint64_t>(node) << 8) | b;
      auto it = edges_.find(key);
      if (it == edges_.end()) {
        nodes_.push_back(Node{});
        it = edges_.emplace(key, static_cast<int32_t>(nodes_.size() - 1)).first;
      }
      node = it->second;
    }
    nodes_[node].word_len = static_cast<int32_t>(w.size());
  }
}

std::vector<std::string> DictionarySplitter::split(std::string_view text) const {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    int32_t match = -1;
    if (words_ && first_byte_[static_cast<unsigned char>(text[i])]) {
      int32_t node = 0;
      for (size_t j = i; j < text.size(); ++j) {
        auto it = edges_.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[j]));
        if (it == edges_.end()) break;
        node = it->second;
        if (nodes_[node].word_len >= 0) match = nodes_[node].word_len;
      }
    }
    if (match > 0) {
      if (i > start) out.emplace_back(text.substr(start, i - start));
      out.emplace_back(text.substr(i, static_cast<size_t>(match)));
      i += static_cast<size_t>(match);
      start = i;
    } else {
      i += utf8::seq_len(static_cast<unsigned char>(text[i]));
    }
  }
  if (start < text.size()) out.emplace_back(text.substr(start));
  return out;
}

// ---- encode ----------------------------------------------------------------------------------
namespace {

void strip_around_added(std::vector<std::string>& sections, const TokenizerImpl& t) {
  for (size_t i = 0; i < sections.size(); ++i) {
    auto it = t.added_map_.find(sections[i]);
    if (it == t.added_map_.end()) continue;
    const AddedToken& a = t.added_[it->second];
    if (a.lstrip && i > 0) sections[i - 1] = std::string(uni::js_trim_end(sections[i - 1]));
    if (a.rstrip && i + 1 < sections.size()) sections[i + 1] = std::string(uni::js_trim_start(sections[i + 1]));
  }
}

std::string collapse_spaces(std::string_view text) {
  // processed_text.trim().split(/\s+/).join(" ")
  std::string out;
  std::string_view s = uni::js_trim(text);
  bool in_space = false;
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    char32_t c = utf8::next(s, i);
    if (uni::js_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.append(s, start, i - start);
  }
  return out;
}

}  // namespace

void TokenizerImpl::encode_text(std::string_view text, std::vector<TokenId>& ids) const {
  std::vector<std::string> sections = split_raw_.split(text);
  strip_around_added(sections, *this);
  for (size_t index = 0; index < sections.size(); ++index) {
    std::string section = std::move(sections[index]);
    if (section.empty()) continue;
    if (auto it = added_map_.find(section); it != added_map_.end()) {
      ids.push_back(added_[it->second].id);
      continue;
    }
    if (remove_space_) section = collapse_spaces(section);
    if (lowercase_and_remove_accent_) {
      std::string lower = uni::js_lower(section);
      section.clear();
      for (size_t i = 0; i < lower.size();) {
        size_t start = i;
        if (!uni::is_mark(utf8::next(lower, i))) section.append(lower, start, i - start);
      }
    }
    if (normalizer_) section = normalizer_->normalize(section);
    if (section.empty()) continue;
    std::vector<std::string> subsections = split_normalized_.split(section);
    strip_around_added(subsections, *this);
    for (auto& sub : subsections) {
      if (sub.empty()) continue;
      if (auto it = added_map_.find(sub); it != added_map_.end()) {
        ids.push_back(added_[it->second].id);
        continue;
      }
      // Each subsection is its own call of the model (fuse_unk stays within it).
      std::vector<std::string> pieces;
      if (pre_tokenizer_)
        pre_tokenizer_->split(sub, index, pieces);
      else
        pieces.push_back(std::move(sub));
      model_->encode(pieces, ids);
    }
  }
}

std::vector<TokenId> TokenizerImpl::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<TokenId> ids;
  if (!utf8::is_valid(text)) {
    std::string fixed = utf8::decode_lossy(text);
    encode_text(fixed, ids);
  } else {
    encode_text(text, ids);
  }
  if (post_processor_) ids = post_processor_->process(std::move(ids), add_special_tokens);
  return ids;
}

// ---- decode ----------------------------------------------------------------------------------
std::string TokenizerImpl::decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    bool known = id >= 0 && static_cast<size_t>(id) < id_to_token_.size() && has_token_[id];
    if (known) {
      if (skip_special_tokens && special_[id]) continue;
      tokens.push_back(id_to_token_[id]);
    } else if (model_->unk_token) {
      if (skip_special_tokens) {
        auto unk = lookup(tokens_, *model_->unk_token);
        if (unk && static_cast<size_t>(*unk) < special_.size() && special_[*unk]) continue;
      }
      tokens.push_back(*model_->unk_token);
    }
  }
  std::string text;
  if (decoder_) {
    for (auto& piece : decoder_->decode_chain(std::move(tokens))) text += piece;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  }
  if (decoder_ && model_->end_of_word_suffix) {
    text = uni::replace_all(text, *model_->end_of_word_suffix, " ");
    if (skip_special_tokens) text = std::string(uni::js_trim(text));
  }
  if (clean_up_spaces_) text = clean_up_tokenization(text);
  return text;
}

std::optional<TokenId> TokenizerImpl::token_to_id(std::string_view token) const { return lookup(tokens_, token); }

std::string TokenizerImpl::id_to_token(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return "";
  return id_to_token_[id];
}

bool TokenizerImpl::is_special(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[id];
}

// ---- factory ---------------------------------------------------------------------------------
std::unique_ptr<Tokenizer> Tokenizer::from_files(const std::filesystem::path& tokenizer_json,
                                                 const std::filesystem::path& tokenizer_config) {
  return load_tokenizer(tokenizer_json, tokenizer_config);
}

std::unique_ptr<Tokenizer> Tokenizer::from_dir(const std::filesystem::path& dir) {
  auto json = dir / "tokenizer.json";
  if (!std::filesystem::exists(json)) throw Error(ErrorKind::ModelLoad, "no tokenizer.json in " + dir.string());
  auto config = dir / "tokenizer_config.json";
  return load_tokenizer(json, std::filesystem::exists(config) ? config : std::filesystem::path{});
}

}  // namespace oc::tok
