// Filters (`x | name`, `x | name(args)`) and tests (`x is name`), as the reference implements
// them: which filter exists depends on the operand's type, and unknown combinations are errors.
#include <algorithm>
#include <cmath>
#include <set>

#include "template/js_string.h"
#include "template/runtime.h"

namespace oc::tmpl::detail {

bool is_test(const std::string& name) {
  static const std::set<std::string> names = {
      "boolean",  "callable", "odd",      "even",  "false", "true",    "none",      "string",  "number", "integer",
      "iterable", "mapping",  "sequence", "lower", "upper", "defined", "undefined", "equalto", "eq"};
  return names.count(name) > 0;
}

bool apply_test(const std::string& name, const RV& v, const RV* arg, bool& known) {
  known = true;
  if (name == "boolean") return v.kind == Kind::Bool;
  if (name == "callable") return v.kind == Kind::Function;
  if (name == "odd" || name == "even") {
    if (v.kind != Kind::Int) fail("cannot " + name + " on " + type_name(v));
    bool odd = std::fmod(v.n, 2) != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "false") return v.kind == Kind::Bool && !v.b;
  if (name == "true") return v.kind == Kind::Bool && v.b;
  if (name == "none") return v.is_null();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == Kind::Int;
  if (name == "iterable") return v.kind == Kind::Array || v.is_string();
  if (name == "mapping") return v.is_object();
  if (name == "sequence") return v.is_array() || v.is_object() || v.is_string();
  if (name == "lower") return v.is_string() && v.s == js::to_lower(v.s);
  if (name == "upper") return v.is_string() && v.s == js::to_upper(v.s);
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "equalto" || name == "eq") return strict_equals(v, arg ? *arg : RV::undefined());
  known = false;
  return false;
}

int compare_values(const RV& a, const RV& b, bool case_sensitive) {
  if (a.is_null() && b.is_null()) return 0;
  if (a.is_null() || b.is_null()) fail(std::string("Cannot compare ") + type_name(a) + " with " + type_name(b));
  if (a.is_undefined() && b.is_undefined()) return 0;
  if (a.is_undefined() || b.is_undefined())
    fail(std::string("Cannot compare ") + type_name(a) + " with " + type_name(b));
  auto numeric = [](const RV& v) { return v.is_number() || v.kind == Kind::Bool; };
  if (numeric(a) && numeric(b)) {
    double x = a.kind == Kind::Bool ? (a.b ? 1 : 0) : a.n;
    double y = b.kind == Kind::Bool ? (b.b ? 1 : 0) : b.n;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind != b.kind) fail(std::string("Cannot compare different types: ") + type_name(a) + " and " + type_name(b));
  if (a.is_string()) {
    if (case_sensitive) return js::utf16_compare(a.s, b.s);
    return js::utf16_compare(js::to_lower(a.s), js::to_lower(b.s));
  }
  fail(std::string("Cannot compare type: ") + type_name(a));
}

RV attribute_path(const RV& item, const std::string& path) {
  RV value = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (value.is_container()) {
      const RV* v = value.obj->find(part);
      value = v ? *v : RV::undefined();
    } else if (value.is_array()) {
      double index = js::parse_int(part);
      if (std::isnan(index) || index < 0 || index >= static_cast<double>(value.arr->size())) return RV::undefined();
      RV next = (*value.arr)[static_cast<size_t>(index)];
      value = next;
    } else {
      return RV::undefined();
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return value;
}

namespace {

const RV* kw(const RObject& kwargs, const char* name) { return kwargs.find(name); }
RV pick(const Args& args, size_t i, const RObject& kwargs, const char* name, RV fallback) {
  if (i < args.size()) return args[i];
  if (const RV* k = kwargs.find(name)) return *k;
  return fallback;
}

// Array#join on raw values: null and undefined become empty strings.
std::string join_values(const RArray& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    if (!items[i].is_null() && !items[i].is_undefined()) out += js_string(items[i]);
  }
  return out;
}

std::string indent_lines(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::string out;
  size_t start = 0, line = 0;
  while (true) {
    size_t nl = s.find('\n', start);
    std::string part = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (line) out += '\n';
    bool skip = (!first && line == 0) || (!blank && part.empty());
    if (!skip) out += pad;
    out += part;
    if (nl == std::string::npos) break;
    start = nl + 1;
    ++line;
  }
  return out;
}

RV to_json_filter(Interpreter& in, const RV& operand, const RObject& kwargs) {
  RV indent = kw(kwargs, "indent") ? *kw(kwargs, "indent") : RV::null();
  if (indent.kind != Kind::Int && !indent.is_null()) fail("If set, indent must be a number");
  RV ensure_ascii = kw(kwargs, "ensure_ascii") ? *kw(kwargs, "ensure_ascii") : RV::boolean(false);
  if (ensure_ascii.kind != Kind::Bool) fail("If set, ensure_ascii must be a boolean");
  RV sort_keys = kw(kwargs, "sort_keys") ? *kw(kwargs, "sort_keys") : RV::boolean(false);
  if (sort_keys.kind != Kind::Bool) fail("If set, sort_keys must be a boolean");
  RV separators = kw(kwargs, "separators") ? *kw(kwargs, "separators") : RV::null();
  JsonOptions o;
  if (separators.is_array()) {
    if (separators.arr->size() != 2) fail("separators must be a tuple of two strings");
    const RV& a = (*separators.arr)[0];
    const RV& b = (*separators.arr)[1];
    if (!a.is_string() || !b.is_string()) fail("separators must be a tuple of two strings");
    o.has_separators = true;
    o.item_sep = a.s;
    o.key_sep = b.s;
  } else if (!separators.is_null()) {
    fail("If set, separators must be a tuple of two strings");
  }
  if (indent.kind == Kind::Int) {
    if (indent.n > 1000) fail("indent is too large");
    o.indent = indent.n > 0 ? static_cast<int>(indent.n) : 0;
  }
  o.ensure_ascii = ensure_ascii.b;
  o.sort_keys = sort_keys.b;
  std::string s = to_json(operand, o);
  in.check_size(s.size());
  return RV::string(std::move(s));
}

RV sort_array(Interpreter& in, const RV& operand, const Args& args, const RObject& kwargs) {
  RV reverse = pick(args, 0, kwargs, "reverse", RV::boolean(false));
  if (reverse.kind != Kind::Bool) fail("reverse must be a boolean");
  RV case_sensitive = pick(args, 1, kwargs, "case_sensitive", RV::boolean(false));
  if (case_sensitive.kind != Kind::Bool) fail("case_sensitive must be a boolean");
  RV attribute = pick(args, 2, kwargs, "attribute", RV::null());
  if (!attribute.is_string() && attribute.kind != Kind::Int && !attribute.is_null())
    fail("attribute must be a string, integer, or null");
  auto key = [&](const RV& item) {
    if (attribute.is_null()) return item;
    return attribute_path(item, attribute.is_string() ? attribute.s : js::number(attribute.n));
  };
  RArray items = *operand.arr;
  in.charge(items.size());
  std::stable_sort(items.begin(), items.end(), [&](const RV& a, const RV& b) {
    int r = compare_values(key(a), key(b), case_sensitive.b);
    return (reverse.b ? -r : r) < 0;
  });
  return RV::array(std::move(items));
}

RV apply_plain(Interpreter& in, RV operand, const std::string& name) {
  if (name == "safe") return operand;
  if (name == "tojson") {
    std::string s = to_json(operand, {});
    in.check_size(s.size());
    return RV::string(std::move(s));
  }
  if (operand.is_array()) {
    const RArray& a = *operand.arr;
    if (name == "list") return operand;
    if (name == "first") return a.empty() ? RV::undefined() : a.front();
    if (name == "last") return a.empty() ? RV::undefined() : a.back();
    if (name == "length") return RV::integer(static_cast<double>(a.size()));
    if (name == "reverse") {
      RArray r(a.rbegin(), a.rend());
      return RV::array(std::move(r));
    }
    if (name == "sort") return sort_array(in, operand, {}, {});
    if (name == "join") {
      std::string s = join_values(a, "");
      in.check_size(s.size());
      return RV::string(std::move(s));
    }
    if (name == "string") return RV::string(to_json(operand, {}, 0, false));
    if (name == "unique") {
      RArray out;
      for (const auto& item : a) {
        bool seen = false;
        for (const auto& o : out)
          if (strict_equals(o, item) || (o.is_number() && item.is_number() && std::isnan(o.n) && std::isnan(item.n)))
            seen = true;
        if (!seen) out.push_back(item);
        in.charge(out.size());
      }
      return RV::array(std::move(out));
    }
    fail("Unknown ArrayValue filter: " + name);
  }
  if (operand.is_string()) {
    const std::string& s = operand.s;
    if (name == "length") return RV::integer(static_cast<double>(js::utf16_length(s)));
    if (name == "upper") return RV::string(js::to_upper(s));
    if (name == "lower") return RV::string(js::to_lower(s));
    if (name == "title") return RV::string(js::title(s));
    if (name == "capitalize") return RV::string(js::capitalize(s));
    if (name == "trim") return RV::string(js::trim(s));
    if (name == "indent") return RV::string(indent_lines(s, "    ", false, false));
    if (name == "join" || name == "string") return operand;
    if (name == "int") {
      double v = js::parse_int(s);
      return RV::integer(std::isnan(v) ? 0 : v);
    }
    if (name == "float") {
      double v = js::parse_float(s);
      return RV::floating(std::isnan(v) ? 0 : v);
    }
    fail("Unknown StringValue filter: " + name);
  }
  if (operand.is_number()) {
    if (name == "abs")
      return operand.kind == Kind::Int ? RV::integer(std::fabs(operand.n)) : RV::floating(std::fabs(operand.n));
    if (name == "int") return RV::integer(std::floor(operand.n));
    if (name == "float") return RV::floating(operand.n);
    if (name == "string") return RV::string(display(operand));
    fail("Unknown NumericValue filter: " + name);
  }
  if (operand.is_object()) {
    if (name == "items") {
      RArray out;
      for (const auto& [k, v] : operand.obj->items) out.push_back(RV::array({RV::string(k), v}));
      return RV::array(std::move(out));
    }
    if (name == "length") return RV::integer(static_cast<double>(operand.obj->items.size()));
    RV builtin = member_builtin(in, operand, name);
    if (builtin.kind == Kind::Function) {
      Args none;
      return (*builtin.fn)(none, nullptr);
    }
    if (!builtin.is_undefined()) return builtin;
    fail("Unknown ObjectValue filter: " + name);
  }
  if (operand.kind == Kind::Bool) {
    if (name == "bool") return RV::boolean(operand.b);
    if (name == "int") return RV::integer(operand.b ? 1 : 0);
    if (name == "float") return RV::floating(operand.b ? 1 : 0);
    if (name == "string") return RV::string(operand.b ? "true" : "false");
    fail("Unknown BooleanValue filter: " + name);
  }
  fail("Cannot apply filter \"" + name + "\" to type: " + type_name(operand));
}

RV select_attr(Interpreter& in, const RV& operand, const Node& call, const std::string& name,
               const std::shared_ptr<Env>& env) {
  bool select = name == "selectattr";
  for (const auto& item : *operand.arr)
    if (!item.is_container()) fail("`" + name + "` can only be applied to array of objects");
  for (const auto& a : call.list)
    if (a->kind != NodeKind::StringLit) fail("arguments of `" + name + "` must be strings");
  Args args;
  for (const auto& a : call.list) args.push_back(in.eval(a.get(), env));
  if (args.empty()) fail("`" + name + "` requires an attribute name");
  const std::string& attr = args[0].s;
  const RV* test_value = args.size() > 2 ? &args[2] : nullptr;
  if (args.size() > 1 && !is_test(args[1].s)) fail("Unknown test: " + args[1].s);
  RArray out;
  for (const auto& item : *operand.arr) {
    in.charge(1);
    const RV* a = item.obj->find(attr);
    bool result = false;
    if (a) {
      if (args.size() > 1) {
        bool known = true;
        result = apply_test(args[1].s, *a, test_value, known);
      } else {
        result = truthy(*a);
      }
    }
    if (select == result) out.push_back(item);
  }
  return RV::array(std::move(out));
}

}  // namespace

RV apply_filter(Interpreter& in, RV operand, const Node& filter, const std::shared_ptr<Env>& env) {
  if (filter.kind == NodeKind::Identifier) return apply_plain(in, std::move(operand), filter.str);
  if (filter.kind != NodeKind::Call) fail("Unknown filter");
  if (filter.a->kind != NodeKind::Identifier) fail("Unknown filter");
  const std::string& name = filter.a->str;

  if (name == "tojson") {
    auto [args, kwargs] = in.eval_args(filter.list, env);
    return to_json_filter(in, operand, kwargs);
  }
  if (name == "join") {
    RArray values;
    if (operand.is_string()) {
      for (auto& c : js::code_points(operand.s)) values.push_back(RV::string(std::move(c)));
    } else if (operand.is_array()) {
      values = *operand.arr;
    } else {
      fail("Cannot apply filter \"" + name + "\" to type: " + type_name(operand));
    }
    auto [args, kwargs] = in.eval_args(filter.list, env);
    RV sep = pick(args, 0, kwargs, "separator", RV::string(""));
    if (!sep.is_string()) fail("separator must be a string");
    std::string s = join_values(values, sep.s);
    in.check_size(s.size());
    return RV::string(std::move(s));
  }
  if (name == "int" || name == "float") {
    auto [args, kwargs] = in.eval_args(filter.list, env);
    bool is_int = name == "int";
    RV fallback = pick(args, 0, kwargs, "default", is_int ? RV::integer(0) : RV::floating(0));
    if (operand.is_string()) {
      double v = is_int ? js::parse_int(operand.s) : js::parse_float(operand.s);
      if (std::isnan(v)) return fallback;
      return is_int ? RV::integer(v) : RV::floating(v);
    }
    if (operand.is_number()) return operand;
    if (operand.kind == Kind::Bool) return is_int ? RV::integer(operand.b ? 1 : 0) : RV::floating(operand.b ? 1 : 0);
    fail("Cannot apply filter \"" + name + "\" to type: " + type_name(operand));
  }
  if (name == "default") {
    auto [args, kwargs] = in.eval_args(filter.list, env);
    RV fallback = args.size() > 0 ? args[0] : RV::string("");
    RV boolean = pick(args, 1, kwargs, "boolean", RV::boolean(false));
    if (boolean.kind != Kind::Bool) fail("`default` filter flag must be a boolean");
    if (operand.is_undefined() || (boolean.b && !truthy(operand))) return fallback;
    return operand;
  }

  if (operand.is_array()) {
    if (name == "sort") {
      auto [args, kwargs] = in.eval_args(filter.list, env);
      return sort_array(in, operand, args, kwargs);
    }
    if (name == "selectattr" || name == "rejectattr") return select_attr(in, operand, filter, name, env);
    if (name == "map") {
      auto [args, kwargs] = in.eval_args(filter.list, env);
      const RV* attr = kwargs.find("attribute");
      if (!attr) fail("`map` expressions without `attribute` set are not currently supported.");
      if (!attr->is_string()) fail("attribute must be a string");
      const RV* fallback = kwargs.find("default");
      RArray out;
      for (const auto& item : *operand.arr) {
        in.charge(1);
        if (!item.is_container()) fail("items in map must be an object");
        RV v = attribute_path(item, attr->s);
        out.push_back(v.is_undefined() ? (fallback ? *fallback : RV::undefined()) : v);
      }
      return RV::array(std::move(out));
    }
    fail("Unknown ArrayValue filter: " + name);
  }
  if (operand.is_string()) {
    if (name == "indent") {
      auto [args, kwargs] = in.eval_args(filter.list, env);
      RV width = pick(args, 0, kwargs, "width", RV::integer(4));
      if (width.kind != Kind::Int) fail("width must be a number");
      RV first = pick(args, 1, kwargs, "first", RV::boolean(false));
      RV blank = pick(args, 2, kwargs, "blank", RV::boolean(false));
      if (width.n > 1000) fail("width is too large");
      std::string pad(width.n > 0 ? static_cast<size_t>(width.n) : 0, ' ');
      std::string s = indent_lines(operand.s, pad, truthy(first), truthy(blank));
      in.check_size(s.size());
      return RV::string(std::move(s));
    }
    if (name == "replace") {
      auto [args, kwargs] = in.eval_args(filter.list, env);
      args.push_back(RV::object(std::move(kwargs), Kind::KwArgs));
      RV fn = member_builtin(in, operand, "replace");
      return (*fn.fn)(args, env);
    }
    fail("Unknown StringValue filter: " + name);
  }
  if (operand.is_object()) {
    RV builtin = member_builtin(in, operand, name);
    if (builtin.kind == Kind::Function) {
      auto [args, kwargs] = in.eval_args(filter.list, env);
      if (!kwargs.items.empty()) args.push_back(RV::object(std::move(kwargs), Kind::KwArgs));
      return (*builtin.fn)(args, env);
    }
    fail("Unknown ObjectValue filter: " + name);
  }
  fail("Cannot apply filter \"" + name + "\" to type: " + type_name(operand));
}

}  // namespace oc::tmpl::detail
