#include "template/lexer.h"

#include <string_view>

#include "common/utf8.h"
#include "template/chat_template.h"
#include "template/js_string.h"

namespace oc::tmpl::detail {

const char* token_name(Tok t) {
  switch (t) {
    case Tok::Text:
      return "Text";
    case Tok::Number:
      return "NumericLiteral";
    case Tok::String:
      return "StringLiteral";
    case Tok::Ident:
      return "Identifier";
    case Tok::Equals:
      return "Equals";
    case Tok::OpenParen:
      return "OpenParen";
    case Tok::CloseParen:
      return "CloseParen";
    case Tok::OpenStatement:
      return "OpenStatement";
    case Tok::CloseStatement:
      return "CloseStatement";
    case Tok::OpenExpression:
      return "OpenExpression";
    case Tok::CloseExpression:
      return "CloseExpression";
    case Tok::OpenSquare:
      return "OpenSquareBracket";
    case Tok::CloseSquare:
      return "CloseSquareBracket";
    case Tok::OpenCurly:
      return "OpenCurlyBracket";
    case Tok::CloseCurly:
      return "CloseCurlyBracket";
    case Tok::Comma:
      return "Comma";
    case Tok::Dot:
      return "Dot";
    case Tok::Colon:
      return "Colon";
    case Tok::Pipe:
      return "Pipe";
    case Tok::Additive:
      return "AdditiveBinaryOperator";
    case Tok::Multiplicative:
      return "MultiplicativeBinaryOperator";
    case Tok::Exponent:
      return "ExponentiationBinaryOperator";
    case Tok::Comparison:
      return "ComparisonBinaryOperator";
    case Tok::Unary:
      return "UnaryOperator";
    case Tok::Comment:
      return "Comment";
  }
  return "?";
}

void line_column(const std::string& source, size_t offset, int& line, int& column) {
  line = 1;
  column = 1;
  if (offset > source.size()) offset = source.size();
  for (size_t i = 0; i < offset;) {
    if (source[i] == '\n') {
      ++line;
      column = 1;
      ++i;
      continue;
    }
    char32_t cp;
    i += utf8::decode(source, i, cp);
    ++column;
  }
}

namespace {

// Text plus, for each byte, its offset in the original source.
struct Mapped {
  std::string text;
  std::vector<uint32_t> origin;
  void push(char c, uint32_t o) {
    text += c;
    origin.push_back(o);
  }
  void append(const Mapped& m, size_t from, size_t to) {
    text.append(m.text, from, to - from);
    origin.insert(origin.end(), m.origin.begin() + static_cast<long>(from), m.origin.begin() + static_cast<long>(to));
  }
};

bool is_line_terminator_before(const std::string& s, size_t i) {
  if (i == 0) return true;
  char c = s[i - 1];
  if (c == '\n' || c == '\r') return true;
  // U+2028 / U+2029 (E2 80 A8 / E2 80 A9)
  return i >= 3 && s.compare(i - 3, 2, "\xE2\x80") == 0 && (s[i - 1] == '\xA8' || s[i - 1] == '\xA9');
}

Mapped preprocess(const std::string& source) {
  Mapped m;
  size_t n = source.size();
  if (n > 0 && source[n - 1] == '\n') --n;  // a single trailing newline is dropped
  for (size_t i = 0; i < n; ++i) m.push(source[i], static_cast<uint32_t>(i));

  // lstrip_blocks: spaces and tabs from the start of a line up to a block or comment tag.
  Mapped a;
  for (size_t i = 0; i < m.text.size();) {
    if (is_line_terminator_before(m.text, i)) {
      size_t j = i;
      while (j < m.text.size() && (m.text[j] == ' ' || m.text[j] == '\t')) ++j;
      if (j + 1 < m.text.size() && m.text[j] == '{' &&
          (m.text[j + 1] == '#' || m.text[j + 1] == '%' || m.text[j + 1] == '-')) {
        a.append(m, j, j + 2);
        i = j + 2;
        continue;
      }
    }
    a.push(m.text[i], m.origin[i]);
    ++i;
  }

  // trim_blocks: the first newline after a block or comment tag.
  Mapped b;
  for (size_t i = 0; i < a.text.size();) {
    char c = a.text[i];
    if ((c == '#' || c == '%' || c == '-') && i + 2 < a.text.size() && a.text[i + 1] == '}' && a.text[i + 2] == '\n') {
      b.append(a, i, i + 2);
      i += 3;
      continue;
    }
    b.push(c, a.origin[i]);
    ++i;
  }

  // transformers' {% generation %} / {% endgeneration %} tags disappear (honouring - modifiers).
  Mapped out;
  const std::string& t = b.text;
  size_t done = 0;  // end of the last match
  for (size_t p = t.find("{%"); p != std::string::npos; p = t.find("{%", p + 1)) {
    size_t q = p + 2;
    bool lstrip = q < t.size() && t[q] == '-';
    if (lstrip) ++q;
    while (size_t w = js::space_len(t, q)) q += w;
    if (t.compare(q, 3, "end") == 0 && t.compare(q + 3, 10, "generation") == 0) q += 3;
    if (t.compare(q, 10, "generation") != 0) continue;
    q += 10;
    while (size_t w = js::space_len(t, q)) q += w;
    bool rstrip = q < t.size() && t[q] == '-';
    if (rstrip) ++q;
    if (t.compare(q, 2, "%}") != 0) continue;
    q += 2;
    size_t before = p;
    while (before > done) {
      size_t w = js::space_len_before(t, before);
      if (!w || before - w < done) break;
      before -= w;
    }
    size_t after = q;
    while (size_t w = js::space_len(t, after)) after += w;
    out.append(b, done, before);
    if (!lstrip) out.append(b, before, p);
    if (!rstrip) out.append(b, q, after);
    done = after;
    p = after - 1;
  }
  out.append(b, done, t.size());
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

struct Lexer {
  const std::string& source;
  Mapped src;
  std::vector<Token> tokens;
  size_t cur = 0;

  [[noreturn]] void fail(const std::string& message, size_t at) {
    size_t offset = at < src.origin.size() ? src.origin[at] : source.size();
    int line, column;
    line_column(source, offset, line, column);
    throw TemplateError(message, line, column);
  }

  uint32_t origin(size_t at) const {
    return at < src.origin.size() ? src.origin[at] : static_cast<uint32_t>(source.size());
  }
  char at(size_t i) const { return i < src.text.size() ? src.text[i] : '\0'; }
  Tok last_type(bool& has) const {
    has = !tokens.empty();
    return has ? tokens.back().type : Tok::Text;
  }

  void push(Tok type, std::string value, size_t at_pos) { tokens.push_back({type, std::move(value), origin(at_pos)}); }

  // Consumes characters while pred holds; a string literal's escapes are decoded on the way.
  template <typename Pred>
  std::string consume_while(Pred pred) {
    std::string out;
    const std::string& s = src.text;
    char32_t pending_high = 0;
    auto flush_high = [&] {
      if (pending_high) utf8::append(out, 0xFFFD);
      pending_high = 0;
    };
    while (cur < s.size() && pred(s[cur])) {
      if (s[cur] == '\\') {
        size_t esc_at = cur;
        ++cur;
        if (cur >= s.size()) fail("Unexpected end of input", cur);
        char e = s[cur++];
        if (e == 'x' || e == 'u') {
          size_t len = e == 'x' ? 2 : 4;
          std::string hex = s.substr(cur, len);
          bool ok = hex.size() == len;
          for (char h : hex) ok = ok && (is_digit(h) || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'));
          if (!ok) fail(std::string("Invalid hexadecimal escape sequence: \\") + e + hex, esc_at);
          auto unit = static_cast<char32_t>(std::stoul(hex, nullptr, 16));
          cur += len;
          if (unit >= 0xD800 && unit < 0xDC00) {
            flush_high();
            pending_high = unit;
          } else if (unit >= 0xDC00 && unit < 0xE000 && pending_high) {
            utf8::append(out, 0x10000 + ((pending_high - 0xD800) << 10) + (unit - 0xDC00));
            pending_high = 0;
          } else {
            flush_high();
            utf8::append(out, unit >= 0xD800 && unit < 0xE000 ? 0xFFFD : unit);
          }
          continue;
        }
        flush_high();
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'v':
            out += '\v';
            break;
          case '\'':
            out += '\'';
            break;
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          default: {
            char32_t cp;
            size_t n = utf8::decode(s, cur - 1, cp);
            fail("Unexpected escaped character: " + s.substr(cur - 1, n), esc_at);
          }
        }
        continue;
      }
      flush_high();
      out += s[cur++];
      if (cur >= s.size()) fail("Unexpected end of input", cur);
    }
    flush_high();
    return out;
  }

  void strip_trailing_whitespace() {
    if (!tokens.empty() && tokens.back().type == Tok::Text) {
      tokens.back().value = js::trim_end(tokens.back().value);
      if (tokens.back().value.empty()) tokens.pop_back();
    }
  }
  void skip_leading_whitespace() {
    while (size_t w = js::space_len(src.text, cur)) cur += w;
  }

  void run() {
    const std::string& s = src.text;
    int curly_depth = 0;
    while (cur < s.size()) {
      bool has;
      Tok last = last_type(has);
      if (!has || last == Tok::CloseStatement || last == Tok::CloseExpression || last == Tok::Comment) {
        size_t start = cur;
        while (cur < s.size() && !(s[cur] == '{' && (at(cur + 1) == '%' || at(cur + 1) == '{' || at(cur + 1) == '#')))
          ++cur;
        if (cur > start) {
          push(Tok::Text, s.substr(start, cur - start), start);
          continue;
        }
      }

      if (s[cur] == '{' && at(cur + 1) == '#') {
        size_t start = cur;
        cur += 2;
        bool strip_before = at(cur) == '-';
        if (strip_before) ++cur;
        std::string comment;
        while (at(cur) != '#' || at(cur + 1) != '}') {
          if (cur + 2 >= s.size()) fail("Missing end of comment tag", start);
          comment += s[cur++];
        }
        bool strip_after = !comment.empty() && comment.back() == '-';
        if (strip_after) comment.pop_back();
        if (strip_before) strip_trailing_whitespace();
        push(Tok::Comment, comment, start);
        cur += 2;
        if (strip_after) skip_leading_whitespace();
        continue;
      }

      if (s.compare(cur, 3, "{%-") == 0) {
        strip_trailing_whitespace();
        push(Tok::OpenStatement, "{%", cur);
        cur += 3;
        continue;
      }
      if (s.compare(cur, 3, "{{-") == 0) {
        strip_trailing_whitespace();
        push(Tok::OpenExpression, "{{", cur);
        curly_depth = 0;
        cur += 3;
        continue;
      }

      skip_leading_whitespace_inside();

      if (s.compare(cur, 3, "-%}") == 0) {
        push(Tok::CloseStatement, "%}", cur);
        cur += 3;
        skip_leading_whitespace();
        continue;
      }
      if (s.compare(cur, 3, "-}}") == 0) {
        push(Tok::CloseExpression, "}}", cur);
        cur += 3;
        skip_leading_whitespace();
        continue;
      }

      char c = s[cur];
      if (c == '-' || c == '+') {
        bool had;
        Tok lt = last_type(had);
        if (!had || lt == Tok::Text) fail(std::string("Unexpected character: ") + c, cur);
        if (lt != Tok::Ident && lt != Tok::Number && lt != Tok::String && lt != Tok::CloseParen &&
            lt != Tok::CloseSquare) {
          size_t start = cur;
          ++cur;
          std::string num = consume_while(is_digit);
          if (!num.empty() && at(cur) == '.' && is_digit(at(cur + 1))) {
            ++cur;
            num += '.';
            num += consume_while(is_digit);
          }
          push(num.empty() ? Tok::Unary : Tok::Number, std::string(1, c) + num, start);
          continue;
        }
      }

      if (match_table(curly_depth)) continue;

      if (c == '\'' || c == '"') {
        size_t start = cur;
        ++cur;
        std::string str = consume_while([c](char x) { return x != c; });
        push(Tok::String, std::move(str), start);
        ++cur;
        continue;
      }
      if (is_digit(c)) {
        size_t start = cur;
        std::string num = consume_while(is_digit);
        bool had;
        Tok lt = last_type(had);
        if (!(had && lt == Tok::Dot) && at(cur) == '.' && is_digit(at(cur + 1))) {
          ++cur;
          num += '.';
          num += consume_while(is_digit);
        }
        push(Tok::Number, std::move(num), start);
        continue;
      }
      if (is_word(c)) {
        size_t start = cur;
        std::string word = consume_while(is_word);
        push(Tok::Ident, std::move(word), start);
        continue;
      }
      char32_t cp;
      size_t n = utf8::decode(s, cur, cp);
      fail("Unexpected character: " + s.substr(cur, n), cur);
    }
  }

  // Whitespace inside tags (JavaScript's \s, so also non-ASCII spaces); running off the end of
  // the template inside a tag is an error, as in the reference.
  void skip_leading_whitespace_inside() {
    while (size_t w = js::space_len(src.text, cur)) {
      cur += w;
      if (cur >= src.text.size()) fail("Unexpected end of input", cur);
    }
  }

  bool match_table(int& curly_depth) {
    struct Entry {
      const char* seq;
      Tok type;
    };
    static const Entry table[] = {
        {"{%", Tok::OpenStatement},  {"%}", Tok::CloseStatement},
        {"{{", Tok::OpenExpression}, {"}}", Tok::CloseExpression},
        {"(", Tok::OpenParen},       {")", Tok::CloseParen},
        {"{", Tok::OpenCurly},       {"}", Tok::CloseCurly},
        {"[", Tok::OpenSquare},      {"]", Tok::CloseSquare},
        {",", Tok::Comma},           {".", Tok::Dot},
        {":", Tok::Colon},           {"|", Tok::Pipe},
        {"<=", Tok::Comparison},     {">=", Tok::Comparison},
        {"==", Tok::Comparison},     {"!=", Tok::Comparison},
        {"<", Tok::Comparison},      {">", Tok::Comparison},
        {"+", Tok::Additive},        {"-", Tok::Additive},
        {"~", Tok::Additive},        {"**", Tok::Exponent},
        {"*", Tok::Multiplicative},  {"//", Tok::Multiplicative},
        {"/", Tok::Multiplicative},  {"%", Tok::Multiplicative},
        {"=", Tok::Equals},
    };
    for (const auto& e : table) {
      if (e.type == Tok::CloseExpression && curly_depth > 0) continue;
      size_t len = std::char_traits<char>::length(e.seq);
      if (src.text.compare(cur, len, e.seq) != 0) continue;
      push(e.type, e.seq, cur);
      if (e.type == Tok::OpenExpression)
        curly_depth = 0;
      else if (e.type == Tok::OpenCurly)
        ++curly_depth;
      else if (e.type == Tok::CloseCurly)
        --curly_depth;
      cur += len;
      return true;
    }
    return false;
  }
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
  Lexer lx{source, preprocess(source), {}, 0};
  lx.run();
  return std::move(lx.tokens);
}

}  // namespace oc::tmpl::detail
