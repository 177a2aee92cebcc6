// Normalizers: text -> text, applied to every section that is not an added token.
#include "common/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace oc::tok {
namespace {

struct SequenceNormalizer : Normalizer {
  std::vector<std::unique_ptr<Normalizer>> items;
  std::string normalize(std::string_view text) const override {
    std::string s(text);
    for (const auto& n : items)
      if (n) s = n->normalize(s);
    return s;
  }
};

struct ReplaceNormalizer : Normalizer {
  std::shared_ptr<Regex> pattern;
  std::string content;
  std::string normalize(std::string_view text) const override { return pattern->replace_all(text, content); }
};

struct UnicodeNormalizer : Normalizer {
  std::string form;
  std::string normalize(std::string_view text) const override { return uni::normalize(text, form); }
};

struct StripNormalizer : Normalizer {
  bool left, right;
  std::string normalize(std::string_view text) const override {
    if (left) text = uni::js_trim_start(text);
    if (right) text = uni::js_trim_end(text);
    return std::string(text);
  }
};

std::string remove_marks(std::string_view text, bool nonspacing_only) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t start = i;
    char32_t c = utf8::next(text, i);
    if (nonspacing_only ? uni::is_mark_nonspacing(c) : uni::is_mark(c)) continue;
    out.append(text, start, i - start);
  }
  return out;
}

struct StripAccentsNormalizer : Normalizer {
  std::string normalize(std::string_view text) const override { return remove_marks(text, false); }
};

struct LowercaseNormalizer : Normalizer {
  std::string normalize(std::string_view text) const override { return uni::js_lower(text); }
};

struct PrependNormalizer : Normalizer {
  std::string prepend;
  std::string normalize(std::string_view text) const override { return prepend + std::string(text); }
};

bool chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

struct BertNormalizer : Normalizer {
  bool clean_text = true, chinese = true, lowercase = true;
  std::optional<bool> strip_accents;
  std::string normalize(std::string_view input) const override {
    std::string text(input);
    if (clean_text) {
      std::string out;
      for (size_t i = 0; i < text.size();) {
        size_t start = i;
        char32_t c = utf8::next(text, i);
        if (c == 0 || c == 0xFFFD) continue;
        if (c != '\t' && c != '\n' && c != '\r' && uni::is_control_like(c)) continue;
        if (uni::js_space(c))
          out.push_back(' ');
        else
          out.append(text, start, i - start);
      }
      text = std::move(out);
    }
    if (chinese) {
      // The reference walks UTF-16 code units, so only BMP characters are spaced out.
      std::string out;
      for (size_t i = 0; i < text.size();) {
        size_t start = i;
        char32_t c = utf8::next(text, i);
        if (c < 0x10000 && chinese_char(c)) {
          out.push_back(' ');
          out.append(text, start, i - start);
          out.push_back(' ');
        } else {
          out.append(text, start, i - start);
        }
      }
      text = std::move(out);
    }
    bool strip = lowercase ? strip_accents.value_or(true) : strip_accents.value_or(false);
    if (lowercase) text = uni::js_lower(text);
    if (strip) text = remove_marks(uni::normalize(text, "NFD"), true);
    return text;
  }
};

struct PrecompiledNormalizer : Normalizer {
  std::string normalize(std::string_view input) const override {
    std::string text;
    for (size_t i = 0; i < input.size();) {
      size_t start = i;
      char32_t c = utf8::next(input, i);
      if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F)
        continue;
      if (c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0xA0 || c == 0x1680 ||
          (c >= 0x2000 && c <= 0x200F) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x2581 ||
          c == 0x3000 || c == 0xFEFF || c == 0xFFFD) {
        text.push_back(' ');
        continue;
      }
      text.append(input, start, i - start);
    }
    const std::string tilde = "\xEF\xBD\x9E";  // U+FF5E is kept out of NFKC
    std::string out;
    size_t pos = 0;
    while (true) {
      size_t hit = text.find(tilde, pos);
      out += uni::normalize(
          std::string_view(text).substr(pos, hit == std::string::npos ? std::string::npos : hit - pos), "NFKC");
      if (hit == std::string::npos) break;
      out += tilde;
      pos = hit + tilde.size();
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Normalizer> make_sequence_normalizer(std::vector<std::unique_ptr<Normalizer>> items) {
  auto n = std::make_unique<SequenceNormalizer>();
  n->items = std::move(items);
  return n;
}
std::unique_ptr<Normalizer> make_replace_normalizer(std::shared_ptr<Regex> pattern, std::string content) {
  auto n = std::make_unique<ReplaceNormalizer>();
  n->pattern = std::move(pattern);
  n->content = std::move(content);
  return n;
}
std::unique_ptr<Normalizer> make_unicode_normalizer(std::string form) {
  auto n = std::make_unique<UnicodeNormalizer>();
  n->form = std::move(form);
  return n;
}
std::unique_ptr<Normalizer> make_strip_normalizer(bool left, bool right) {
  auto n = std::make_unique<StripNormalizer>();
  n->left = left;
  n->right = right;
  return n;
}
std::unique_ptr<Normalizer> make_strip_accents_normalizer() { return std::make_unique<StripAccentsNormalizer>(); }
std::unique_ptr<Normalizer> make_lowercase_normalizer() { return std::make_unique<LowercaseNormalizer>(); }
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prepend) {
  auto n = std::make_unique<PrependNormalizer>();
  n->prepend = std::move(prepend);
  return n;
}
std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool handle_chinese_chars,
                                                 std::optional<bool> strip_accents, bool lowercase) {
  auto n = std::make_unique<BertNormalizer>();
  n->clean_text = clean_text;
  n->chinese = handle_chinese_chars;
  n->strip_accents = strip_accents;
  n->lowercase = lowercase;
  return n;
}
std::unique_ptr<Normalizer> make_precompiled_normalizer() { return std::make_unique<PrecompiledNormalizer>(); }

}  // namespace oc::tok
