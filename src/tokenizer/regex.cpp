#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <optional>

#include "common/error.h"
#include "common/utf8.h"
#include "tokenizer/unicode.h"

namespace oc::tok {

namespace {

std::string pcre_error_text(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

// One JIT stack and match context per thread, so that long inputs do not exhaust the default
// 32 KiB JIT stack.
struct ThreadMatchContext {
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* context = nullptr;
  ThreadMatchContext() {
    stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
    context = pcre2_match_context_create(nullptr);
    if (stack && context) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchContext() {
    if (context) pcre2_match_context_free(context);
    if (stack) pcre2_jit_stack_free(stack);
  }
};

pcre2_match_context* thread_context() {
  thread_local ThreadMatchContext ctx;
  return ctx.context;
}

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  uint32_t groups = 0;
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
};

Regex::Regex(const std::string& pattern, const std::string& what) : impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  impl_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF, &err, &offset, nullptr);
  if (!impl_->code)
    throw Error(ErrorKind::ModelLoad, what + ": unsupported regex at offset " + std::to_string(offset) + " (" +
                                          pcre_error_text(err) + "): " + pattern);
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when unavailable
  pcre2_pattern_info(impl_->code, PCRE2_INFO_CAPTURECOUNT, &impl_->groups);
}

Regex::~Regex() = default;

bool Regex::search(std::string_view text, size_t from, Match& m, bool with_groups) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), from, PCRE2_NO_UTF_CHECK,
                       md, thread_context());
  if (rc == PCRE2_ERROR_NOMATCH) {
    pcre2_match_data_free(md);
    return false;
  }
  if (rc < 0) {
    pcre2_match_data_free(md);
    throw Error(ErrorKind::Internal, "tokenizer regex failed: " + pcre_error_text(rc));
  }
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
  m.start = ov[0];
  m.end = ov[1];
  m.groups.clear();
  if (with_groups)
    for (uint32_t g = 1; g <= impl_->groups; ++g) {
      if (static_cast<int>(g) < rc && ov[2 * g] != PCRE2_UNSET)
        m.groups.emplace_back(ov[2 * g], ov[2 * g + 1]);
      else
        m.groups.emplace_back(std::string_view::npos, std::string_view::npos);
    }
  pcre2_match_data_free(md);
  return true;
}

std::vector<Regex::Match> Regex::find_all(std::string_view text, bool with_groups) const {
  std::vector<Match> out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos, PCRE2_NO_UTF_CHECK,
                         md, thread_context());
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      throw Error(ErrorKind::Internal, "tokenizer regex failed: " + pcre_error_text(rc));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    Match m{ov[0], ov[1], {}};
    if (with_groups)
      for (uint32_t g = 1; g <= impl_->groups; ++g) {
        if (static_cast<int>(g) < rc && ov[2 * g] != PCRE2_UNSET)
          m.groups.emplace_back(ov[2 * g], ov[2 * g + 1]);
        else
          m.groups.emplace_back(std::string_view::npos, std::string_view::npos);
      }
    out.push_back(std::move(m));
    if (ov[1] > ov[0]) {
      pos = ov[1];
    } else {  // empty match: advance one code point (JavaScript's AdvanceStringIndex with u)
      if (ov[1] >= text.size()) break;
      pos = ov[1] + utf8::seq_len(static_cast<unsigned char>(text[ov[1]]));
    }
  }
  pcre2_match_data_free(md);
  return out;
}

std::vector<std::string> Regex::js_split(std::string_view text) const {
  std::vector<std::string> out;
  if (text.empty()) {
    Match m;
    if (!search(text, 0, m, false)) out.emplace_back();
    return out;
  }
  size_t p = 0, q = 0;
  Match m;
  while (q < text.size()) {
    if (!search(text, q, m, true)) break;
    if (m.start >= text.size()) break;
    if (m.end == p || (m.end == m.start && m.start == p)) {
      q = m.start + utf8::seq_len(static_cast<unsigned char>(text[m.start]));
      continue;
    }
    out.emplace_back(text.substr(p, m.start - p));
    for (auto& [s, e] : m.groups)
      if (s != std::string_view::npos) out.emplace_back(text.substr(s, e - s));
    p = m.end;
    q = p;
  }
  out.emplace_back(text.substr(p));
  return out;
}

std::string Regex::replace_all(std::string_view text, std::string_view replacement) const {
  std::string out;
  size_t prev = 0;
  for (const auto& m : find_all(text)) {
    out.append(text, prev, m.start - prev);
    out += replacement;
    prev = m.end;
  }
  out.append(text, prev);
  return out;
}

bool Regex::matches_whole(std::string_view text) const {
  Match m;
  return search(text, 0, m, false) && m.start == 0 && m.end == text.size();
}

std::string escape_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::strchr("\\^$.|?*+()[]{}-/#", c) && c != 0) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Oniguruma -> PCRE2 translation.
namespace {

const std::string kWordChars = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";
const std::string kWordCharsFull = kWordChars + "\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
const std::string kWordClass = "[" + kWordCharsFull + "]";
const std::string kNonWordClass = "[^" + kWordCharsFull + "]";
const std::string kHex = "0-9A-Fa-f";
const std::string kAny = "[\\s\\S]";

[[noreturn]] void fail(std::string_view pattern, const std::string& why) {
  throw Error(ErrorKind::ModelLoad, "unsupported regex (" + why + "): " + std::string(pattern));
}

bool ascii_letter(char32_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

std::string literal(char32_t c) {
  if (c < 0x80 && !((c >= '0' && c <= '9') || ascii_letter(c) || c == ' ' || c == '_')) {
    if (c < 0x20 || c == 0x7F) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(c));
      return buf;
    }
    return std::string("\\") + static_cast<char>(c);
  }
  return utf8::encode(c);
}

std::optional<std::string> folded_hex_atom(std::string_view hex) {
  if (hex.empty() || hex.size() > 8) return std::nullopt;
  unsigned long v = 0;
  for (char c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 16 + static_cast<unsigned long>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                                                        : (std::tolower(c) - 'a' + 10));
  }
  if (v > 127 || !ascii_letter(static_cast<char32_t>(v))) return std::nullopt;
  char lo = static_cast<char>(std::tolower(static_cast<int>(v))),
       up = static_cast<char>(std::toupper(static_cast<int>(v)));
  return std::string("[") + lo + up + "]";
}

struct Operand {
  std::string fragment;
  std::vector<std::string> alternatives;
  enum Tail { None, Scalar, Set, Range, CompleteRange } tail = None;
};

void add_fragment(Operand& op, const std::string& frag, bool set_valued) {
  if (op.tail == Operand::Range) {
    op.fragment += frag;
    op.tail = Operand::CompleteRange;
    return;
  }
  op.fragment += frag;
  op.tail = set_valued ? Operand::Set : Operand::Scalar;
}

void add_atom(Operand& op, const std::string& atom) {
  op.alternatives.push_back(atom);
  op.tail = Operand::Set;
}

std::string compile_operand(const Operand& op) {
  std::vector<std::string> pieces;
  if (!op.fragment.empty()) pieces.push_back("[" + op.fragment + "]");
  for (const auto& a : op.alternatives) pieces.push_back(a);
  if (pieces.size() == 1) return pieces[0];
  std::string s = "(?:";
  for (size_t i = 0; i < pieces.size(); ++i) s += (i ? "|" : "") + pieces[i];
  return s + ")";
}

struct Translator {
  std::string_view re;

  char32_t at(size_t i, size_t& len) const {
    size_t j = i;
    char32_t c = utf8::next(re, j);
    len = j - i;
    return c;
  }
  bool starts(size_t i, std::string_view s) const { return re.substr(i).substr(0, s.size()) == s; }

  // \p{..} \P{..} \x{..} \u{..}: returns the end, or npos.
  size_t braced(size_t i, char& kind, std::string& body) const {
    if (i + 2 >= re.size() || re[i] != '\\' || !std::strchr("pPxu", re[i + 1]) || re[i + 2] != '{')
      return std::string::npos;
    size_t close = re.find('}', i + 3);
    if (close == std::string::npos) return std::string::npos;
    kind = re[i + 1];
    body = std::string(re.substr(i + 3, close - i - 3));
    if (body.find('=') != std::string::npos && (kind == 'p' || kind == 'P')) {
      // \p{Script=Han} style is fine for PCRE2
    }
    return close + 1;
  }
  // \xHH \uHHHH \cX
  size_t fixed_width(size_t i, std::string& out) const {
    auto hex = [&](size_t from, size_t n) {
      if (from + n > re.size()) return false;
      for (size_t k = 0; k < n; ++k)
        if (!std::isxdigit(static_cast<unsigned char>(re[from + k]))) return false;
      return true;
    };
    if (i + 1 >= re.size() || re[i] != '\\') return std::string::npos;
    if (re[i + 1] == 'x' && hex(i + 2, 2)) {
      out = "\\x{" + std::string(re.substr(i + 2, 2)) + "}";
      return i + 4;
    }
    if (re[i + 1] == 'u' && hex(i + 2, 4)) {
      out = "\\x{" + std::string(re.substr(i + 2, 4)) + "}";
      return i + 6;
    }
    if (re[i + 1] == 'c' && i + 2 < re.size() && ascii_letter(static_cast<unsigned char>(re[i + 2]))) {
      out = std::string(re.substr(i, 3));
      return i + 3;
    }
    return std::string::npos;
  }

  std::string ascii_fold_additions(const std::string& atom) const {
    Regex membership("^(?:" + atom + ")$", "regex class");
    std::string add;
    for (char c = 'A'; c <= 'Z'; ++c) {
      char lc = static_cast<char>(c + 32);
      bool up = membership.matches_whole(std::string(1, c)), lo = membership.matches_whole(std::string(1, lc));
      if (up != lo) add += up ? lc : c;
    }
    return add;
  }

  struct ClassResult {
    std::string atom;
    size_t end;
  };

  // Class escape at i (re[i] == '\\'); returns the index after it.
  size_t class_escape(size_t i, Operand& op) const {
    char kind;
    std::string body;
    size_t end = braced(i, kind, body);
    if (end != std::string::npos) {
      if (kind == 'P' && body == "Word") {
        add_atom(op, "[^" + kWordChars + "]");
      } else if (kind == 'x' || kind == 'u') {
        add_fragment(op, "\\x{" + body + "}", false);
      } else if (kind == 'p' && body == "Word") {
        add_fragment(op, kWordChars, true);
      } else {
        add_fragment(op, std::string("\\") + kind + "{" + body + "}", true);
      }
      return end;
    }
    std::string fw;
    end = fixed_width(i, fw);
    if (end != std::string::npos) {
      add_fragment(op, fw, false);
      return end;
    }
    if (i + 1 >= re.size()) fail(re, "unterminated escape in character class");
    size_t len;
    char32_t next = at(i + 1, len);
    size_t next_end = i + 1 + len;
    switch (next) {
      case '\n':
        add_fragment(op, "\\n", false);
        return next_end;
      case '\r':
        add_fragment(op, "\\r", false);
        return next_end;
      case '\t':
        add_fragment(op, "\\t", false);
        return next_end;
      case '\f':
        add_fragment(op, "\\f", false);
        return next_end;
      case '\v':
        add_fragment(op, "\\x{0B}", false);
        return next_end;
      case 'W':
        add_atom(op, "[^" + kWordChars + "]");
        return next_end;
      case 'H':
        add_atom(op, "[^" + kHex + "]");
        return next_end;
      case 'h':
        add_fragment(op, kHex, true);
        return next_end;
      case 'w':
        add_fragment(op, kWordChars, true);
        return next_end;
      case 'd':
        add_fragment(op, "\\p{Nd}", true);
        return next_end;
      case 'D':
        add_fragment(op, "\\P{Nd}", true);
        return next_end;
      case 's':
        add_fragment(op, "\\p{White_Space}", true);
        return next_end;
      case 'S':
        add_fragment(op, "\\P{White_Space}", true);
        return next_end;
      case 'a':
        add_fragment(op, "\\x{07}", false);
        return next_end;
      case 'e':
        add_fragment(op, "\\x{1B}", false);
        return next_end;
      case 'v':
        add_fragment(op, "\\x{0B}", false);
        return next_end;
      case 'b':
        add_fragment(op, "\\x{08}", false);
        return next_end;
      default:
        break;
    }
    if (next < 0x80 && (std::isalnum(static_cast<int>(next))))
      add_fragment(op, std::string("\\") + static_cast<char>(next), false);
    else
      add_fragment(op, literal(next), false);
    return next_end;
  }

  ClassResult parse_class(size_t start, bool ascii_fold, bool apply_fold, int depth) const {
    if (depth > 64) fail(re, "character classes nested too deep");
    size_t i = start + 1;
    bool negated = i < re.size() && re[i] == '^';
    if (negated) ++i;
    size_t first = i;
    std::vector<Operand> ops(1);
    while (i < re.size()) {
      Operand& op = ops.back();
      size_t len;
      char32_t c = at(i, len);
      if (c == '\\') {
        i = class_escape(i, op);
        continue;
      }
      if (c == ']') {
        if (i == first) {
          add_fragment(op, "\\]", false);
          ++i;
          continue;
        }
        if (op.tail == Operand::None) fail(re, "empty character class");
        std::string first_atom = compile_operand(ops[0]);
        std::string positive = first_atom;
        if (ops.size() > 1) {
          std::string look;
          for (size_t j = 1; j < ops.size(); ++j) look += "(?=" + compile_operand(ops[j]) + ")";
          positive = "(?:" + look + first_atom + ")";
        }
        bool direct = ops.size() == 1 && op.alternatives.empty();
        std::string fragment = op.fragment;
        if (ascii_fold && apply_fold) {
          std::string add = ascii_fold_additions(positive);
          if (!add.empty()) {
            if (direct) {
              fragment += add;
              positive = "[" + fragment + "]";
            } else {
              positive = "(?:" + positive + "|[" + add + "])";
            }
          }
        }
        std::string atom =
            negated ? (direct ? "[^" + fragment + "]" : "(?:(?!" + positive + ")" + kAny + ")") : positive;
        return {atom, i + 1};
      }
      if (starts(i, "&&")) {
        if (op.tail == Operand::None) fail(re, "empty character-class intersection operand");
        ops.emplace_back();
        i += 2;
        continue;
      }
      if (c == '[') {
        if (starts(i, "[:")) {
          size_t close = re.find(":]", i + 2);
          if (close != std::string::npos) {
            std::string name(re.substr(i + 2, close - i - 2));
            bool neg = !name.empty() && name[0] == '^';
            if (neg) name.erase(0, 1);
            static const std::pair<const char*, const char*> posix[] = {
                {"alpha", "\\p{Alphabetic}"}, {"alnum", "\\p{Alphabetic}\\p{Nd}"}, {"digit", "\\p{Nd}"},
                {"lower", "\\p{Lowercase}"},  {"upper", "\\p{Uppercase}"},         {"space", "\\p{White_Space}"},
                {"blank", "\\t\\p{Zs}"},      {"punct", "\\p{P}\\p{S}"},           {"cntrl", "\\p{Cc}"},
                {"xdigit", "0-9A-Fa-f"}};
            std::string frag;
            if (name == "word") frag = kWordChars;
            for (auto& [n, f] : posix)
              if (name == n) frag = f;
            if (frag.empty()) fail(re, "POSIX class [:" + name + ":]");
            if (neg)
              add_atom(op, "[^" + frag + "]");
            else
              add_fragment(op, frag, true);
            i = close + 2;
            continue;
          }
        }
        ClassResult nested = parse_class(i, ascii_fold, false, depth + 1);
        add_atom(op, nested.atom);
        i = nested.end;
        continue;
      }
      if (c == '-') {
        bool terminal = (i + 1 < re.size() && re[i + 1] == ']') || starts(i + 1, "&&");
        if (op.tail == Operand::Set && !terminal) fail(re, "range with a set-valued operand");
        if (op.tail == Operand::None || op.tail == Operand::Range || op.tail == Operand::CompleteRange || terminal) {
          add_fragment(op, "\\-", false);
        } else {
          op.fragment += "-";
          op.tail = Operand::Range;
        }
        ++i;
        continue;
      }
      add_fragment(op, c == '^' ? "\\^" : literal(c), false);
      i += len;
    }
    fail(re, "unterminated character class");
  }

  std::string run() const {
    std::string out;
    long atom_start = -1;
    bool last_quant = false, fold = false;
    std::vector<std::pair<long, bool>> groups;
    auto emit = [&](const std::string& s) {
      atom_start = static_cast<long>(out.size());
      out += s;
      last_quant = false;
    };
    for (size_t i = 0; i < re.size();) {
      size_t len;
      char32_t c = at(i, len);
      if (c == '\\') {
        char kind;
        std::string body;
        size_t end = braced(i, kind, body);
        if (end != std::string::npos) {
          std::string rep;
          if (kind == 'x' || kind == 'u') {
            rep = "\\x{" + body + "}";
            if (fold)
              if (auto f = folded_hex_atom(body)) rep = *f;
          } else if (body == "Word") {
            rep = kind == 'p' ? kWordClass : kNonWordClass;
          } else {
            rep = std::string("\\") + kind + "{" + body + "}";
          }
          emit(rep);
          i = end;
          continue;
        }
        std::string fw;
        end = fixed_width(i, fw);
        if (end != std::string::npos) {
          if (fold && re[i + 1] != 'c')
            if (auto f = folded_hex_atom(re.substr(i + 2, end - i - 2))) fw = *f;
          emit(fw);
          i = end;
          continue;
        }
        if (i + 1 >= re.size()) fail(re, "trailing backslash");
        char32_t next = at(i + 1, len);
        i += 1 + len;
        std::string rep;
        switch (next) {
          case 'G':
            continue;
          case '\n':
            rep = "\\n";
            break;
          case '\r':
            rep = "\\r";
            break;
          case '\t':
            rep = "\\t";
            break;
          case '\f':
            rep = "\\f";
            break;
          case '\v':
            rep = "\\x{0B}";
            break;
          case 'A':
            rep = "(?<!" + kAny + ")";
            break;
          case 'z':
            rep = "(?!" + kAny + ")";
            break;
          case 'Z':
            rep = "(?=\\n?(?!" + kAny + "))";
            break;
          case 'h':
            rep = "[" + kHex + "]";
            break;
          case 'H':
            rep = "[^" + kHex + "]";
            break;
          case 'w':
            rep = kWordClass;
            break;
          case 'W':
            rep = kNonWordClass;
            break;
          case 'd':
            rep = "\\p{Nd}";
            break;
          case 'D':
            rep = "\\P{Nd}";
            break;
          case 's':
            rep = "\\p{White_Space}";
            break;
          case 'S':
            rep = "\\P{White_Space}";
            break;
          case 'b':
            rep = "(?:(?<!" + kWordClass + ")(?=" + kWordClass + ")|(?<=" + kWordClass + ")(?!" + kWordClass + "))";
            break;
          case 'B':
            rep = "(?:(?<!" + kWordClass + ")(?!" + kWordClass + ")|(?<=" + kWordClass + ")(?=" + kWordClass + "))";
            break;
          case 'a':
            rep = "\\x{07}";
            break;
          case 'e':
            rep = "\\x{1B}";
            break;
          case 'v':
            rep = "\\x{0B}";
            break;
          case 'n':
            rep = "\\n";
            break;
          case 'r':
            rep = "\\r";
            break;
          case 't':
            rep = "\\t";
            break;
          case 'f':
            rep = "\\f";
            break;
          case '0':
            rep = "\\x{00}";
            break;
          default:
            if (next >= '1' && next <= '9')
              rep = std::string("\\") + static_cast<char>(next);
            else if (next < 0x80 && std::isalpha(static_cast<int>(next)))
              fail(re, std::string("escape \\") + static_cast<char>(next));
            else
              rep = literal(next);
        }
        emit(rep);
        continue;
      }
      switch (c) {
        case '[': {
          ClassResult r = parse_class(i, fold, true, 1);
          emit(r.atom);
          i = r.end;
          continue;
        }
        case ']':
          emit("\\]");
          ++i;
          continue;
        case '.':
          emit("[^\\n]");
          ++i;
          continue;
        case '^':
          emit("(?:(?<!" + kAny + ")|(?<=\\n))");
          ++i;
          continue;
        case '$':
          emit("(?:(?=\\n)|(?!" + kAny + "))");
          ++i;
          continue;
        case '(': {
          std::string prefix = "(", out_prefix = "(";
          bool ci = starts(i, "(?i:");
          if (ci) {
            prefix = "(?i:";
            out_prefix = "(?:";
          } else {
            for (const char* p : {"(?<=", "(?<!", "(?:", "(?=", "(?!", "(?>"})
              if (starts(i, p)) prefix = out_prefix = p;
            if (prefix == "(?>") out_prefix = "(?:";
            if (prefix == "(" && starts(i, "(?<")) {
              size_t close = re.find('>', i + 3);
              if (close == std::string::npos) fail(re, "group name");
              prefix = out_prefix = std::string(re.substr(i, close + 1 - i));
            } else if (prefix == "(" && starts(i, "(?")) {
              fail(re, "group syntax " + std::string(re.substr(i, 4)));
            }
          }
          groups.emplace_back(static_cast<long>(out.size()), fold);
          if (ci) fold = true;
          out += out_prefix;
          last_quant = false;
          i += prefix.size();
          continue;
        }
        case ')':
          out += ')';
          if (groups.empty()) {
            atom_start = -1;
            fold = false;
          } else {
            atom_start = groups.back().first;
            fold = groups.back().second;
            groups.pop_back();
          }
          last_quant = false;
          ++i;
          continue;
        case '|':
          out += '|';
          atom_start = -1;
          last_quant = false;
          ++i;
          continue;
        case '{': {
          // {n}, {n,}, {n,m}, {,m}
          size_t close = re.find('}', i);
          std::string body = close == std::string::npos ? "" : std::string(re.substr(i + 1, close - i - 1));
          bool ok = !body.empty();
          size_t comma = body.find(',');
          if (ok) {
            std::string a = body.substr(0, comma), b = comma == std::string::npos ? "" : body.substr(comma + 1);
            auto digits = [](const std::string& s) {
              for (char d : s)
                if (!std::isdigit(static_cast<unsigned char>(d))) return false;
              return true;
            };
            ok = digits(a) && digits(b) && (!a.empty() || (!b.empty() && comma != std::string::npos)) &&
                 std::count(body.begin(), body.end(), ',') <= 1;
          }
          if (!ok || atom_start < 0) {
            emit("\\{");
            ++i;
            continue;
          }
          if (body[0] == ',') body = "0" + body;
          i = close + 1;
          if (i < re.size() && (re[i] == '+' || re[i] == '*')) {
            out = out.substr(0, static_cast<size_t>(atom_start)) + "(?:" + out.substr(static_cast<size_t>(atom_start)) +
                  "{" + body + "})" + re[i];
            ++i;
          } else {
            out += "{" + body + "}";
          }
          last_quant = true;
          continue;
        }
        case '}':
          emit("\\}");
          ++i;
          continue;
        case '+':
          ++i;
          if (last_quant) continue;
          out += '+';
          last_quant = true;
          continue;
        case '*':
        case '?':
          out += static_cast<char>(c);
          last_quant = true;
          ++i;
          continue;
        default:
          if (fold && ascii_letter(c)) {
            char lo = static_cast<char>(std::tolower(static_cast<int>(c))),
                 up = static_cast<char>(std::toupper(static_cast<int>(c)));
            emit(std::string("[") + lo + up + "]");
          } else {
            emit(literal(c));
          }
          i += len;
      }
    }
    return out;
  }
};

// BLOOM's "[^(\s|[...])]" character class, as the reference normalises it.
std::string normalize_bloom(std::string_view re) {
  std::string out;
  const std::string_view open = "[^(\\s|[";
  size_t pos = 0;
  while (true) {
    size_t hit = re.find(open, pos);
    if (hit == std::string_view::npos) break;
    size_t inner = hit + open.size();
    size_t close = re.find(']', inner);
    if (close == std::string_view::npos || close == inner || re.substr(close, 3) != "])]") {
      out.append(re, pos, inner - pos);
      pos = inner;
      continue;
    }
    out.append(re, pos, hit - pos);
    out += "[^()|\\s";
    out.append(re, inner, close - inner);
    out += "]";
    pos = close + 3;
  }
  out.append(re, pos);
  return out;
}

}  // namespace

std::string onig_to_pcre(std::string_view pattern) {
  std::string normalized = normalize_bloom(pattern);
  Translator t{normalized};
  return t.run();
}

}  // namespace oc::tok
