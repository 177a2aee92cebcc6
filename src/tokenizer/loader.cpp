// Loads tokenizer.json (+ tokenizer_config.json) into a TokenizerImpl. Every component type the
// reference knows is built here; anything else is a ModelLoad error naming it.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace oc::tok {
namespace {

using json = nlohmann::json;

struct BigParts {
  std::vector<std::pair<std::string, TokenId>> vocab;  // model.vocab when it is an object
  bool vocab_object = false;
  MergeList merges;
  std::string pending_merge;  // first half of an ["a", "b"] merge
  bool merges_seen = false;
  std::string bad_merge;
};

[[noreturn]] void unsupported(const std::string& what) { throw Error(ErrorKind::ModelLoad, "unsupported " + what); }

std::string str(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}
std::optional<std::string> opt_str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}
bool flag(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return fallback;
  return it->get<bool>();
}
std::optional<bool> opt_flag(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}
size_t number(const json& j, const char* key, size_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return fallback;
  const double v = it->get<double>();
  if (!(v > 0)) return 0;  // negative or NaN
  // Past 2^63 (1e103 in a file) the conversion would be undefined: saturate.
  constexpr double kMax = static_cast<double>(std::numeric_limits<size_t>::max() / 2);
  return v >= kMax ? std::numeric_limits<size_t>::max() / 2 : static_cast<size_t>(v);
}
std::string type_of(const json& j) { return j.is_object() ? str(j, "type") : std::string(); }

// The reference's create_pattern: a Regex (translated) or a String (escaped; captured when not inverted).
std::shared_ptr<Regex> pattern(const json& j, bool invert, const std::string& owner) {
  if (!j.is_object()) unsupported(owner + " pattern (missing)");
  if (auto re = j.find("Regex"); re != j.end() && re->is_string())
    return std::make_shared<Regex>(onig_to_pcre(re->get<std::string>()), owner);
  if (auto s = j.find("String"); s != j.end() && s->is_string()) {
    std::string esc = escape_literal(s->get<std::string>());
    return std::make_shared<Regex>(invert ? esc : "(" + esc + ")", owner);
  }
  unsupported(owner + " pattern " + j.dump());
}

std::unique_ptr<Normalizer> normalizer(const json& j) {
  if (j.is_null()) return nullptr;
  std::string t = type_of(j);
  if (t == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> items;
    if (auto it = j.find("normalizers"); it != j.end() && it->is_array())
      for (const auto& x : *it) items.push_back(normalizer(x));
    return make_sequence_normalizer(std::move(items));
  }
  if (t == "Replace")
    return make_replace_normalizer(pattern(j.value("pattern", json()), true, "Replace normalizer"), str(j, "content"));
  if (t == "NFC" || t == "NFD" || t == "NFKC" || t == "NFKD") return make_unicode_normalizer(t);
  if (t == "Strip") return make_strip_normalizer(flag(j, "strip_left", false), flag(j, "strip_right", false));
  if (t == "StripAccents") return make_strip_accents_normalizer();
  if (t == "Lowercase") return make_lowercase_normalizer();
  if (t == "Prepend") return make_prepend_normalizer(str(j, "prepend"));
  if (t == "BertNormalizer")
    return make_bert_normalizer(flag(j, "clean_text", false), flag(j, "handle_chinese_chars", false),
                                opt_flag(j, "strip_accents"), flag(j, "lowercase", false));
  if (t == "Precompiled") return make_precompiled_normalizer();
  unsupported("normalizer type " + (t.empty() ? j.dump() : t));
}

std::unique_ptr<PreTokenizer> pre_tokenizer(const json& j) {
  if (j.is_null()) return nullptr;
  std::string t = type_of(j);
  if (t == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> items;
    if (auto it = j.find("pretokenizers"); it != j.end() && it->is_array())
      for (const auto& x : *it) items.push_back(pre_tokenizer(x));
    return make_sequence_pre_tokenizer(std::move(items));
  }
  if (t == "ByteLevel")
    return make_byte_level_pre_tokenizer(flag(j, "add_prefix_space", false), flag(j, "use_regex", true));
  if (t == "Whitespace") return make_whitespace_pre_tokenizer();
  if (t == "WhitespaceSplit") return make_whitespace_split_pre_tokenizer();
  if (t == "Metaspace") {
    std::string replacement = str(j, "replacement", "\xE2\x96\x81");
    std::string str_rep = str(j, "str_rep");
    if (str_rep.empty()) str_rep = replacement;
    return make_metaspace_pre_tokenizer(replacement, str_rep, str(j, "prepend_scheme", "always"));
  }
  if (t == "Split") {
    // invert defaults to true for building the pattern, but only an explicit true selects "matches"
    auto inv = j.find("invert");
    bool invert_for_pattern = !(inv != j.end() && inv->is_boolean() && !inv->get<bool>());
    bool invert = inv != j.end() && inv->is_boolean() && inv->get<bool>();
    std::string behavior = str(j, "behavior");
    std::transform(behavior.begin(), behavior.end(), behavior.begin(), [](unsigned char c) { return std::tolower(c); });
    SplitMode mode = invert ? SplitMode::Matches : behavior == "removed" ? SplitMode::JsSplit : SplitMode::Isolated;
    return make_split_pre_tokenizer(pattern(j.value("pattern", json()), invert_for_pattern, "Split pre-tokenizer"),
                                    mode);
  }
  if (t == "Punctuation") return make_punctuation_pre_tokenizer();
  if (t == "Digits") return make_digits_pre_tokenizer(flag(j, "individual_digits", false));
  if (t == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (t == "Replace")
    return make_replace_pre_tokenizer(pattern(j.value("pattern", json()), true, "Replace pre-tokenizer"),
                                      str(j, "content"));
  if (t == "FixedLength") return make_fixed_length_pre_tokenizer(number(j, "length", 5));
  unsupported("pre_tokenizer type " + (t.empty() ? j.dump() : t));
}

std::unique_ptr<Decoder> decoder(const json& j, const std::shared_ptr<const std::vector<std::string>>& added) {
  if (j.is_null()) return nullptr;
  std::string t = type_of(j);
  if (t == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> items;
    if (auto it = j.find("decoders"); it != j.end() && it->is_array())
      for (const auto& x : *it) {
        auto d = decoder(x, added);
        if (!d) unsupported("decoder (null inside a Sequence)");
        items.push_back(std::move(d));
      }
    return make_sequence_decoder(std::move(items));
  }
  if (t == "ByteLevel") return make_byte_level_decoder(added);
  if (t == "WordPiece") return make_wordpiece_decoder(str(j, "prefix"), flag(j, "cleanup", false));
  if (t == "Metaspace") return make_metaspace_decoder(str(j, "replacement", "\xE2\x96\x81"));
  if (t == "BPEDecoder") return make_bpe_decoder(str(j, "suffix"));
  if (t == "CTC")
    return make_ctc_decoder(str(j, "pad_token"), str(j, "word_delimiter_token"), flag(j, "cleanup", false));
  if (t == "Replace")
    return make_replace_decoder(pattern(j.value("pattern", json()), true, "Replace decoder"), str(j, "content"));
  if (t == "Fuse") return make_fuse_decoder();
  if (t == "Strip") return make_strip_decoder(str(j, "content"), number(j, "start", 0), number(j, "stop", 0));
  if (t == "ByteFallback") return make_byte_fallback_decoder();
  unsupported("decoder type " + (t.empty() ? j.dump() : t));
}

std::optional<TokenId> resolve(const TokenizerImpl& t, const json& token) {
  if (!token.is_string()) return std::nullopt;
  return t.token_to_id(token.get<std::string>());
}

std::unique_ptr<PostProcessor> post_processor(const json& j, const TokenizerImpl& t) {
  if (j.is_null()) return nullptr;
  std::string type = type_of(j);
  if (type == "TemplateProcessing") {
    std::vector<TemplatePiece> single;
    if (auto it = j.find("single"); it != j.end() && it->is_array())
      for (const auto& item : *it) {
        TemplatePiece p;
        if (auto s = item.find("SpecialToken"); s != item.end()) {
          p.is_special = true;
          p.special_id = resolve(t, s->value("id", json()));
        } else if (auto q = item.find("Sequence"); q != item.end()) {
          p.sequence_a = q->value("id", std::string("A")) == "A";
        } else {
          continue;
        }
        single.push_back(p);
      }
    return make_template_post_processor(std::move(single));
  }
  if (type == "ByteLevel") return make_passthrough_post_processor();
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto first = [&](const char* key) -> std::optional<TokenId> {
      auto it = j.find(key);
      if (it == j.end() || !it->is_array() || it->empty()) return std::nullopt;
      return resolve(t, (*it)[0]);
    };
    return make_cls_sep_post_processor(first("cls"), first("sep"));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> items;
    if (auto it = j.find("processors"); it != j.end() && it->is_array())
      for (const auto& x : *it) {
        auto p = post_processor(x, t);
        if (!p) unsupported("post_processor (null inside a Sequence)");
        items.push_back(std::move(p));
      }
    return make_sequence_post_processor(std::move(items));
  }
  unsupported("post_processor type " + (type.empty() ? j.dump() : type));
}

std::unique_ptr<Model> model(const json& j, BigParts& big, TokenizerImpl& t) {
  if (!j.is_object()) unsupported("model (missing)");
  std::string type = str(j, "type");
  const json& vocab = j.contains("vocab") ? j["vocab"] : json();
  if (type.empty()) {
    if (vocab.is_array())
      type = "Unigram";
    else if (big.vocab_object && j.contains("continuing_subword_prefix") && j.contains("unk_token"))
      type = j.contains("merges") ? "BPE" : "WordPiece";
    else
      unsupported("model type (none given, and not recognisable)");
  }
  if (type == "BPE") {
    BpeConfig c;
    if (!big.vocab_object) unsupported("BPE model without a vocab object");
    c.merges = std::move(big.merges);
    c.unk_token = opt_str(j, "unk_token");
    c.end_of_word_suffix = opt_str(j, "end_of_word_suffix");
    c.continuing_subword_suffix = opt_str(j, "continuing_subword_suffix");
    c.byte_fallback = flag(j, "byte_fallback", false);
    c.ignore_merges = flag(j, "ignore_merges", false);
    c.fuse_unk = flag(j, "fuse_unk", false);
    return make_bpe(std::move(c), t.tokens_);
  }
  if (type == "WordPiece") {
    WordPieceConfig c;
    c.unk_token = opt_str(j, "unk_token");
    c.continuing_subword_prefix = str(j, "continuing_subword_prefix", "undefined");
    c.max_input_chars_per_word = number(j, "max_input_chars_per_word", 100);
    c.fuse_unk = flag(j, "fuse_unk", false);
    return make_wordpiece(std::move(c), t.tokens_);
  }
  if (type == "Unigram") {
    UnigramConfig c;
    if (!vocab.is_array()) unsupported("Unigram model without a vocab list");
    for (const auto& e : vocab) {
      if (!e.is_array() || e.size() < 2 || !e[0].is_string() || !e[1].is_number())
        unsupported("Unigram vocab entry " + e.dump());
      c.vocab.emplace_back(e[0].get<std::string>(), e[1].get<double>());
    }
    if (auto u = j.find("unk_id"); u != j.end() && u->is_number_integer()) {
      // An id outside the vocab would come out of encode() for every unknown piece.
      const auto id = u->get<int64_t>();
      if (id < 0 || static_cast<size_t>(id) >= c.vocab.size())
        unsupported("Unigram unk_id " + std::to_string(id) + " outside its vocab of " + std::to_string(c.vocab.size()) +
                    " pieces");
      c.unk_id = static_cast<TokenId>(id);
    }
    return make_unigram(std::move(c), t.tokens_);
  }
  unsupported("model type " + type);
}

// The id -> token tables reach `id`. Ids index them, so a (malformed) file's id in the billions
// would allocate that many entries: ids past any real vocabulary (a few hundred thousand) are
// refused (the tokenizer_json fuzzer found an id of 2^28 asking for 8 GB).
constexpr TokenId kMaxTokenId = (1 << 22) - 1;
void make_room(TokenizerImpl& t, TokenId id, const char* what) {
  if (id > kMaxTokenId)
    unsupported(std::string(what) + " id " + std::to_string(id) + " (ids above " + std::to_string(kMaxTokenId) +
                " are not supported)");
  if (static_cast<size_t>(id) >= t.id_to_token_.size()) {
    t.id_to_token_.resize(static_cast<size_t>(id) + 1);
    t.has_token_.resize(static_cast<size_t>(id) + 1, false);
  }
}

// Fills the model vocabulary into the token maps (before added tokens, which override).
void model_vocab(const json& j, BigParts& big, TokenizerImpl& t) {
  const json& vocab = j.is_object() && j.contains("vocab") ? j["vocab"] : json();
  auto put = [&](std::string s, TokenId id) {
    if (id < 0) return;
    make_room(t, id, "vocab");
    t.tokens_.set(s, id);
    t.id_to_token_[id] = std::move(s);
    t.has_token_[id] = true;
  };
  if (big.vocab_object) {
    t.tokens_.reserve(big.vocab.size() + 1024);
    t.id_to_token_.reserve(big.vocab.size());
    for (auto& [s, id] : big.vocab) put(std::move(s), id);
    big.vocab = {};
  } else if (vocab.is_array()) {
    for (size_t i = 0; i < vocab.size(); ++i)
      if (vocab[i].is_array() && !vocab[i].empty() && vocab[i][0].is_string())
        put(vocab[i][0].get<std::string>(), static_cast<TokenId>(i));
  }
}

std::optional<std::string> config_token(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    if (it->get_ref<const std::string&>().empty()) return std::nullopt;
    return it->get<std::string>();
  }
  if (it->is_object()) return opt_str(*it, "content");
  return std::nullopt;
}

// tokenizer.json is read through a SAX handler that streams model.vocab and model.merges (the
// bulk of the file: 262k entries and 515k merges for Gemma) straight into flat vectors, and
// builds an ordinary JSON tree for everything else (where they are left as null).

class TokenizerSax {
 public:
  TokenizerSax(json& root, BigParts& big) : dom_(root, true), big_(big) {}

  bool null() { return capture_ ? scalar() : dom_.null(); }
  bool boolean(bool v) { return capture_ ? scalar() : dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return capture_ ? vocab_value(v) : dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) {
    return capture_ ? vocab_value(static_cast<json::number_integer_t>(v)) : dom_.number_unsigned(v);
  }
  bool number_float(json::number_float_t v, const std::string& s) {
    return capture_ ? scalar() : dom_.number_float(v, s);
  }
  bool string(std::string& v) {
    if (!capture_) return dom_.string(v);
    if (capture_ == Merges) {
      if (inner_depth_ == 1) {  // "a b"
        size_t sp = v.find(' ');
        std::string_view sv(v);
        if (sp == std::string::npos) {
          big_.merges.add(sv, {});  // "x".split(" ", 2) is ["x"]: a pair that never matches
        } else {
          size_t sp2 = v.find(' ', sp + 1);
          big_.merges.add(sv.substr(0, sp),
                          sv.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1));
        }
      } else if (inner_depth_ == 2) {  // ["a", "b"]
        if (pair_count_ == 0)
          big_.pending_merge = std::move(v);
        else if (pair_count_ == 1)
          big_.merges.add(big_.pending_merge, v);
        ++pair_count_;
      }
      return true;
    }
    return scalar();
  }
  bool binary(json::binary_t& v) { return capture_ ? scalar() : dom_.binary(v); }
  bool key(std::string& k) {
    if (capture_ == Vocab && inner_depth_ == 1) {
      pending_key_ = std::move(k);
      return true;
    }
    if (capture_) return true;
    if (depth_ == 1) in_model_ = k == "model";
    if (depth_ == 2 && in_model_ && (k == "vocab" || k == "merges"))
      next_capture_ = k == "vocab" ? Vocab : Merges;
    else
      next_capture_ = None;
    return dom_.key(k);
  }
  bool start_object(std::size_t n) {
    if (capture_) return ++inner_depth_, true;
    if (next_capture_ == Vocab) {
      capture_ = Vocab;
      inner_depth_ = 1;
      big_.vocab_object = true;
      next_capture_ = None;
      return true;
    }
    next_capture_ = None;
    ++depth_;
    return dom_.start_object(n);
  }
  bool end_object() {
    if (capture_) return close_inner();
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    if (capture_) {
      ++inner_depth_;
      pair_count_ = 0;
      return true;
    }
    if (next_capture_ == Merges) {
      capture_ = Merges;
      inner_depth_ = 1;
      big_.merges_seen = true;
      next_capture_ = None;
      return true;
    }
    next_capture_ = None;
    ++depth_;
    return dom_.start_array(n);
  }
  bool end_array() {
    if (capture_) {
      if (capture_ == Merges && inner_depth_ == 2 && pair_count_ != 2) big_.bad_merge = "a merge that is not a pair";
      return close_inner();
    }
    --depth_;
    return dom_.end_array();
  }
  bool parse_error(std::size_t pos, const std::string& tok, const nlohmann::detail::exception& e) {
    return dom_.parse_error(pos, tok, e);
  }

 private:
  enum Capture { None, Vocab, Merges };
  bool scalar() {
    if (capture_ == Merges) big_.bad_merge = "a merge entry that is not a string";
    return true;
  }
  bool vocab_value(json::number_integer_t v) {
    if (capture_ == Vocab && inner_depth_ == 1)
      big_.vocab.emplace_back(std::move(pending_key_), static_cast<TokenId>(v));
    else
      return scalar();
    return true;
  }
  bool close_inner() {
    if (--inner_depth_ > 0) return true;
    capture_ = None;
    return dom_.null();  // the captured value stands as null in the tree
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  BigParts& big_;
  int depth_ = 0, inner_depth_ = 0, pair_count_ = 0;
  bool in_model_ = false;
  Capture capture_ = None, next_capture_ = None;
  std::string pending_key_;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::ModelLoad, "cannot read " + path.string());
  in.seekg(0, std::ios::end);
  std::string data(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  return data;
}

json read_tokenizer_json(const std::filesystem::path& path, BigParts& big) {
  std::string data = read_file(path);
  json root;
  // Rough upper bounds from the file size, so that the big vectors are not copied as they grow.
  big.vocab.reserve(data.size() / 96);
  big.merges.reserve(data.size() / 48, data.size() / 4);
  TokenizerSax sax(root, big);
  try {
    json::sax_parse(data, &sax);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::ModelLoad, path.string() + ": invalid JSON: " + e.what());
  }
  if (!big.bad_merge.empty())
    throw Error(ErrorKind::ModelLoad, path.string() + ": BPE merges contain " + big.bad_merge);
  return root;
}

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::ModelLoad, "cannot read " + path.string());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return json::parse(data);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::ModelLoad, path.string() + ": invalid JSON: " + e.what());
  }
}

}  // namespace

std::unique_ptr<TokenizerImpl> load_tokenizer(const std::filesystem::path& tokenizer_json,
                                              const std::filesystem::path& tokenizer_config) {
  BigParts big;
  json tj = read_tokenizer_json(tokenizer_json, big);
  json config = tokenizer_config.empty() ? json::object() : read_json(tokenizer_config);
  if (!tj.is_object()) throw Error(ErrorKind::ModelLoad, tokenizer_json.string() + ": not a tokenizer.json object");
  if (!config.is_object()) config = json::object();
  auto t = std::make_unique<TokenizerImpl>();
  try {
    const json& mj = tj.contains("model") ? tj["model"] : json();
    model_vocab(mj, big, *t);
    t->normalizer_ = normalizer(tj.value("normalizer", json()));
    t->pre_tokenizer_ = pre_tokenizer(tj.value("pre_tokenizer", json()));

    // Added tokens: override the vocabulary, feed the two splitters.
    std::vector<std::string> raw, normalized;
    std::set<std::string> special;
    if (auto at = tj.find("added_tokens"); at != tj.end() && at->is_array()) {
      for (const auto& a : *at) {
        AddedToken tok;
        tok.content = str(a, "content");
        if (!a.contains("id") || !a["id"].is_number_integer()) unsupported("added token without an id: " + a.dump());
        tok.id = a["id"].get<TokenId>();
        tok.single_word = flag(a, "single_word", false);
        tok.lstrip = flag(a, "lstrip", false);
        tok.rstrip = flag(a, "rstrip", false);
        tok.special = flag(a, "special", false);
        tok.normalized = flag(a, "normalized", !tok.special);
        if (tok.id < 0) unsupported("added token id " + std::to_string(tok.id));
        make_room(*t, tok.id, "added token");
        t->tokens_.set(tok.content, tok.id);
        t->id_to_token_[tok.id] = tok.content;
        t->has_token_[tok.id] = true;
        if (tok.special) special.insert(tok.content);
        size_t index = t->added_.size();
        t->added_map_.insert_or_assign(tok.content, index);
        if (tok.normalized && t->normalizer_) {
          std::string n = t->normalizer_->normalize(tok.content);
          normalized.push_back(n);
          t->added_map_.insert_or_assign(n, index);
        } else {
          raw.push_back(tok.content);
        }
        t->added_.push_back(std::move(tok));
      }
    }
    if (auto extra = config.find("additional_special_tokens"); extra != config.end() && extra->is_array())
      for (const auto& s : *extra)
        if (s.is_string()) special.insert(s.get<std::string>());
    t->split_raw_.build(raw);
    t->split_normalized_.build(normalized);

    t->model_ = model(mj, big, *t);
    t->post_processor_ = post_processor(tj.value("post_processor", json()), *t);
    auto added_contents = std::make_shared<std::vector<std::string>>();
    for (const auto& a : t->added_) added_contents->push_back(a.content);
    std::sort(added_contents->begin(), added_contents->end());
    t->decoder_ = decoder(tj.value("decoder", json()), added_contents);

    t->special_.assign(t->id_to_token_.size(), false);
    for (size_t id = 0; id < t->id_to_token_.size(); ++id)
      if (t->has_token_[id] && special.count(t->id_to_token_[id])) t->special_[id] = true;

    t->remove_space_ = flag(config, "remove_space", false);
    t->lowercase_and_remove_accent_ = flag(config, "do_lowercase_and_remove_accent", false);
    t->clean_up_spaces_ = flag(config, "clean_up_tokenization_spaces", true);

    SpecialTokens& sp = t->specials_;
    auto fill = [&](const char* key, std::optional<TokenId>& id, std::string& text) {
      if (auto s = config_token(config, key)) {
        text = *s;
        id = t->token_to_id(*s);
      }
    };
    fill("bos_token", sp.bos, sp.bos_text);
    fill("eos_token", sp.eos, sp.eos_text);
    fill("pad_token", sp.pad, sp.pad_text);
    if (!sp.pad) fill("eos_token", sp.pad, sp.pad_text);
    fill("unk_token", sp.unk, sp.unk_text);
    if (!sp.unk && t->model_->unk_token) {
      sp.unk_text = *t->model_->unk_token;
      sp.unk = t->token_to_id(sp.unk_text);
    }
    sp.add_bos = flag(config, "add_bos_token", false);
    sp.add_eos = flag(config, "add_eos_token", false);
  } catch (const Error& e) {
    throw Error(ErrorKind::ModelLoad, tokenizer_json.string() + ": " + e.what());
  } catch (const json::exception& e) {
    throw Error(ErrorKind::ModelLoad, tokenizer_json.string() + ": malformed: " + e.what());
  }
  return t;
}

}  // namespace oc::tok
