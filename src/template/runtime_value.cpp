#include <algorithm>
#include <cmath>

#include "template/js_string.h"
#include "template/runtime.h"

namespace oc::tmpl::detail {

const RV* RObject::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}
RV* RObject::find(std::string_view key) {
  for (auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}
namespace {
thread_local Interpreter* current_interpreter = nullptr;
}  // namespace

ActiveInterpreter::ActiveInterpreter(Interpreter* in) : previous_(current_interpreter) { current_interpreter = in; }
ActiveInterpreter::~ActiveInterpreter() { current_interpreter = previous_; }

void account_work(size_t bytes) {
  if (Interpreter* in = current_interpreter) {
    in->charge(1);
    in->check_size(bytes);
  }
}

uint32_t nest_depth(const RV& v) {
  if (v.is_array()) return v.depth;
  if (v.is_container()) return v.obj->depth;
  return 0;
}

namespace {
uint32_t checked_depth(uint32_t d) {
  if (d > kMaxValueDepth) fail("Value nested too deeply (over " + std::to_string(kMaxValueDepth) + " levels)");
  return d;
}
}  // namespace

RV RV::array(RArray v, Kind k) {
  uint32_t d = 0;
  for (const auto& x : v) d = std::max(d, nest_depth(x));
  RV r = make(k);
  r.depth = checked_depth(d + 1);
  r.arr = std::make_shared<RArray>(std::move(v));
  return r;
}

RV RV::object(RObject v, Kind k) {
  uint32_t d = 0;
  for (const auto& [key, x] : v.items) d = std::max(d, nest_depth(x));
  v.depth = checked_depth(d + 1);
  RV r = make(k);
  r.obj = std::make_shared<RObject>(std::move(v));
  return r;
}

void RObject::set(const std::string& key, RV value) {
  depth = std::max(depth, checked_depth(nest_depth(value) + 1));
  if (RV* v = find(key))
    *v = std::move(value);
  else
    items.emplace_back(key, std::move(value));
}
bool RObject::erase(std::string_view key) {
  for (auto it = items.begin(); it != items.end(); ++it) {
    if (it->first == key) {
      items.erase(it);
      return true;
    }
  }
  return false;
}

const char* type_name(const RV& v) {
  switch (v.kind) {
    case Kind::Undefined:
      return "UndefinedValue";
    case Kind::Null:
      return "NullValue";
    case Kind::Bool:
      return "BooleanValue";
    case Kind::Int:
      return "IntegerValue";
    case Kind::Float:
      return "FloatValue";
    case Kind::String:
      return "StringValue";
    case Kind::Array:
      return "ArrayValue";
    case Kind::Tuple:
      return "TupleValue";
    case Kind::Object:
      return "ObjectValue";
    case Kind::KwArgs:
      return "KeywordArgumentsValue";
    case Kind::Namespace:
      return "NamespaceValue";
    case Kind::Function:
      return "FunctionValue";
  }
  return "?";
}

bool truthy(const RV& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null:
      return false;
    case Kind::Bool:
      return v.b;
    case Kind::Int:
    case Kind::Float:
      return v.n != 0 && !std::isnan(v.n);
    case Kind::String:
      return !v.s.empty();
    case Kind::Array:
    case Kind::Tuple:
      return !v.arr->empty();
    case Kind::Object:
    case Kind::KwArgs:
      return !v.obj->items.empty();
    case Kind::Namespace:
    case Kind::Function:
      return true;
  }
  return false;
}

std::string display(const RV& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null:  // the reference's NullValue holds JavaScript's undefined
      return "undefined";
    case Kind::Bool:
      return v.b ? "true" : "false";
    case Kind::Int:
      return js::number(v.n);
    case Kind::Float:
      return js::float_display(v.n);
    case Kind::String:
      return v.s;
    case Kind::Array:
    case Kind::Tuple:
    case Kind::Object:
    case Kind::KwArgs:
    case Kind::Namespace:
      return to_json(v, {}, 0, false);
    case Kind::Function:
      return "function () { [native code] }";
  }
  return {};
}

std::string js_string(const RV& v) {
  switch (v.kind) {
    case Kind::Int:
    case Kind::Float:
      return js::number(v.n);
    case Kind::Array:
    case Kind::Tuple: {
      std::string out;
      for (size_t i = 0; i < v.arr->size(); ++i) {
        if (i) out += ',';
        out += display((*v.arr)[i]);
        account_work(out.size());
      }
      return out;
    }
    case Kind::Object:
    case Kind::KwArgs:
    case Kind::Namespace:
      return "[object Map]";
    default:
      return display(v);
  }
}

namespace {
// The JavaScript value the reference compares: a primitive or an object identity.
struct Prim {
  enum T { Undef, Null, Bool, Num, Str, Obj } t;
  double n = 0;
  bool b = false;
  std::string s;
  const void* id = nullptr;
  const RV* src = nullptr;
};

Prim prim(const RV& v) {
  Prim p{Prim::Undef};
  p.src = &v;
  switch (v.kind) {
    case Kind::Undefined:
      p.t = Prim::Undef;
      break;
    case Kind::Null:  // NullValue's value is undefined in the reference
      p.t = Prim::Undef;
      break;
    case Kind::Bool:
      p.t = Prim::Bool, p.b = v.b;
      break;
    case Kind::Int:
    case Kind::Float:
      p.t = Prim::Num, p.n = v.n;
      break;
    case Kind::String:
      p.t = Prim::Str, p.s = v.s;
      break;
    case Kind::Array:
    case Kind::Tuple:
      p.t = Prim::Obj, p.id = v.arr.get();
      break;
    case Kind::Object:
    case Kind::KwArgs:
    case Kind::Namespace:
      p.t = Prim::Obj, p.id = v.obj.get();
      break;
    case Kind::Function:
      p.t = Prim::Obj, p.id = v.fn.get();
      break;
  }
  return p;
}

bool loose(const Prim& x, const Prim& y) {
  if (x.t == y.t) {
    switch (x.t) {
      case Prim::Undef:
      case Prim::Null:
        return true;
      case Prim::Bool:
        return x.b == y.b;
      case Prim::Num:
        return x.n == y.n;
      case Prim::Str:
        return x.s == y.s;
      case Prim::Obj:
        return x.id == y.id;
    }
  }
  auto nullish = [](const Prim& p) { return p.t == Prim::Undef || p.t == Prim::Null; };
  if (nullish(x) || nullish(y)) return nullish(x) && nullish(y);
  if (x.t == Prim::Num && y.t == Prim::Str) return x.n == js::to_number(y.s);
  if (x.t == Prim::Str && y.t == Prim::Num) return js::to_number(x.s) == y.n;
  auto to_num = [](const Prim& p) {
    Prim q{Prim::Num};
    q.n = p.b ? 1 : 0;
    return q;
  };
  if (x.t == Prim::Bool) return loose(to_num(x), y);
  if (y.t == Prim::Bool) return loose(x, to_num(y));
  auto to_prim = [](const Prim& p) {
    Prim q{Prim::Str};
    q.s = js_string(*p.src);
    return q;
  };
  if (x.t == Prim::Obj) return loose(to_prim(x), y);
  if (y.t == Prim::Obj) return loose(x, to_prim(y));
  return false;
}
}  // namespace

bool loose_equals(const RV& a, const RV& b) { return loose(prim(a), prim(b)); }

bool strict_equals(const RV& a, const RV& b) {
  Prim x = prim(a), y = prim(b);
  if (x.t != y.t) return false;
  switch (x.t) {
    case Prim::Undef:
    case Prim::Null:
      return true;
    case Prim::Bool:
      return x.b == y.b;
    case Prim::Num:
      return x.n == y.n;
    case Prim::Str:
      return x.s == y.s;
    case Prim::Obj:
      return x.id == y.id;
  }
  return false;
}

std::string to_json(const RV& v, const JsonOptions& o, int depth, bool undefined_as_null) {
  account_work(0);
  std::string item_sep = o.has_separators ? o.item_sep : o.indent ? "," : ", ";
  std::string key_sep = o.has_separators ? o.key_sep : ": ";
  switch (v.kind) {
    case Kind::Null:
      return "null";
    case Kind::Undefined:
      return undefined_as_null ? "null" : "undefined";
    case Kind::Int:
    case Kind::Float:
      return std::isfinite(v.n) ? js::number(v.n) : "null";
    case Kind::Bool:
      return v.b ? "true" : "false";
    case Kind::String:
      return js::json_quote(v.s, o.ensure_ascii);
    case Kind::Tuple:
      fail("Cannot convert to JSON: TupleValue");
    case Kind::Array:
    case Kind::Object:
    case Kind::KwArgs:
    case Kind::Namespace: {
      std::string indent(static_cast<size_t>(o.indent), ' ');
      std::string base = "\n";
      for (int i = 0; i < depth; ++i) base += indent;
      std::string child = base + indent;
      std::vector<std::string> core;
      if (v.is_array()) {
        for (const auto& x : *v.arr) core.push_back(to_json(x, o, depth + 1, undefined_as_null));
        std::string out = "[";
        if (o.indent && !core.empty()) {
          out += child;
          for (size_t i = 0; i < core.size(); ++i) out += (i ? item_sep + child : "") + core[i];
          out += base;
        } else {
          for (size_t i = 0; i < core.size(); ++i) out += (i ? item_sep : "") + core[i];
        }
        account_work(out.size());
        return out + "]";
      }
      std::vector<const std::pair<std::string, RV>*> entries;
      for (const auto& e : v.obj->items) entries.push_back(&e);
      if (o.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return js::locale_compare(a->first, b->first) < 0; });
      for (const auto* e : entries) {
        std::string item =
            js::json_quote(e->first, o.ensure_ascii) + key_sep + to_json(e->second, o, depth + 1, undefined_as_null);
        core.push_back(o.indent ? child + item : item);
      }
      std::string out = "{";
      for (size_t i = 0; i < core.size(); ++i) out += (i ? item_sep : "") + core[i];
      if (o.indent && !core.empty()) out += base;
      account_work(out.size());
      return out + "}";
    }
    case Kind::Function:
      fail("Cannot convert to JSON: FunctionValue");
  }
  return {};
}

RV from_value(const Value& v) {
  if (v.is_undefined()) return RV::undefined();
  if (v.is_null()) return RV::null();
  if (v.is_bool()) return RV::boolean(v.as_bool());
  if (v.is_int()) return RV::integer(static_cast<double>(v.as_int()));
  if (v.is_double()) {
    double d = v.as_double();
    // A JavaScript number is an integer value when it has no fraction.
    return std::isfinite(d) && std::trunc(d) == d ? RV::integer(d) : RV::floating(d);
  }
  if (v.is_string()) return RV::string(v.as_string());
  if (v.is_array()) {
    RArray out;
    out.reserve(v.as_array().size());
    for (const auto& x : v.as_array()) out.push_back(from_value(x));
    return RV::array(std::move(out));
  }
  RObject o;
  for (const auto& [k, x] : v.as_object()) o.set(k, from_value(x));
  return RV::object(std::move(o));
}

Value to_value(const RV& v) {
  switch (v.kind) {
    case Kind::Undefined:
      return Value();
    case Kind::Null:
      return Value(nullptr);
    case Kind::Bool:
      return Value(v.b);
    case Kind::Int:
      if (std::fabs(v.n) < 9.2e18) return Value(static_cast<int64_t>(v.n));
      return Value(v.n);
    case Kind::Float:
      return Value(v.n);
    case Kind::String:
      return Value(v.s);
    case Kind::Array:
    case Kind::Tuple: {
      Array a;
      for (const auto& x : *v.arr) a.push_back(to_value(x));
      return Value(std::move(a));
    }
    case Kind::Object:
    case Kind::KwArgs:
    case Kind::Namespace: {
      Object o;
      for (const auto& [k, x] : v.obj->items) o.emplace_back(k, to_value(x));
      return Value(std::move(o));
    }
    case Kind::Function:
      return Value();
  }
  return Value();
}

RV Env::lookup(std::string_view name) const {
  for (const Env* e = this; e; e = e->parent.get())
    for (const auto& [k, v] : e->vars)
      if (k == name) return v;
  return RV::undefined();
}

void Env::set(const std::string& name, RV value) {
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(name, std::move(value));
}

}  // namespace oc::tmpl::detail
