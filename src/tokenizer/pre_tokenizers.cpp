// Pre-tokenizers: split a normalized section into the words the model encodes one by one.
#include <array>

#include "common/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace oc::tok {

namespace {

// JavaScript's \s (what the reference's own regexes mean by it).
const std::string kJsSpace =
    "\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";
const std::string kPunct = "\\p{P}\\x{21}-\\x{2F}\\x{3A}-\\x{40}\\x{5B}-\\x{60}\\x{7B}-\\x{7E}";

struct ByteTable {
  std::array<std::string, 256> to_unicode;
  std::array<int, 512> to_byte{};
  ByteTable() {
    to_byte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool direct = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      char32_t cp = direct ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      to_unicode[b] = utf8::encode(cp);
      to_byte[cp] = b;
    }
  }
};
const ByteTable& table() {
  static const ByteTable t;
  return t;
}

void matches(const Regex& re, std::string_view text, std::vector<std::string>& out) {
  for (const auto& m : re.find_all(text))
    if (m.end > m.start) out.emplace_back(text.substr(m.start, m.end - m.start));
}

struct SequencePreTokenizer : PreTokenizer {
  std::vector<std::unique_ptr<PreTokenizer>> items;
  void split(std::string_view text, size_t section, std::vector<std::string>& out) const override {
    std::vector<std::string> pieces{std::string(text)};
    for (const auto& p : items)
      if (p) pieces = p->apply(pieces, section);
    for (auto& p : pieces) out.push_back(std::move(p));
  }
};

struct ByteLevelPreTokenizer : PreTokenizer {
  bool add_prefix_space = false, use_regex = true;
  Regex re{"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + kJsSpace + "\\p{L}\\p{N}]+|[" + kJsSpace + "]+(?![^" +
               kJsSpace + "])|[" + kJsSpace + "]+",
           "ByteLevel pre-tokenizer"};
  void split(std::string_view input, size_t, std::vector<std::string>& out) const override {
    std::string text(input);
    if (add_prefix_space && (text.empty() || text[0] != ' ')) text = std::string(" ") + text;
    std::vector<std::string> pieces;
    if (use_regex)
      matches(re, text, pieces);
    else
      pieces.push_back(text);
    const auto& t = table();
    for (const auto& p : pieces) {
      std::string mapped;
      mapped.reserve(p.size() * 2);
      for (unsigned char b : p) mapped += t.to_unicode[b];
      out.push_back(std::move(mapped));
    }
  }
};

struct RegexMatchPreTokenizer : PreTokenizer {
  Regex re;
  bool trim = false;
  RegexMatchPreTokenizer(const std::string& pattern, const std::string& what, bool trim_first)
      : re(pattern, what), trim(trim_first) {}
  void split(std::string_view text, size_t, std::vector<std::string>& out) const override {
    matches(re, trim ? uni::js_trim(text) : text, out);
  }
};

struct MetaspacePreTokenizer : PreTokenizer {
  std::string replacement, str_rep, prepend_scheme;
  void split(std::string_view text, size_t section, std::vector<std::string>& out) const override {
    std::string s = uni::replace_all(text, " ", str_rep);
    if (s.compare(0, replacement.size(), replacement) != 0 &&
        (prepend_scheme == "always" || (prepend_scheme == "first" && section == 0)))
      s = str_rep + s;
    out.push_back(std::move(s));
  }
};

struct SplitPreTokenizer : PreTokenizer {
  std::shared_ptr<Regex> re;
  SplitMode mode;
  void split(std::string_view text, size_t, std::vector<std::string>& out) const override {
    switch (mode) {
      case SplitMode::Matches:
        matches(*re, text, out);
        break;
      case SplitMode::JsSplit:
        for (auto& p : re->js_split(text))
          if (!p.empty()) out.push_back(std::move(p));
        break;
      case SplitMode::Isolated: {
        size_t prev = 0;
        for (const auto& m : re->find_all(text)) {
          if (prev < m.start) out.emplace_back(text.substr(prev, m.start - prev));
          if (m.end > m.start) out.emplace_back(text.substr(m.start, m.end - m.start));
          prev = m.end;
        }
        if (prev < text.size()) out.emplace_back(text.substr(prev));
        break;
      }
    }
  }
};

struct ReplacePreTokenizer : PreTokenizer {
  std::shared_ptr<Regex> re;
  std::string content;
  void split(std::string_view text, size_t, std::vector<std::string>& out) const override {
    out.push_back(re->replace_all(text, content));
  }
};

struct FixedLengthPreTokenizer : PreTokenizer {
  size_t length;
  void split(std::string_view text, size_t, std::vector<std::string>& out) const override {
    // The reference counts UTF-16 code units; code points are the same for BMP text.
    size_t i = 0;
    while (i < text.size()) {
      size_t start = i;
      for (size_t k = 0; k < length && i < text.size(); ++k) utf8::next(text, i);
      out.emplace_back(text.substr(start, i - start));
    }
  }
};

}  // namespace

int unicode_to_byte(char32_t cp) { return cp < 512 ? table().to_byte[cp] : -1; }

std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(std::vector<std::unique_ptr<PreTokenizer>> items) {
  auto p = std::make_unique<SequencePreTokenizer>();
  p->items = std::move(items);
  return p;
}
std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  auto p = std::make_unique<ByteLevelPreTokenizer>();
  p->add_prefix_space = add_prefix_space;
  p->use_regex = use_regex;
  return p;
}
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer() {
  return std::make_unique<RegexMatchPreTokenizer>("[A-Za-z0-9_]+|[^A-Za-z0-9_" + kJsSpace + "]+",
                                                  "Whitespace pre-tokenizer", false);
}
std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer() {
  return std::make_unique<RegexMatchPreTokenizer>("[^" + kJsSpace + "]+", "WhitespaceSplit pre-tokenizer", false);
}
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement, std::string str_rep,
                                                           std::string prepend_scheme) {
  auto p = std::make_unique<MetaspacePreTokenizer>();
  p->replacement = std::move(replacement);
  p->str_rep = std::move(str_rep);
  p->prepend_scheme = std::move(prepend_scheme);
  return p;
}
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(std::shared_ptr<Regex> pattern, SplitMode mode) {
  auto p = std::make_unique<SplitPreTokenizer>();
  p->re = std::move(pattern);
  p->mode = mode;
  return p;
}
std::unique_ptr<PreTokenizer> make_punctuation_pre_tokenizer() {
  return std::make_unique<RegexMatchPreTokenizer>("[^" + kPunct + "]+|[" + kPunct + "]+", "Punctuation pre-tokenizer",
                                                  false);
}
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits) {
  return std::make_unique<RegexMatchPreTokenizer>(individual_digits ? "[^0-9]+|[0-9]" : "[^0-9]+|[0-9]+",
                                                  "Digits pre-tokenizer", false);
}
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() {
  return std::make_unique<RegexMatchPreTokenizer>("[^" + kJsSpace + kPunct + "]+|[" + kPunct + "]", "BertPreTokenizer",
                                                  true);
}
std::unique_ptr<PreTokenizer> make_replace_pre_tokenizer(std::shared_ptr<Regex> pattern, std::string content) {
  auto p = std::make_unique<ReplacePreTokenizer>();
  p->re = std::move(pattern);
  p->content = std::move(content);
  return p;
}
std::unique_ptr<PreTokenizer> make_fixed_length_pre_tokenizer(size_t length) {
  auto p = std::make_unique<FixedLengthPreTokenizer>();
  p->length = length == 0 ? 1 : length;
  return p;
}

}  // namespace oc::tok
