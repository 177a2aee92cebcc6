// The evaluator: statements and expressions, scoping, loops, macros, and the limits that keep a
// template from running forever or growing without bound.
#include <cmath>

#include "template/js_string.h"
#include "template/lexer.h"
#include "template/runtime.h"

namespace oc::tmpl::detail {
namespace {

struct BreakSignal {};
struct ContinueSignal {};

const char* node_type_name(NodeKind k) {
  switch (k) {
    case NodeKind::Identifier:
      return "Identifier";
    case NodeKind::Member:
      return "MemberExpression";
    case NodeKind::Call:
      return "CallExpression";
    case NodeKind::StringLit:
      return "StringLiteral";
    case NodeKind::IntLit:
      return "IntegerLiteral";
    case NodeKind::FloatLit:
      return "FloatLiteral";
    case NodeKind::TupleLit:
      return "TupleLiteral";
    case NodeKind::ArrayLit:
      return "ArrayLiteral";
    case NodeKind::ObjectLit:
      return "ObjectLiteral";
    default:
      return "Expression";
  }
}

bool numeric_like(const RV& v) { return v.is_number() || v.kind == Kind::Bool; }
double numeric_value(const RV& v) { return v.kind == Kind::Bool ? (v.b ? 1 : 0) : v.n; }

}  // namespace

Interpreter::Interpreter(const std::string& source, const RenderLimits& limits,
                         std::chrono::system_clock::time_point now)
    : source_(source), limits_(limits), now_(now) {}

void Interpreter::charge(size_t steps) {
  steps_ += steps;
  if (steps_ > limits_.max_steps)
    fail("Template exceeded the step limit (" + std::to_string(limits_.max_steps) + " steps)");
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    fail("Template output exceeded the size limit (" + std::to_string(limits_.max_output_bytes) + " bytes)");
}

std::string Interpreter::run(const Node& program, const Value& context) {
  ActiveInterpreter active(this);
  auto global = std::make_shared<Env>();
  install_globals(*this, *global);
  try {
    if (context.is_object()) {
      for (const auto& [key, value] : context.as_object()) {
        for (const auto& [k, v] : global->vars)
          if (k == key) fail("Variable already declared: " + key);
        global->vars.emplace_back(key, from_value(value));
      }
    }
  } catch (const RuntimeError& e) {
    throw TemplateError(e.message);
  }
  try {
    return eval_block(program.body, global);
  } catch (const BreakSignal&) {
    throw TemplateError("break outside of a loop");
  } catch (const ContinueSignal&) {
    throw TemplateError("continue outside of a loop");
  } catch (const RuntimeError& e) {
    throw TemplateError(e.message);
  }
}

RV Interpreter::eval(const Node* node, const std::shared_ptr<Env>& env) {
  if (!node) return RV::undefined();
  struct Depth {
    size_t& d;
    explicit Depth(size_t& depth) : d(depth) { ++d; }
    ~Depth() { --d; }
  } depth(depth_);
  try {
    charge(1);
    if (depth_ > limits_.max_depth)
      fail("Template exceeded the nesting limit (" + std::to_string(limits_.max_depth) + " levels)");
    return eval_node(*node, env);
  } catch (const RuntimeError& e) {
    int line, column;
    line_column(source_, node->pos, line, column);
    throw TemplateError(e.message, line, column);
  }
}

std::string Interpreter::eval_block(const std::vector<NodePtr>& body, const std::shared_ptr<Env>& env) {
  std::string out;
  for (const auto& stmt : body) {
    if (stmt->kind == NodeKind::Text) {
      charge(1);
      out += stmt->str;
    } else {
      RV v = eval(stmt.get(), env);
      if (v.kind == Kind::String)
        out += v.s;
      else if (v.kind != Kind::Null && v.kind != Kind::Undefined)
        out += display(v);
    }
    check_size(out.size());
  }
  return out;
}

std::pair<Args, RObject> Interpreter::eval_args(const std::vector<NodePtr>& args, const std::shared_ptr<Env>& env) {
  Args positional;
  RObject keywords;
  for (const auto& a : args) {
    if (a->kind == NodeKind::Spread) {
      RV v = eval(a->a.get(), env);
      if (!v.is_array()) fail(std::string("Cannot unpack non-iterable type: ") + type_name(v));
      for (const auto& x : *v.arr) positional.push_back(x);
    } else if (a->kind != NodeKind::KwArg && a->kind != NodeKind::KwSpread) {
      positional.push_back(eval(a.get(), env));
    }
  }
  auto add = [&](const std::string& key, RV value) {
    if (keywords.find(key)) fail("Got multiple values for keyword argument '" + key + "'");
    keywords.items.emplace_back(key, std::move(value));
  };
  for (const auto& a : args) {
    if (a->kind == NodeKind::KwArg) {
      add(a->str, eval(a->a.get(), env));
    } else if (a->kind == NodeKind::KwSpread) {
      RV v = eval(a->a.get(), env);
      if (!v.is_object()) fail(std::string("Argument after ** must be a mapping, not ") + type_name(v));
      for (const auto& [k, x] : v.obj->items) add(k, x);
    }
  }
  return {std::move(positional), std::move(keywords)};
}

RV Interpreter::eval_node(const Node& n, const std::shared_ptr<Env>& env) {
  switch (n.kind) {
    case NodeKind::Program:
      return RV::string(eval_block(n.body, env));
    case NodeKind::Text:
    case NodeKind::StringLit:
      return RV::string(n.str);
    case NodeKind::IntLit:
      return RV::integer(n.num);
    case NodeKind::FloatLit:
      return RV::floating(n.num);
    case NodeKind::ArrayLit:
    case NodeKind::TupleLit: {
      RArray items;
      for (const auto& x : n.list) items.push_back(eval(x.get(), env));
      return RV::array(std::move(items), n.kind == NodeKind::TupleLit ? Kind::Tuple : Kind::Array);
    }
    case NodeKind::ObjectLit: {
      RObject o;
      for (size_t i = 0; i + 1 < n.list.size(); i += 2) {
        RV key = eval(n.list[i].get(), env);
        if (!key.is_string()) fail(std::string("Object keys must be strings: got ") + type_name(key));
        o.set(key.s, eval(n.list[i + 1].get(), env));
      }
      return RV::object(std::move(o));
    }
    case NodeKind::Identifier:
      return env->lookup(n.str);
    case NodeKind::Member:
      return eval_member(n, env);
    case NodeKind::Call:
      return eval_call(n, env);
    case NodeKind::Binary:
      return eval_binary(n, env);
    case NodeKind::Unary:
      return eval_unary(n, env);
    case NodeKind::Filter: {
      RV operand = eval(n.a.get(), env);
      return apply_filter(*this, std::move(operand), *n.b, env);
    }
    case NodeKind::FilterBlock: {
      RV rendered = RV::string(eval_block(n.body, env));
      return apply_filter(*this, std::move(rendered), *n.a, env);
    }
    case NodeKind::Test: {
      RV operand = eval(n.a.get(), env);
      bool known = false;
      bool result = apply_test(n.str, operand, nullptr, known);
      if (!known) fail("Unknown test: " + n.str);
      return RV::boolean(n.flag ? !result : result);
    }
    case NodeKind::Select: {
      RV test = eval(n.b.get(), env);
      if (!truthy(test)) return RV::undefined();
      return eval(n.a.get(), env);
    }
    case NodeKind::Ternary: {
      RV cond = eval(n.a.get(), env);
      return truthy(cond) ? eval(n.b.get(), env) : eval(n.c.get(), env);
    }
    case NodeKind::If: {
      RV test = eval(n.a.get(), env);
      return RV::string(eval_block(truthy(test) ? n.body : n.alt, env));
    }
    case NodeKind::For:
      return eval_for(n, env);
    case NodeKind::Break:
      throw BreakSignal{};
    case NodeKind::Continue:
      throw ContinueSignal{};
    case NodeKind::Set:
      return eval_set(n, env);
    case NodeKind::Macro:
      return eval_macro(n, env);
    case NodeKind::CallBlock:
      return eval_call_block(n, env);
    case NodeKind::Comment:
      return RV::null();
    default:
      fail("Unknown node type");
  }
}

RV Interpreter::eval_binary(const Node& n, const std::shared_ptr<Env>& env) {
  const std::string& op = n.str;
  RV left = eval(n.a.get(), env);
  if (op == "and") return truthy(left) ? eval(n.b.get(), env) : left;
  if (op == "or") return truthy(left) ? left : eval(n.b.get(), env);
  RV right = eval(n.b.get(), env);
  if (op == "==") return RV::boolean(loose_equals(left, right));
  if (op == "!=") return RV::boolean(!loose_equals(left, right));

  if (left.is_undefined() || right.is_undefined()) {
    if (right.is_undefined() && (op == "in" || op == "not in")) return RV::boolean(op == "not in");
    fail("Cannot perform operation " + op + " on undefined values");
  }
  if (left.is_null() || right.is_null()) fail("Cannot perform operation on null values");
  if (op == "~") {
    std::string s = js_string(left) + js_string(right);
    check_size(s.size());
    return RV::string(std::move(s));
  }
  if (op == "**" && numeric_like(left) && numeric_like(right)) {
    double a = numeric_value(left), b = numeric_value(right);
    if (a == 0 && b < 0) fail("0.0 cannot be raised to a negative power");
    double r = std::pow(a, b);
    if (!std::isfinite(r)) fail("Exponentiation result is not a finite real number");
    bool is_float = left.kind == Kind::Float || right.kind == Kind::Float || b < 0;
    return is_float ? RV::floating(r) : RV::integer(r);
  }
  if (left.is_number() && right.is_number()) {
    double a = left.n, b = right.n;
    bool is_float = left.kind == Kind::Float || right.kind == Kind::Float;
    auto num = [&](double r) { return is_float ? RV::floating(r) : RV::integer(r); };
    if (op == "+") return num(a + b);
    if (op == "-") return num(a - b);
    if (op == "*") return num(a * b);
    if (op == "/") return RV::floating(a / b);
    if (op == "//") return num(std::floor(a / b));
    if (op == "%") return num(std::fmod(a, b));
    if (op == "<") return RV::boolean(a < b);
    if (op == ">") return RV::boolean(a > b);
    if (op == ">=") return RV::boolean(a >= b);
    if (op == "<=") return RV::boolean(a <= b);
  } else if (left.is_array() && right.is_array()) {
    if (op == "+") {
      charge(16 * (left.arr->size() + right.arr->size()));  // memory too: arrays can double each time
      RArray out = *left.arr;
      out.insert(out.end(), right.arr->begin(), right.arr->end());
      return RV::array(std::move(out));
    }
  } else if (right.is_array()) {
    if (op == "in" || op == "not in") {
      bool member = false;
      for (const auto& x : *right.arr)
        if (strict_equals(x, left)) {
          member = true;
          break;
        }
      return RV::boolean(op == "in" ? member : !member);
    }
  }
  if ((left.is_string() || right.is_string()) && op == "+") {
    std::string s = js_string(left) + js_string(right);
    check_size(s.size());
    return RV::string(std::move(s));
  }
  if (left.is_string() && right.is_string()) {
    if (op == "in") return RV::boolean(right.s.find(left.s) != std::string::npos);
    if (op == "not in") return RV::boolean(right.s.find(left.s) == std::string::npos);
  }
  if (left.is_string() && right.is_object()) {
    if (op == "in") return RV::boolean(right.obj->find(left.s) != nullptr);
    if (op == "not in") return RV::boolean(right.obj->find(left.s) == nullptr);
  }
  fail("Unknown operator \"" + op + "\" between " + type_name(left) + " and " + type_name(right));
}

RV Interpreter::eval_unary(const Node& n, const std::shared_ptr<Env>& env) {
  RV arg = eval(n.a.get(), env);
  if (n.str == "not") return RV::boolean(!truthy(arg));
  double sign = n.str == "-" ? -1 : 1;
  if (arg.is_number() || arg.kind == Kind::Bool) {
    double r = sign * numeric_value(arg);
    return arg.kind == Kind::Float ? RV::floating(r) : RV::integer(r);
  }
  fail("Unknown operator \"" + n.str + "\" for " + type_name(arg));
}

RV Interpreter::eval_member(const Node& n, const std::shared_ptr<Env>& env) {
  RV object = eval(n.a.get(), env);
  RV property;
  if (n.flag) {
    if (n.b->kind == NodeKind::Slice) return eval_slice(object, *n.b, env);
    property = eval(n.b.get(), env);
  } else if (n.b->kind == NodeKind::IntLit) {
    property = RV::integer(n.b->num);
  } else {
    property = RV::string(n.b->str);
  }

  if (object.is_container()) {
    if (!property.is_string()) fail(std::string("Cannot access property with non-string: got ") + type_name(property));
    if (const RV* v = object.obj->find(property.s)) return *v;
    if (object.is_object()) return member_builtin(*this, object, property.s);
    return RV::undefined();
  }
  if (object.is_array() || object.is_string()) {
    if (property.kind == Kind::Int) {
      double idx = property.n;
      if (object.is_string()) {
        std::string ch;
        if (std::fabs(idx) < 9e15 && js::utf16_at(object.s, static_cast<int64_t>(idx), ch)) return RV::string(ch);
        return RV::undefined();
      }
      auto size = static_cast<double>(object.arr->size());
      if (idx < 0) idx += size;
      if (idx < 0 || idx >= size) return RV::undefined();
      return (*object.arr)[static_cast<size_t>(idx)];
    }
    if (property.is_string()) return member_builtin(*this, object, property.s);
    fail(std::string("Cannot access property with non-string/non-number: got ") + type_name(property));
  }
  if (!property.is_string()) fail(std::string("Cannot access property with non-string: got ") + type_name(property));
  return RV::undefined();
}

RV Interpreter::eval_slice(const RV& object, const Node& n, const std::shared_ptr<Env>& env) {
  if (!object.is_array() && !object.is_string()) fail("Slice object must be an array or string");
  RV start = eval(n.a.get(), env), stop = eval(n.b.get(), env), step = eval(n.c.get(), env);
  if (start.kind != Kind::Int && !start.is_undefined()) fail("Slice start must be numeric or undefined");
  if (stop.kind != Kind::Int && !stop.is_undefined()) fail("Slice stop must be numeric or undefined");
  if (step.kind != Kind::Int && !step.is_undefined()) fail("Slice step must be numeric or undefined");

  std::vector<std::string> chars;
  if (object.is_string()) chars = js::code_points(object.s);
  auto len = static_cast<double>(object.is_string() ? chars.size() : object.arr->size());
  double st = step.is_undefined() ? 1 : step.n;
  double dir = st > 0 ? 1 : st < 0 ? -1 : 0;
  double b, e;
  if (dir >= 0) {
    b = start.is_undefined() ? 0 : start.n;
    b = b < 0 ? std::max(len + b, 0.0) : std::min(b, len);
    e = stop.is_undefined() ? len : stop.n;
    e = e < 0 ? std::max(len + e, 0.0) : std::min(e, len);
  } else {
    b = start.is_undefined() ? len - 1 : start.n;
    b = b < 0 ? std::max(len + b, -1.0) : std::min(b, len - 1);
    e = stop.is_undefined() ? -1 : stop.n;
    e = e < -1 ? std::max(len + e, -1.0) : std::min(e, len - 1);
  }
  RArray items;
  std::string text;
  for (double i = b; dir * i < dir * e; i += st) {
    charge(1);
    auto k = static_cast<size_t>(i);
    if (object.is_string())
      text += chars[k];
    else
      items.push_back((*object.arr)[k]);
  }
  if (object.is_string()) return RV::string(std::move(text));
  return RV::array(std::move(items));
}

RV Interpreter::eval_call(const Node& n, const std::shared_ptr<Env>& env) {
  auto [args, kwargs] = eval_args(n.list, env);
  if (!kwargs.items.empty()) args.push_back(RV::object(std::move(kwargs), Kind::KwArgs));
  RV fn = eval(n.a.get(), env);
  if (fn.kind != Kind::Function)
    fail(std::string("Cannot call something that is not a function: got ") + type_name(fn));
  return (*fn.fn)(args, env);
}

RV Interpreter::eval_set(const Node& n, const std::shared_ptr<Env>& env) {
  RV rhs = n.b ? eval(n.b.get(), env) : RV::string(eval_block(n.body, env));
  const Node& target = *n.a;
  if (target.kind == NodeKind::Identifier) {
    env->set(target.str, std::move(rhs));
  } else if (target.kind == NodeKind::TupleLit) {
    if (!rhs.is_array()) fail(std::string("Cannot unpack non-iterable type in set: ") + type_name(rhs));
    if (rhs.arr->size() != target.list.size())
      fail(std::string("Too ") + (target.list.size() > rhs.arr->size() ? "few" : "many") + " items to unpack in set");
    for (size_t i = 0; i < target.list.size(); ++i) {
      const Node& el = *target.list[i];
      if (el.kind != NodeKind::Identifier)
        fail(std::string("Cannot unpack to non-identifier in set: ") + node_type_name(el.kind));
      env->set(el.str, (*rhs.arr)[i]);
    }
  } else if (target.kind == NodeKind::Member) {
    RV object = eval(target.a.get(), env);
    if (object.kind != Kind::Namespace) fail("cannot assign attribute on non-namespace object");
    if (target.b->kind != NodeKind::Identifier) fail("Cannot assign to member with non-identifier property");
    object.obj->set(target.b->str, std::move(rhs));
  } else {
    fail("Invalid LHS inside assignment expression");
  }
  return RV::null();
}

RV Interpreter::eval_for(const Node& n, const std::shared_ptr<Env>& env) {
  auto scope = std::make_shared<Env>(env);
  const Node* test = nullptr;
  RV iterable;
  if (n.b->kind == NodeKind::Select) {
    iterable = eval(n.b->a.get(), scope);
    test = n.b->b.get();
  } else {
    iterable = eval(n.b.get(), scope);
  }
  if (!iterable.is_array() && !iterable.is_object())
    fail(std::string("Expected iterable or object type in for loop: got ") + type_name(iterable));
  RArray source;
  if (iterable.is_object()) {
    for (const auto& [k, v] : iterable.obj->items) source.push_back(RV::string(k));
  } else {
    source = *iterable.arr;  // a copy: the body may not change what is iterated
  }

  const Node& var = *n.a;
  auto assign = [&](Env& target, const RV& current) {
    if (var.kind == NodeKind::Identifier) {
      target.set(var.str, current);
      return;
    }
    for (size_t j = 0; j < var.list.size(); ++j) {
      if (var.list[j]->kind != NodeKind::Identifier)
        fail(std::string("Cannot unpack non-identifier type: ") + node_type_name(var.list[j]->kind));
      target.set(var.list[j]->str, (*current.arr)[j]);
    }
  };

  RArray items;
  for (const auto& current : source) {
    charge(1);
    if (var.kind == NodeKind::TupleLit) {
      if (current.kind != Kind::Array) fail(std::string("Cannot unpack non-iterable type: ") + type_name(current));
      if (var.list.size() != current.arr->size())
        fail(std::string("Too ") + (var.list.size() > current.arr->size() ? "few" : "many") + " items to unpack");
    }
    if (test) {
      auto loop_scope = std::make_shared<Env>(scope);
      assign(*loop_scope, current);
      if (!truthy(eval(test, loop_scope))) continue;
    }
    items.push_back(current);
  }

  std::string out;
  bool no_iteration = true;
  const size_t count = items.size();
  for (size_t i = 0; i < count; ++i) {
    charge(1);
    RObject loop;
    loop.items.reserve(9);
    loop.items.emplace_back("index", RV::integer(static_cast<double>(i + 1)));
    loop.items.emplace_back("index0", RV::integer(static_cast<double>(i)));
    loop.items.emplace_back("revindex", RV::integer(static_cast<double>(count - i)));
    loop.items.emplace_back("revindex0", RV::integer(static_cast<double>(count - i - 1)));
    loop.items.emplace_back("first", RV::boolean(i == 0));
    loop.items.emplace_back("last", RV::boolean(i == count - 1));
    loop.items.emplace_back("length", RV::integer(static_cast<double>(count)));
    loop.items.emplace_back("previtem", i > 0 ? items[i - 1] : RV::undefined());
    loop.items.emplace_back("nextitem", i + 1 < count ? items[i + 1] : RV::undefined());
    scope->set("loop", RV::object(std::move(loop)));
    assign(*scope, items[i]);
    try {
      out += eval_block(n.body, scope);
      check_size(out.size());
    } catch (const ContinueSignal&) {
      continue;
    } catch (const BreakSignal&) {
      break;
    }
    no_iteration = false;
  }
  if (no_iteration) out += eval_block(n.alt, scope);
  return RV::string(std::move(out));
}

void Interpreter::bind_macro_args(const std::string& display_name, const Node& def, Args args,
                                  const std::shared_ptr<Env>& scope) {
  RObject kwargs;
  if (!args.empty() && args.back().kind == Kind::KwArgs) {
    kwargs = *args.back().obj;
    args.pop_back();
  }
  std::vector<std::pair<std::string, const Node*>> pending;
  const auto& params = def.list;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i]->str;
    const Node* default_value = params[i]->kind == NodeKind::KwArg ? params[i]->a.get() : nullptr;
    bool have = i < args.size();
    RV value = have ? args[i] : RV::undefined();
    if (!have) {
      if (RV* kw = kwargs.find(name)) {
        value = *kw;
        kwargs.erase(name);
        have = true;
      }
    }
    if (!have && default_value) pending.emplace_back(name, default_value);
    scope->set(name, std::move(value));
  }
  if (def.uses_kwargs) {
    scope->set("kwargs", RV::object(std::move(kwargs)));
  } else if (!kwargs.items.empty()) {
    fail("macro " + display_name + " takes no keyword argument '" + kwargs.items.front().first + "'");
  }
  if (def.uses_varargs) {
    RArray rest;
    for (size_t i = params.size(); i < args.size(); ++i) rest.push_back(args[i]);
    scope->set("varargs", RV::array(std::move(rest)));
  } else if (args.size() > params.size()) {
    fail("macro " + display_name + " takes not more than " + std::to_string(params.size()) + " argument(s)");
  }
  for (const auto& [name, expr] : pending) scope->set(name, eval(expr, scope));
}

RV Interpreter::eval_macro(const Node& n, const std::shared_ptr<Env>& env) {
  const Node* def = &n;
  env->set(n.str, RV::function([this, def](Args& args, const std::shared_ptr<Env>& scope) {
             auto macro_scope = std::make_shared<Env>(scope);
             bind_macro_args("'" + def->str + "'", *def, args, macro_scope);
             return RV::string(eval_block(def->body, macro_scope));
           }));
  return RV::null();
}

RV Interpreter::eval_call_block(const Node& n, const std::shared_ptr<Env>& env) {
  const Node* def = &n;
  std::weak_ptr<Env> home = env;
  RV caller = RV::function([this, def, home](Args& args, const std::shared_ptr<Env>&) {
    auto parent = home.lock();
    if (!parent) fail("caller() used after its call block ended");
    auto block_env = std::make_shared<Env>(parent);
    bind_macro_args("None", *def, args, block_env);
    return RV::string(eval_block(def->body, block_env));
  });
  const Node& call = *n.a;
  auto [args, kwargs] = eval_args(call.list, env);
  args.push_back(RV::object(std::move(kwargs), Kind::KwArgs));
  RV fn = eval(call.a.get(), env);
  if (fn.kind != Kind::Function)
    fail(std::string("Cannot call something that is not a function: got ") + type_name(fn));
  auto call_env = std::make_shared<Env>(env);
  call_env->set("caller", std::move(caller));
  return (*fn.fn)(args, call_env);
}

}  // namespace oc::tmpl::detail
