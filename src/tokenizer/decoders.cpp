// Decoders: token strings -> text pieces, chained as the reference chains them.
#include <algorithm>

#include "common/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace oc::tok {
namespace {

struct ByteLevelDecoder : Decoder {
  std::shared_ptr<const std::vector<std::string>> added;
  static std::string to_text(const std::vector<std::string>& tokens) {
    std::string bytes;
    for (const auto& t : tokens)
      for (size_t i = 0; i < t.size();) {
        int b = unicode_to_byte(utf8::next(t, i));
        bytes.push_back(static_cast<char>(b < 0 ? 0 : b));  // the reference's Uint8Array turns unknowns into 0
      }
    return utf8::decode_lossy(bytes);
  }
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out, current;
    for (auto& t : tokens) {
      if (added && std::binary_search(added->begin(), added->end(), t)) {
        if (!current.empty()) {
          out.push_back(to_text(current));
          current.clear();
        }
        out.push_back(std::move(t));
      } else {
        current.push_back(std::move(t));
      }
    }
    if (!current.empty()) out.push_back(to_text(current));
    return out;
  }
};

struct WordPieceDecoder : Decoder {
  std::string prefix;
  bool cleanup = false;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (!prefix.empty() && t.compare(0, prefix.size(), prefix) == 0)
          t.erase(0, prefix.size());
        else
          t = std::string(" ") + t;
      }
      if (cleanup) t = clean_up_tokenization(t);
    }
    return tokens;
  }
};

struct MetaspaceDecoder : Decoder {
  std::string replacement;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = uni::replace_all(tokens[i], replacement, " ");
      if (i == 0 && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
    }
    return tokens;
  }
};

// String.prototype.replaceAll with a string pattern (an empty pattern matches between every character).
std::string js_replace_all(std::string_view s, std::string_view from, std::string_view to) {
  if (!from.empty()) return uni::replace_all(s, from, to);
  std::string out(to);
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    utf8::next(s, i);
    out.append(s, start, i - start);
    out += to;
  }
  return out;
}

struct BpeDecoder : Decoder {
  std::string suffix;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = js_replace_all(tokens[i], suffix, i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }
};

struct CtcDecoder : Decoder {
  std::string pad, delimiter;
  bool cleanup = false;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    if (tokens.empty()) return {""};
    std::vector<std::string> grouped{tokens[0]};
    for (size_t i = 1; i < tokens.size(); ++i)
      if (tokens[i] != grouped.back()) grouped.push_back(tokens[i]);
    std::string text;
    for (const auto& t : grouped)
      if (t != pad) text += t;
    if (cleanup) text = std::string(uni::js_trim(js_replace_all(clean_up_tokenization(text), delimiter, " ")));
    return {text};
  }
};

struct SequenceDecoder : Decoder {
  std::vector<std::unique_ptr<Decoder>> items;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& d : items) tokens = d->decode_chain(std::move(tokens));
    return tokens;
  }
};

struct ReplaceDecoder : Decoder {
  std::shared_ptr<Regex> pattern;
  std::string content;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) t = pattern->replace_all(t, content);
    return tokens;
  }
};

struct FuseDecoder : Decoder {
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    return {all};
  }
};

struct StripDecoder : Decoder {
  std::string content;
  size_t start = 0, stop = 0;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    if (content.empty() || uni::count(content) != 1) return tokens;  // a multi-character content never matches
    for (auto& t : tokens) {
      size_t begin = 0;
      for (size_t i = 0; i < start && t.compare(begin, content.size(), content) == 0; ++i) begin += content.size();
      size_t end = t.size();
      for (size_t i = 0;
           i < stop && end >= begin + content.size() && t.compare(end - content.size(), content.size(), content) == 0;
           ++i)
        end -= content.size();
      t = t.substr(begin, end - begin);
    }
    return tokens;
  }
};

struct ByteFallbackDecoder : Decoder {
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  // The reference: a 6-character "<0x..>" whose two characters parse as hex (parseInt is lenient:
  // it reads the leading hex digits).
  static int byte_of(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    int a = hex(t[3]), b = hex(t[4]);
    if (a < 0) return -1;
    return b < 0 ? a : a * 16 + b;
  }
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    for (auto& t : tokens) {
      int b = byte_of(t);
      if (b >= 0) {
        bytes.push_back(static_cast<char>(b));
        continue;
      }
      if (!bytes.empty()) {
        out.push_back(utf8::decode_lossy(bytes, true));
        bytes.clear();
      }
      out.push_back(std::move(t));
    }
    if (!bytes.empty()) out.push_back(utf8::decode_lossy(bytes, true));
    return out;
  }
};

}  // namespace

std::string clean_up_tokenization(std::string_view text) {
  std::string s(text);
  static const std::pair<const char*, const char*> rules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (auto& [from, to] : rules)
    if (s.find(from) != std::string::npos) s = uni::replace_all(s, from, to);
  return s;
}

std::unique_ptr<Decoder> make_byte_level_decoder(std::shared_ptr<const std::vector<std::string>> added_contents) {
  auto d = std::make_unique<ByteLevelDecoder>();
  d->added = std::move(added_contents);
  return d;
}
std::unique_ptr<Decoder> make_wordpiece_decoder(std::string prefix, bool cleanup) {
  auto d = std::make_unique<WordPieceDecoder>();
  d->prefix = std::move(prefix);
  d->cleanup = cleanup;
  return d;
}
std::unique_ptr<Decoder> make_metaspace_decoder(std::string replacement) {
  auto d = std::make_unique<MetaspaceDecoder>();
  d->replacement = std::move(replacement);
  return d;
}
std::unique_ptr<Decoder> make_bpe_decoder(std::string suffix) {
  auto d = std::make_unique<BpeDecoder>();
  d->suffix = std::move(suffix);
  return d;
}
std::unique_ptr<Decoder> make_ctc_decoder(std::string pad_token, std::string word_delimiter_token, bool cleanup) {
  auto d = std::make_unique<CtcDecoder>();
  d->pad = std::move(pad_token);
  d->delimiter = std::move(word_delimiter_token);
  d->cleanup = cleanup;
  return d;
}
std::unique_ptr<Decoder> make_sequence_decoder(std::vector<std::unique_ptr<Decoder>> items) {
  auto d = std::make_unique<SequenceDecoder>();
  d->items = std::move(items);
  return d;
}
std::unique_ptr<Decoder> make_replace_decoder(std::shared_ptr<Regex> pattern, std::string content) {
  auto d = std::make_unique<ReplaceDecoder>();
  d->pattern = std::move(pattern);
  d->content = std::move(content);
  return d;
}
std::unique_ptr<Decoder> make_fuse_decoder() { return std::make_unique<FuseDecoder>(); }
std::unique_ptr<Decoder> make_strip_decoder(std::string content, size_t start, size_t stop) {
  auto d = std::make_unique<StripDecoder>();
  d->content = std::move(content);
  d->start = start;
  d->stop = stop;
  return d;
}
std::unique_ptr<Decoder> make_byte_fallback_decoder() { return std::make_unique<ByteFallbackDecoder>(); }

}  // namespace oc::tok
