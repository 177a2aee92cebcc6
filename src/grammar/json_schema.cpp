#include "grammar/json_schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>

#include "common/error.h"
#include "grammar/regex.h"

namespace oc::grammar {

namespace {

using json = nlohmann::ordered_json;

constexpr int64_t kMaxRepeat = 4096;  // bounds of lengths and counts the grammar spells out
constexpr int kMaxDepth = 64;         // nesting of schemas (not of refs, which become rules)
constexpr int kMaxDigits = 15;        // integer digits of generated numbers (exact in a double)

[[noreturn]] void unsupported(const std::string& where, const std::string& what) {
  throw Error(ErrorKind::Unsupported,
              "JSON Schema: " + what + (where.empty() ? std::string() : " (at '" + where + "')") +
                  " is not supported by structured output",
              "", "unsupported_schema");
}

[[noreturn]] void invalid(const std::string& where, const std::string& what) {
  throw Error(ErrorKind::InvalidRequest,
              "invalid JSON Schema: " + what + (where.empty() ? std::string() : " (at '" + where + "')"), "",
              "invalid_schema");
}

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

// Keywords that only annotate (ignored).
const std::set<std::string> kAnnotations = {
    "title",     "description", "default",          "examples",        "$comment", "$schema",     "readOnly",
    "writeOnly", "deprecated",  "contentMediaType", "contentEncoding", "$defs",    "definitions", "$id"};

// Keywords by the type they constrain.
const std::set<std::string> kObjectWords = {"properties",        "required",     "additionalProperties",
                                            "patternProperties", "dependencies", "minProperties",
                                            "maxProperties"};
const std::set<std::string> kArrayWords = {"items",    "prefixItems", "additionalItems",
                                           "minItems", "maxItems",    "uniqueItems"};
const std::set<std::string> kStringWords = {"minLength", "maxLength", "pattern", "format"};
const std::set<std::string> kNumberWords = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"};

enum TypeBit : unsigned { kNull = 1, kBool = 2, kInt = 4, kNum = 8, kStr = 16, kArr = 32, kObj = 64, kAll = 127 };

unsigned type_bit(const std::string& t, const std::string& where) {
  if (t == "null") return kNull;
  if (t == "boolean") return kBool;
  if (t == "integer") return kInt;
  if (t == "number") return kNum | kInt;
  if (t == "string") return kStr;
  if (t == "array") return kArr;
  if (t == "object") return kObj;
  invalid(where, "unknown type '" + t + "'");
}

unsigned type_of_value(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return kNull;
    case json::value_t::boolean:
      return kBool;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return kInt | kNum;
    case json::value_t::number_float:
      return v.get<double>() == std::floor(v.get<double>()) ? kInt | kNum : kNum;
    case json::value_t::string:
      return kStr;
    case json::value_t::array:
      return kArr;
    default:
      return kObj;
  }
}

class Compiler {
 public:
  Compiler(GrammarBuilder& b, const json& root) : b_(b), root_(root) {}

  Elem schema(const json& s, const std::string& where, int depth = 0) {
    if (depth > kMaxDepth) unsupported(where, "nesting deeper than " + std::to_string(kMaxDepth));
    if (s.is_boolean()) {
      if (s.get<bool>()) return any();
      invalid(where, "the schema 'false' matches nothing");
    }
    if (!s.is_object()) invalid(where, "a schema must be an object or a boolean");
    for (const auto& [key, v] : s.items()) check_keyword(key, where);
    const json norm = draft3_aliases(s, where);
    if (norm.contains("$ref")) return ref(norm, where, depth);
    json merged = norm;
    if (norm.contains("allOf")) merged = merge_all_of(norm, where);
    if (merged.contains("anyOf") || merged.contains("oneOf")) return any_of(merged, where, depth);
    return plain(merged, where, depth);
  }

  Elem any() {
    if (any_ < 0) {
      any_ = b_.new_rule();
      for (unsigned t : {kObj, kArr, kStr, kNum, kBool, kNull}) b_.add_alt(any_, {typed(json::object(), t, "", 0)});
    }
    return GrammarBuilder::ref(any_);
  }

  Elem ws() {
    if (!ws_) ws_ = b_.star({b_.bytes(ByteSet().set(' ').set('\t').set('\n').set('\r'))});
    return *ws_;
  }

  Elem any_object() { return typed(json::object(), kObj, "", 0); }

 private:
  void check_keyword(const std::string& key, const std::string& where) {
    static const std::set<std::string> known = [] {
      std::set<std::string> k = {"type", "enum",     "const", "anyOf",       "oneOf",    "allOf",
                                 "$ref", "nullable", "not",   "divisibleBy", "disallow", "extends"};
      for (const auto* set : {&kObjectWords, &kArrayWords, &kStringWords, &kNumberWords, &kAnnotations})
        k.insert(set->begin(), set->end());
      return k;
    }();
    if (!known.count(key)) unsupported(join(where, key), "the keyword '" + key + "'");
  }

  // Draft 3's divisibleBy, disallow (of types) and extends, as multipleOf, not and allOf.
  static json draft3_aliases(const json& s, const std::string& where) {
    if (!s.contains("divisibleBy") && !s.contains("disallow") && !s.contains("extends")) return s;
    json out = s;
    auto rename = [&](const char* from, const char* to, json value) {
      if (!s.contains(from)) return;
      if (s.contains(to)) unsupported(join(where, from), std::string("'") + from + "' beside '" + to + "'");
      out.erase(from);
      out[to] = std::move(value);
    };
    if (s.contains("disallow")) {
      const json& d = s["disallow"];
      bool types = d.is_string() || d.is_array();
      if (d.is_array())
        for (const auto& x : d) types &= x.is_string();
      if (!types) unsupported(join(where, "disallow"), "'disallow' of schemas");
      rename("disallow", "not", json{{"type", d}});
    }
    if (s.contains("divisibleBy")) rename("divisibleBy", "multipleOf", s["divisibleBy"]);
    if (s.contains("extends"))
      rename("extends", "allOf", s["extends"].is_array() ? s["extends"] : json::array({s["extends"]}));
    return out;
  }

  // ---- references, combinations ----

  Elem ref(const json& s, const std::string& where, int depth) {
    for (const auto& [key, v] : s.items())
      if (key != "$ref" && !kAnnotations.count(key)) unsupported(join(where, key), "'" + key + "' beside '$ref'");
    if (!s["$ref"].is_string()) invalid(join(where, "$ref"), "'$ref' must be a string");
    const std::string target = s["$ref"].get<std::string>();
    if (target.empty() || target[0] != '#') unsupported(join(where, "$ref"), "the reference '" + target + "'");
    auto it = refs_.find(target);
    if (it != refs_.end()) return GrammarBuilder::ref(it->second);
    const json* node = &root_;
    try {
      if (target.size() > 1) node = &root_.at(json::json_pointer(target.substr(1)));
    } catch (const json::exception&) {
      invalid(join(where, "$ref"), "the reference '" + target + "' points at nothing");
    }
    const int32_t rule = b_.new_rule();  // before compiling the target, for recursion
    refs_[target] = rule;
    b_.add_alt(rule, {schema(*node, target, depth + 1)});
    return GrammarBuilder::ref(rule);
  }

  json merge_all_of(const json& s, const std::string& where) {
    const json& all = s["allOf"];
    if (!all.is_array() || all.empty()) invalid(join(where, "allOf"), "'allOf' must be a non-empty array");
    json out = s;
    out.erase("allOf");
    for (size_t i = 0; i < all.size(); ++i) {
      const std::string w = join(where, "allOf[" + std::to_string(i) + "]");
      if (all[i].is_boolean()) {
        if (!all[i].get<bool>()) invalid(w, "the schema 'false' matches nothing");
        continue;
      }
      if (!all[i].is_object()) invalid(w, "a schema must be an object or a boolean");
      for (const auto& [key, v] : all[i].items()) {
        check_keyword(key, w);
        if (kAnnotations.count(key)) continue;
        if (key == "allOf" || key == "$ref") unsupported(join(w, key), "'" + key + "' inside 'allOf'");
        if (out.contains(key) && out[key] != v) {
          if (key == "required" && v.is_array() && out[key].is_array()) {
            for (const auto& r : v) out[key].push_back(r);
            continue;
          }
          if (key == "properties" && v.is_object() && out[key].is_object()) {
            for (const auto& [name, sub] : v.items())
              out[key][name] = out[key].contains(name) ? json{{"allOf", json::array({out[key][name], sub})}} : sub;
            continue;
          }
          unsupported(join(w, key), "'allOf' branches that both set '" + key + "'");
        }
        out[key] = v;
      }
    }
    return out;
  }

  // The types a schema's grammar can produce (for oneOf's disjointness).
  unsigned types_of(const json& s, int depth = 0) {
    if (depth > kMaxDepth) return kAll;
    if (s.is_boolean()) return s.get<bool>() ? static_cast<unsigned>(kAll) : 0u;
    if (!s.is_object()) return kAll;
    if (s.contains("$ref") && s["$ref"].is_string()) {
      const std::string target = s["$ref"].get<std::string>();
      try {
        return types_of(target.size() > 1 ? root_.at(json::json_pointer(target.substr(1))) : root_, depth + 1);
      } catch (const json::exception&) {
        return kAll;
      }
    }
    unsigned t = kAll;
    if (s.contains("const")) t = type_of_value(s["const"]);
    if (s.contains("enum") && s["enum"].is_array()) {
      t = 0;
      for (const auto& v : s["enum"]) t |= type_of_value(v);
    }
    if (t == kAll) t = declared_types(s, "");
    for (const char* k : {"anyOf", "oneOf"})
      if (s.contains(k) && s[k].is_array()) {
        unsigned u = 0;
        for (const auto& x : s[k]) u |= types_of(x, depth + 1);
        t &= u;
      }
    return t;
  }

  Elem any_of(const json& s, const std::string& where, int depth) {
    if (s.contains("anyOf") && s.contains("oneOf")) unsupported(where, "'anyOf' together with 'oneOf'");
    const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
    const json& branches = s[key];
    if (!branches.is_array() || branches.empty())
      invalid(join(where, key), std::string("'") + key + "' must be a non-empty array");
    json base = s;
    base.erase(key);
    bool base_constrains = false;
    for (const auto& [k, v] : base.items()) base_constrains |= !kAnnotations.count(k);
    if (std::string(key) == "oneOf") {
      // A grammar cannot exclude "matches two branches": only branches of disjoint types are taken.
      unsigned seen = 0;
      for (const auto& br : branches) {
        unsigned t = types_of(br) & (base_constrains ? declared_types(base, where) : kAll);
        if (t & kNum) t |= kInt;
        if (t & seen) unsupported(join(where, "oneOf"), "'oneOf' with branches that may match the same value");
        seen |= t;
      }
    }
    const int32_t rule = b_.new_rule();
    int alts = 0;
    for (size_t i = 0; i < branches.size(); ++i) {
      const std::string w = join(where, std::string(key) + "[" + std::to_string(i) + "]");
      const json& br = branches[i];
      if (br.is_boolean() && !br.get<bool>()) continue;
      if (!base_constrains) {
        b_.add_alt(rule, {schema(br, w, depth + 1)});
      } else {
        // The branch with the surrounding keywords merged in.
        json m = base;
        m["allOf"] = json::array({br.is_boolean() ? json::object() : br});
        if (br.is_object() && (br.contains("$ref") || br.contains("allOf")))
          unsupported(w, "a '$ref' or 'allOf' branch beside other keywords");
        b_.add_alt(rule, {schema(m, w, depth + 1)});
      }
      ++alts;
    }
    if (alts == 0) invalid(join(where, key), "no branch can match");
    return GrammarBuilder::ref(rule);
  }

  // ---- one schema without combinations ----

  unsigned declared_types(const json& s, const std::string& where) {
    if (s.contains("type")) {
      const json& t = s["type"];
      unsigned bits = 0;
      if (t.is_string()) {
        bits = type_bit(t.get<std::string>(), join(where, "type"));
      } else if (t.is_array()) {
        for (const auto& x : t) {
          if (!x.is_string()) invalid(join(where, "type"), "'type' entries must be strings");
          bits |= type_bit(x.get<std::string>(), join(where, "type"));
        }
      } else {
        invalid(join(where, "type"), "'type' must be a string or an array");
      }
      if (s.value("nullable", false)) bits |= kNull;
      return bits;
    }
    // No type: the keywords present say which type to produce (any value of another type would
    // also match, but is never what the schema means).
    unsigned bits = 0;
    for (const auto& [key, v] : s.items()) {
      if (kObjectWords.count(key)) bits |= kObj;
      if (kArrayWords.count(key)) bits |= kArr;
      if (kStringWords.count(key)) bits |= kStr;
      if (kNumberWords.count(key)) bits |= kNum | kInt;
    }
    if (!bits) return kAll;
    if (s.value("nullable", false)) bits |= kNull;
    return bits;
  }

  Elem plain(const json& s, const std::string& where, int depth) {
    unsigned types = declared_types(s, where);
    if (s.contains("not")) {
      // Whole types the negated schema could match are left out (values of the other types never
      // match it); a negated schema without a type is refused.
      const json& n = s["not"];
      unsigned excluded = 0;
      if (n.is_boolean())
        excluded = n.get<bool>() ? static_cast<unsigned>(kAll) : 0u;
      else if (n.is_object() && n.empty())
        excluded = kAll;
      else if (n.is_object() && n.contains("type"))
        excluded = declared_types(n, join(where, "not"));
      else
        unsupported(join(where, "not"), "'not' of a schema without 'type'");
      if (excluded & kNum) excluded |= kInt;
      types &= ~excluded;
      if (!types) invalid(where, "'not' leaves no value");
    }
    if (s.contains("const") || s.contains("enum")) {
      std::vector<json> values;
      if (s.contains("const")) values.push_back(s["const"]);
      if (s.contains("enum")) {
        if (!s["enum"].is_array()) invalid(join(where, "enum"), "'enum' must be an array");
        for (const auto& v : s["enum"])
          if (!s.contains("const") || v == s["const"]) values.push_back(v);
        if (s.contains("const")) values.resize(std::min<size_t>(values.size(), 1));
      }
      std::vector<Seq> alts;
      for (const auto& v : values) {
        unsigned vt = type_of_value(v);
        if (!(vt & types)) continue;
        for (const auto& [key, x] : s.items())
          if (key != "enum" && key != "const" && key != "type" && key != "nullable" && !kAnnotations.count(key))
            unsupported(join(where, key), "'" + key + "' beside 'enum' or 'const'");
        alts.push_back(b_.literal(v.dump(-1, ' ', false, json::error_handler_t::strict)));
      }
      if (alts.empty()) invalid(where, "no value of 'enum'/'const' matches the schema's type");
      return GrammarBuilder::ref(b_.rule_of(std::move(alts)));
    }
    std::vector<Seq> alts;
    for (unsigned t : {kObj, kArr, kStr, kInt, kNum, kBool, kNull}) {
      if (!(types & t)) continue;
      if (t == kInt && (types & kNum)) continue;  // number covers integers
      if (t == kNum)
        alts.push_back({number(s, where, false, !(types & kInt))});  // without kInt: not integers
      else
        alts.push_back({typed(s, t, where, depth)});
    }
    if (alts.size() == 1) return alts[0][0];
    return GrammarBuilder::ref(b_.rule_of(std::move(alts)));
  }

  int64_t get_count(const json& s, const char* key, const std::string& where, int64_t def) {
    if (!s.contains(key)) return def;
    const json& v = s[key];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() != std::floor(v.get<double>()))
      invalid(join(where, key), std::string("'") + key + "' must be a non-negative integer");
    const double d = v.get<double>();
    if (d > static_cast<double>(kMaxRepeat))
      return def < 0 ? -1 : kMaxRepeat + 1;  // beyond what is spelled out: caller decides
    return static_cast<int64_t>(d);
  }

  Elem typed(const json& s, unsigned t, const std::string& where, int depth) {
    switch (t) {
      case kNull:
        return GrammarBuilder::ref(b_.rule_of({b_.literal("null")}));
      case kBool:
        return GrammarBuilder::ref(b_.rule_of({b_.literal("true"), b_.literal("false")}));
      case kStr:
        return string(s, where);
      case kInt:
        return number(s, where, true);
      case kNum:
        return number(s, where, false);
      case kArr:
        return array(s, where, depth);
      default:
        return object(s, where, depth);
    }
  }

  // ---- strings ----

  Elem string_char() {
    if (!char_) {
      const int32_t r = b_.new_rule();
      ByteSet ascii;
      for (unsigned c = 0x20; c < 0x80; ++c)
        if (c != '"' && c != '\\') ascii.set(c);
      b_.add_alt(r, {b_.bytes(ascii)});
      Seq esc = b_.literal("\\");
      esc.push_back(b_.bytes(ByteSet().set('"').set('\\').set('/').set('b').set('f').set('n').set('r').set('t')));
      b_.add_alt(r, esc);
      // \uXXXX: a code point outside the surrogates, or a high surrogate followed by a low one
      // (a lone surrogate is not text; strict JSON parsers reject it).
      auto hex_of = [](std::string_view digits) {
        ByteSet set;
        for (unsigned char c : digits) set.set(c).set(static_cast<unsigned char>(std::toupper(c)));
        return set;
      };
      const ByteSet hex = hex_of("0123456789abcdef");
      auto u_escape = [&](const ByteSet& first, const ByteSet& second) {
        Seq u = b_.literal("\\u");
        u.push_back(b_.bytes(first));
        u.push_back(b_.bytes(second));
        u.push_back(b_.bytes(hex));
        u.push_back(b_.bytes(hex));
        return u;
      };
      b_.add_alt(r, u_escape(hex_of("0123456789abcef"), hex));   // not Dxxx
      b_.add_alt(r, u_escape(hex_of("d"), hex_of("01234567")));  // D000-D7FF
      Seq pair = u_escape(hex_of("d"), hex_of("89ab"));          // D800-DBFF, then DC00-DFFF
      for (const Elem& e : u_escape(hex_of("d"), hex_of("cdef"))) pair.push_back(e);
      b_.add_alt(r, pair);
      append_utf8_multibyte(r);
      char_ = GrammarBuilder::ref(r);
    }
    return *char_;
  }

  void append_utf8_multibyte(int32_t r) {
    const Elem cont = b_.byte_range(0x80, 0xBF);
    b_.add_alt(r, {b_.byte_range(0xC2, 0xDF), cont});
    b_.add_alt(r, {b_.byte_range(0xE0, 0xE0), b_.byte_range(0xA0, 0xBF), cont});
    b_.add_alt(r, {b_.byte_range(0xE1, 0xEC), cont, cont});
    b_.add_alt(r, {b_.byte_range(0xED, 0xED), b_.byte_range(0x80, 0x9F), cont});
    b_.add_alt(r, {b_.byte_range(0xEE, 0xEF), cont, cont});
    b_.add_alt(r, {b_.byte_range(0xF0, 0xF0), b_.byte_range(0x90, 0xBF), cont, cont});
    b_.add_alt(r, {b_.byte_range(0xF1, 0xF3), cont, cont, cont});
    b_.add_alt(r, {b_.byte_range(0xF4, 0xF4), b_.byte_range(0x80, 0x8F), cont, cont});
  }

  Elem string(const json& s, const std::string& where) {
    const int64_t min = get_count(s, "minLength", where, 0);
    int64_t max = get_count(s, "maxLength", where, -1);
    if (min > kMaxRepeat) unsupported(join(where, "minLength"), "'minLength' above " + std::to_string(kMaxRepeat));
    if (max > kMaxRepeat) max = kMaxRepeat;  // shorter strings still match
    if (max >= 0 && max < min) invalid(where, "'maxLength' is below 'minLength'");
    Seq body = b_.literal("\"");
    if (s.contains("pattern") || s.contains("format")) {
      if (s.contains("minLength") || s.contains("maxLength"))
        unsupported(where, "'pattern' or 'format' together with 'minLength'/'maxLength'");
      if (s.contains("pattern") && s.contains("format")) unsupported(where, "'pattern' together with 'format'");
      std::string pattern;
      if (s.contains("pattern")) {
        if (!s["pattern"].is_string()) invalid(join(where, "pattern"), "'pattern' must be a string");
        pattern = s["pattern"].get<std::string>();
      } else {
        if (!s["format"].is_string()) invalid(join(where, "format"), "'format' must be a string");
        pattern = format_pattern(s["format"].get<std::string>(), join(where, "format"));
      }
      try {
        body.push_back(add_regex(b_, pattern, string_char()));
      } catch (const RegexError& e) {
        unsupported(join(where, "pattern"), std::string("the pattern '") + pattern + "' (" + e.what() + ")");
      }
    } else {
      body.push_back(b_.repeat({string_char()}, min, max));
    }
    append(body, b_.literal("\""));
    return GrammarBuilder::ref(b_.rule_of({body}));
  }

  static std::string format_pattern(const std::string& f, const std::string& where) {
    static const std::string date =
        "[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]"
        "))";
    static const std::string time =
        "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
    if (f == "date") return "^" + date + "$";
    if (f == "time") return "^" + time + "$";
    if (f == "date-time") return "^" + date + "T" + time + "$";
    if (f == "uuid") return "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    if (f == "ipv4")
      return "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
    if (f == "hostname" || f == "host-name")
      return "^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?){0,3}$";
    if (f == "uri") return "^https?://[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,3}(/[a-z0-9._~-]{0,20}){0,4}$";
    if (f == "ipv6") return "^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$";
    if (f == "ip-address") return format_pattern("ipv4", where);
    if (f == "regex") return "^[a-z0-9 ]{0,20}$";
    if (f == "email") return "^[a-z0-9]+(\\.[a-z0-9]+)*@[a-z0-9]+(-[a-z0-9]+)*(\\.[a-z0-9]+(-[a-z0-9]+)*)+$";
    unsupported(where, "the format '" + f + "'");
  }

  // ---- numbers ----

  Elem digits(int64_t min, int64_t max) { return b_.repeat({b_.byte_range('0', '9')}, min, max); }

  // Digit strings of the same length from lo to hi (leading zeros allowed). A tail from 0...0 to
  // 9...9 is any digits, so each level keeps at most one bounded branch per side and a bound on one
  // side only (minimum: -85 runs to 15 nines) stays linear in the digits.
  Seq fixed_range(const std::string& lo, const std::string& hi) {
    if (lo.empty()) return {};
    if (lo == hi) return b_.literal(lo);
    if (lo.find_first_not_of('0') == std::string::npos && hi.find_first_not_of('9') == std::string::npos)
      return {digits(static_cast<int64_t>(lo.size()), static_cast<int64_t>(lo.size()))};
    const auto a = static_cast<unsigned char>(lo[0]), z = static_cast<unsigned char>(hi[0]);
    const std::string rest_lo = lo.substr(1), rest_hi = hi.substr(1);
    const size_t n = rest_lo.size();
    if (a == z) {
      Seq s = b_.literal(std::string(1, static_cast<char>(a)));
      append(s, fixed_range(rest_lo, rest_hi));
      return s;
    }
    std::vector<Seq> alts;
    Seq first = b_.literal(std::string(1, static_cast<char>(a)));
    append(first, fixed_range(rest_lo, std::string(n, '9')));
    alts.push_back(first);
    if (z > a + 1) {
      Seq mid = {b_.byte_range(a + 1, z - 1)};
      if (n) mid.push_back(digits(static_cast<int64_t>(n), static_cast<int64_t>(n)));
      alts.push_back(mid);
    }
    Seq last = b_.literal(std::string(1, static_cast<char>(z)));
    append(last, fixed_range(std::string(n, '0'), rest_hi));
    alts.push_back(last);
    return {GrammarBuilder::ref(b_.rule_of(std::move(alts)))};
  }

  // Non-negative integers from lo to hi, without leading zeros.
  std::vector<Seq> natural_range(int64_t lo, int64_t hi) {
    std::vector<Seq> alts;
    const std::string slo = std::to_string(lo);
    const size_t max_len = std::to_string(hi).size();
    for (size_t len = slo.size(); len <= max_len; ++len) {
      std::string from = slo;
      if (len != slo.size()) {  // 10...0
        from.assign(len, '0');
        from[0] = '1';
      }
      const std::string to = len == max_len ? std::to_string(hi) : std::string(len, '9');
      alts.push_back(fixed_range(from, to));
    }
    return alts;
  }

  // Multiples of k with up to kMaxDigits digits: the digits run through the remainders mod k.
  Elem multiples(int64_t k) {
    // rem[r][n]: digits that bring remainder r to 0 with at most n more digits.
    std::vector<std::vector<int32_t>> rem(static_cast<size_t>(k), std::vector<int32_t>(kMaxDigits, -1));
    for (int n = 0; n < kMaxDigits; ++n)
      for (int64_t r = 0; r < k; ++r) {
        std::vector<Seq> alts;
        if (r == 0) alts.push_back({});
        if (n > 0)
          for (int d = 0; d <= 9; ++d) {
            Seq step = b_.literal(std::string(1, static_cast<char>('0' + d)));
            step.push_back(GrammarBuilder::ref(rem[static_cast<size_t>((r * 10 + d) % k)][n - 1]));
            alts.push_back(std::move(step));
          }
        if (alts.empty()) alts.push_back({b_.bytes(ByteSet())});  // nothing
        rem[static_cast<size_t>(r)][n] = b_.rule_of(std::move(alts));
      }
    std::vector<Seq> alts = {b_.literal("0")};
    for (int d = 1; d <= 9; ++d) {
      Seq first = b_.literal(std::string(1, static_cast<char>('0' + d)));
      first.push_back(GrammarBuilder::ref(rem[static_cast<size_t>(d % k)][kMaxDigits - 1]));
      alts.push_back(first);
      Seq neg = b_.literal("-");
      append(neg, first);
      alts.push_back(std::move(neg));
    }
    return GrammarBuilder::ref(b_.rule_of(std::move(alts)));
  }

  // -?(0|[1-9][0-9]{0,14}) then a fraction and exponent (numbers), or a fraction that does not end
  // in 0 (numbers that are not integers).
  Elem free_number(bool integer, bool fraction_required) {
    Seq n = {b_.optional(b_.literal("-")),
             GrammarBuilder::ref(b_.rule_of({b_.literal("0"), {b_.byte_range('1', '9'), digits(0, kMaxDigits - 1)}}))};
    if (fraction_required) {
      append(n, b_.literal("."));
      n.push_back(digits(0, 5));
      n.push_back(b_.byte_range('1', '9'));
    } else if (!integer) {
      Seq frac = b_.literal(".");
      frac.push_back(digits(1, kMaxDigits));
      n.push_back(b_.optional(frac));
      Seq exp = {b_.bytes(ByteSet().set('e').set('E')), b_.optional({b_.bytes(ByteSet().set('+').set('-'))}),
                 digits(1, 2)};
      n.push_back(b_.optional(exp));
    }
    return GrammarBuilder::ref(b_.rule_of({n}));
  }

  Elem number(const json& s, const std::string& where, bool integer, bool not_integer = false) {
    std::optional<double> lo, hi;
    bool lo_ex = false, hi_ex = false;
    auto bound = [&](const char* key, std::optional<double>& b, bool& ex, bool exclusive, bool is_lo) {
      if (!s.contains(key)) return;
      const json& v = s[key];
      if (v.is_boolean()) {  // draft 4: exclusiveMinimum: true modifies minimum
        if (v.get<bool>()) (is_lo ? lo_ex : hi_ex) = true;
        return;
      }
      if (!v.is_number()) invalid(join(where, key), std::string("'") + key + "' must be a number");
      const double d = v.get<double>();
      if (!b || (is_lo ? d >= *b : d <= *b)) {
        b = d;
        ex = exclusive;
      }
    };
    bound("minimum", lo, lo_ex, false, true);
    bound("exclusiveMinimum", lo, lo_ex, true, true);
    bound("maximum", hi, hi_ex, false, false);
    bound("exclusiveMaximum", hi, hi_ex, true, false);
    if (s.contains("multipleOf")) {
      const json& m = s["multipleOf"];
      if (!m.is_number() || !(m.get<double>() > 0)) invalid(join(where, "multipleOf"), "'multipleOf' must be > 0");
      // k = p / 2^e exactly: the multiples of p (whole numbers that are multiples of k).
      double k = m.get<double>();
      for (int e = 0; e < 10 && k != std::floor(k); ++e) k *= 2;
      if (k != std::floor(k) || k > 1000 || lo || hi || not_integer)
        unsupported(join(where, "multipleOf"),
                    "'multipleOf' other than p / 2^e (p a whole number up to 1000) without bounds");
      return multiples(static_cast<int64_t>(k));
    }
    if (!lo && !hi) return free_number(integer, not_integer);
    if (not_integer) unsupported(where, "bounds on numbers that must not be integers");
    // Bounded: the integers inside the bounds (whole numbers are numbers too), at most kMaxDigits
    // digits (bounds further out change nothing).
    const double limit = std::pow(10.0, kMaxDigits) - 1;
    double flo = -limit, fhi = limit;
    if (lo) {
      double c = std::ceil(*lo);
      if (lo_ex && c == *lo) c += 1;
      flo = std::max(flo, c);
    }
    if (hi) {
      double f = std::floor(*hi);
      if (hi_ex && f == *hi) f -= 1;
      fhi = std::min(fhi, f);
    }
    if (flo > fhi) {
      if (integer) invalid(where, "no integer lies between the bounds");
      unsupported(where, "bounds with no whole number between them");
    }
    const auto ilo = static_cast<int64_t>(flo), ihi = static_cast<int64_t>(fhi);
    std::vector<Seq> alts;
    if (ihi >= 0)  // the non-negative part
      for (auto& a : natural_range(std::max<int64_t>(ilo, 0), ihi)) alts.push_back(std::move(a));
    if (ilo < 0) {  // the negative part: "-" then |x| from max(1, -hi) to -lo
      for (auto& a : natural_range(std::max<int64_t>(1, -std::min<int64_t>(ihi, 0)), -ilo)) {
        Seq neg = b_.literal("-");
        append(neg, a);
        alts.push_back(std::move(neg));
      }
    }
    return GrammarBuilder::ref(b_.rule_of(std::move(alts)));
  }

  // ---- arrays ----

  Elem array(const json& s, const std::string& where, int depth) {
    const int64_t min = get_count(s, "minItems", where, 0);
    int64_t max = get_count(s, "maxItems", where, -1);
    if (s.contains("uniqueItems") && s["uniqueItems"] == true) {
      // Arrays of at most one item are unique.
      if (min > 1) unsupported(join(where, "uniqueItems"), "'uniqueItems' with 'minItems' above 1");
      max = max < 0 ? 1 : std::min<int64_t>(max, 1);
    }
    if (min > kMaxRepeat) unsupported(join(where, "minItems"), "'minItems' above " + std::to_string(kMaxRepeat));
    if (max > kMaxRepeat) max = kMaxRepeat;
    if (max >= 0 && max < min) invalid(where, "'maxItems' is below 'minItems'");
    // The tuple part and what follows it.
    std::vector<Elem> tuple;
    const json* tuple_json = nullptr;
    const char* tuple_key = nullptr;
    if (s.contains("prefixItems")) {
      tuple_json = &s["prefixItems"];
      tuple_key = "prefixItems";
    } else if (s.contains("items") && s["items"].is_array()) {
      tuple_json = &s["items"];
      tuple_key = "items";
    }
    if (tuple_json) {
      if (!tuple_json->is_array()) invalid(join(where, tuple_key), "must be an array");
      for (size_t i = 0; i < tuple_json->size(); ++i) {
        const json& item = (*tuple_json)[i];
        if (item.is_boolean() && !item.get<bool>()) break;  // no value can take this place
        tuple.push_back(schema(item, join(where, std::string(tuple_key) + "[" + std::to_string(i) + "]"), depth + 1));
      }
    }
    const json* rest_json = nullptr;
    std::string rest_where;
    if (tuple_json && std::string(tuple_key) == "items") {
      if (s.contains("additionalItems")) rest_json = &s["additionalItems"], rest_where = join(where, "additionalItems");
    } else if (s.contains("items")) {
      rest_json = &s["items"], rest_where = join(where, "items");
    }
    std::optional<Elem> rest;
    if (rest_json) {
      if (!(rest_json->is_boolean() && !rest_json->get<bool>())) rest = schema(*rest_json, rest_where, depth + 1);
    } else if (!tuple_json || static_cast<int64_t>(tuple.size()) < min) {
      rest = any();  // unconstrained items (only produced where needed with a tuple)
    }
    const int64_t k = static_cast<int64_t>(tuple.size());
    if (!rest && min > k) invalid(where, "'minItems' asks for more items than the schema allows");
    Seq body = b_.literal("[");
    body.push_back(ws());
    body.push_back(items_from(0, min, max, tuple, rest));
    append(body, b_.literal("]"));
    return GrammarBuilder::ref(b_.rule_of({body}));
  }

  // Items from index j on, after j items were written.
  Elem items_from(int64_t j, int64_t min, int64_t max, const std::vector<Elem>& tuple,
                  const std::optional<Elem>& rest) {
    const int64_t k = static_cast<int64_t>(tuple.size());
    auto sep = [&](int64_t at) {
      Seq s;
      if (at > 0) {
        s = b_.literal(",");
        s.push_back(ws());
      }
      return s;
    };
    auto one = [&](int64_t at) {
      Seq s = sep(at);
      s.push_back(at < k ? tuple[static_cast<size_t>(at)] : *rest);
      s.push_back(ws());
      return s;
    };
    if (max >= 0 && j >= max) return GrammarBuilder::ref(b_.rule_of({{}}));
    if (j >= k && !rest) return GrammarBuilder::ref(b_.rule_of({{}}));
    if (j >= k && j >= min && j > 0) {
      // Only `rest` items remain: (, rest){0, max - j}
      return b_.repeat(one(j), 0, max < 0 ? -1 : max - j);
    }
    Seq next = one(j);
    next.push_back(items_from(j + 1, min, max, tuple, rest));
    if (j < min) return GrammarBuilder::ref(b_.rule_of({next}));
    return GrammarBuilder::ref(b_.rule_of({next, {}}));
  }

  // ---- objects ----

  Elem object(const json& s, const std::string& where, int depth) {
    std::vector<std::pair<std::string, Elem>> props;
    std::vector<bool> required;
    std::set<std::string> req;
    if (s.contains("required")) {
      if (!s["required"].is_array()) invalid(join(where, "required"), "'required' must be an array");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) invalid(join(where, "required"), "'required' entries must be strings");
        req.insert(r.get<std::string>());
      }
    }
    // Properties that are better left out: triggers of dependencies (unless required: then their
    // dependencies are required too) and names a patternProperties pattern matches.
    std::set<std::string> left_out;
    if (s.contains("dependencies")) {
      const json& deps = s["dependencies"];
      if (!deps.is_object()) invalid(join(where, "dependencies"), "'dependencies' must be an object");
      for (const auto& [trigger, dep] : deps.items()) {
        if (!req.count(trigger)) {
          left_out.insert(trigger);
          continue;
        }
        if (!dep.is_array())
          unsupported(join(join(where, "dependencies"), trigger), "a schema dependency of a required property");
        for (const auto& d : dep)
          if (d.is_string()) req.insert(d.get<std::string>());
      }
    }
    std::vector<std::regex> patterns;
    if (s.contains("patternProperties")) {
      if (!s["patternProperties"].is_object())
        invalid(join(where, "patternProperties"), "'patternProperties' must be an object");
      for (const auto& [pattern, sub] : s["patternProperties"].items()) {
        try {
          patterns.emplace_back(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          unsupported(join(where, "patternProperties"), "the pattern '" + pattern + "'");
        }
      }
    }
    auto pattern_matches = [&](const std::string& name) {
      for (const auto& re : patterns)
        if (std::regex_search(name, re)) return true;
      return false;
    };
    std::set<std::string> declared;
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) invalid(join(where, "properties"), "'properties' must be an object");
      for (const auto& [name, sub] : s["properties"].items()) {
        const std::string w = join(join(where, "properties"), name);
        declared.insert(name);
        const bool nothing = (sub.is_boolean() && !sub.get<bool>()) ||
                             (sub.is_object() && sub.size() == 1 && sub.contains("not") &&
                              (sub["not"] == true || (sub["not"].is_object() && sub["not"].empty())));
        if (nothing || left_out.count(name) || pattern_matches(name)) {
          if (req.count(name) && nothing) invalid(w, "a required property that no value matches");
          if (req.count(name) && (left_out.count(name) || pattern_matches(name)))
            unsupported(w, "a required property that a 'patternProperties' pattern also matches");
          continue;
        }
        props.emplace_back(name, schema(sub, w, depth + 1));
        required.push_back(req.count(name) > 0);
      }
    }
    for (const auto& name : req)
      if (!declared.count(name)) {
        if (pattern_matches(name))
          unsupported(where, "a required property that a 'patternProperties' pattern also matches");
        props.emplace_back(name, any());
        required.push_back(true);
      }
    // Extra properties: only where the schema asks for them by a schema, or says nothing at all
    // (never beside patternProperties or dependencies, which extra names could trigger).
    std::optional<Elem> extra;
    const bool no_extra = !patterns.empty() || s.contains("dependencies");
    if (s.contains("additionalProperties")) {
      const json& ap = s["additionalProperties"];
      if (!ap.is_boolean() && !no_extra)
        extra = schema(ap, join(where, "additionalProperties"), depth + 1);
      else if (ap.is_boolean() && ap.get<bool>() && props.empty() && !no_extra)
        extra = any();
    } else if (props.empty() && !no_extra && !s.contains("properties")) {
      extra = any();
    }
    const int64_t min_props = get_count(s, "minProperties", where, 0);
    const int64_t max_props = get_count(s, "maxProperties", where, -1);
    if (min_props > static_cast<int64_t>(req.size()) && !extra)
      unsupported(join(where, "minProperties"), "'minProperties' above the number of required properties");
    if (min_props > static_cast<int64_t>(req.size()) && !props.empty())
      unsupported(join(where, "minProperties"), "'minProperties' above the number of required properties");
    if (max_props >= 0 && max_props < static_cast<int64_t>(props.size()))
      unsupported(join(where, "maxProperties"), "'maxProperties' below the number of properties");
    if (max_props >= 0 && max_props < static_cast<int64_t>(req.size()))
      invalid(where, "'maxProperties' is below the number of required properties");

    Seq body = b_.literal("{");
    body.push_back(ws());
    const size_t n = props.size();
    auto kv = [&](const std::string& name, Elem value) {
      Seq s2 = b_.literal(json(name).dump(-1, ' ', false, json::error_handler_t::replace));
      s2.push_back(ws());
      append(s2, b_.literal(":"));
      s2.push_back(ws());
      s2.push_back(value);
      s2.push_back(ws());
      return s2;
    };
    std::optional<Elem> extra_kv;
    if (extra) {
      Seq e = {string(json::object(), "")};
      e.push_back(ws());
      append(e, b_.literal(":"));
      e.push_back(ws());
      e.push_back(*extra);
      e.push_back(ws());
      extra_kv = GrammarBuilder::ref(b_.rule_of({e}));
    }
    auto comma = [&] {
      Seq c = b_.literal(",");
      c.push_back(ws());
      return c;
    };
    // after[i]: something was written, properties i.. remain; first[i]: nothing written yet.
    std::vector<Elem> after(n + 1), first(n + 1);
    {
      Seq tail;
      if (extra_kv) {
        const int64_t room = max_props < 0 ? -1 : std::max<int64_t>(0, max_props - static_cast<int64_t>(n));
        Seq one = comma();
        one.push_back(*extra_kv);
        tail.push_back(b_.repeat(one, 0, room));
      }
      after[n] = GrammarBuilder::ref(b_.rule_of({tail}));
      std::vector<Seq> start = {{}};
      if (extra_kv && max_props != 0) {
        Seq st = {*extra_kv};
        const int64_t room = max_props < 0 ? -1 : max_props - 1;
        Seq one = comma();
        one.push_back(*extra_kv);
        st.push_back(b_.repeat(one, std::max<int64_t>(0, min_props - 1), room));
        start = {st};
        if (min_props == 0) start.push_back({});
      }
      first[n] = GrammarBuilder::ref(b_.rule_of(std::move(start)));
    }
    for (size_t i = n; i-- > 0;) {
      Seq with = comma();
      append(with, kv(props[i].first, props[i].second));
      with.push_back(after[i + 1]);
      Seq lead = kv(props[i].first, props[i].second);
      lead.push_back(after[i + 1]);
      if (required[i]) {
        after[i] = GrammarBuilder::ref(b_.rule_of({with}));
        first[i] = GrammarBuilder::ref(b_.rule_of({lead}));
      } else {
        after[i] = GrammarBuilder::ref(b_.rule_of({with, {after[i + 1]}}));
        first[i] = GrammarBuilder::ref(b_.rule_of({lead, {first[i + 1]}}));
      }
    }
    body.push_back(first[0]);
    append(body, b_.literal("}"));
    return GrammarBuilder::ref(b_.rule_of({body}));
  }

  GrammarBuilder& b_;
  const json& root_;
  std::map<std::string, int32_t> refs_;
  int32_t any_ = -1;
  std::optional<Elem> ws_, char_;
};

json parse_schema(std::string_view text) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    invalid("", std::string("the schema is not valid JSON: ") + e.what());
  }
}

}  // namespace

Elem add_json_schema(GrammarBuilder& b, std::string_view schema_json) {
  const json root = parse_schema(schema_json);
  Compiler c(b, root);
  try {
    return c.schema(root, "");
  } catch (const json::exception& e) {
    invalid("", e.what());
  }
}

Elem add_any_json(GrammarBuilder& b, bool object_only) {
  const json root = json::object();
  Compiler c(b, root);
  return object_only ? c.any_object() : c.any();
}

Elem add_json_whitespace(GrammarBuilder& b) {
  return b.star({b.bytes(ByteSet().set(' ').set('\t').set('\n').set('\r'))});
}

}  // namespace oc::grammar
