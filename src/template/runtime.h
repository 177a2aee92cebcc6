// Runtime values and the interpreter's shared pieces. Mirrors the reference's value model:
// integers and floats are JavaScript numbers with a type tag, arrays/objects are shared (so
// identity, as in JavaScript, is pointer identity), and there are tuples, keyword-argument
// objects, namespaces and functions besides the JSON-shaped values of oc::tmpl::Value.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "template/ast.h"
#include "template/chat_template.h"
#include "template/value.h"

namespace oc::tmpl::detail {

enum class Kind : uint8_t {
  Undefined,
  Null,
  Bool,
  Int,
  Float,
  String,
  Array,
  Tuple,
  Object,
  KwArgs,
  Namespace,
  Function
};

struct RV;
struct Env;
class Interpreter;
using RArray = std::vector<RV>;
using Args = std::vector<RV>;
using Fn = std::function<RV(Args& args, const std::shared_ptr<Env>& scope)>;

// Containers nest at most this deep (the context, and what templates build): printing, JSON and
// destruction recurse, so depth must stay bounded.
constexpr uint32_t kMaxValueDepth = 256;

struct RObject {
  std::vector<std::pair<std::string, RV>> items;
  uint32_t depth = 1;  // an upper bound of the nesting below and including this object
  const RV* find(std::string_view key) const;
  RV* find(std::string_view key);
  void set(const std::string& key, RV value);
  bool erase(std::string_view key);
};

struct RV {
  Kind kind = Kind::Undefined;
  bool b = false;
  uint32_t depth = 0;  // arrays: nesting depth (objects keep theirs in RObject)
  double n = 0;
  std::string s;
  std::shared_ptr<RArray> arr;
  std::shared_ptr<RObject> obj;
  std::shared_ptr<Fn> fn;

  static RV undefined() { return {}; }
  static RV null() { return make(Kind::Null); }
  static RV boolean(bool v) {
    RV r = make(Kind::Bool);
    r.b = v;
    return r;
  }
  static RV integer(double v) {
    RV r = make(Kind::Int);
    r.n = v;
    return r;
  }
  static RV floating(double v) {
    RV r = make(Kind::Float);
    r.n = v;
    return r;
  }
  static RV string(std::string v) {
    RV r = make(Kind::String);
    r.s = std::move(v);
    return r;
  }
  // Both fail (RuntimeError) when the result would nest deeper than kMaxValueDepth.
  static RV array(RArray v, Kind k = Kind::Array);
  static RV object(RObject v = {}, Kind k = Kind::Object);
  static RV function(Fn f) {
    RV r = make(Kind::Function);
    r.fn = std::make_shared<Fn>(std::move(f));
    return r;
  }
  static RV make(Kind k) {
    RV r;
    r.kind = k;
    return r;
  }

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_null() const { return kind == Kind::Null; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  bool is_string() const { return kind == Kind::String; }
  bool is_array() const { return kind == Kind::Array || kind == Kind::Tuple; }     // instanceof ArrayValue
  bool is_object() const { return kind == Kind::Object || kind == Kind::KwArgs; }  // instanceof ObjectValue
  bool is_container() const { return is_object() || kind == Kind::Namespace; }     // attribute container
};

// The reference's type names, for error messages.
const char* type_name(const RV& v);
// Nesting depth of a value: 0 for scalars.
uint32_t nest_depth(const RV& v);
// __bool__: Python truthiness for arrays/objects, JavaScript's for the rest.
bool truthy(const RV& v);
// RuntimeValue#toString: what {{ }} prints (none and undefined print nothing there, but show as
// "undefined" inside arrays joined by `~`: the reference's NullValue holds JavaScript's undefined).
std::string display(const RV& v);
// String(value.value): what `~`, `+` and join use.
std::string js_string(const RV& v);
// JavaScript's == and === on the values the reference compares (`.value`).
bool loose_equals(const RV& a, const RV& b);
bool strict_equals(const RV& a, const RV& b);

struct JsonOptions {
  int indent = 0;  // 0: none
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_separators = false;
  std::string item_sep, key_sep;
};
// The reference's toJSON; undefined_as_null false prints "undefined" (display of containers).
std::string to_json(const RV& v, const JsonOptions& opts, int depth = 0, bool undefined_as_null = true);

RV from_value(const Value& v);
Value to_value(const RV& v);

struct Env : std::enable_shared_from_this<Env> {
  std::shared_ptr<Env> parent;
  std::vector<std::pair<std::string, RV>> vars;

  explicit Env(std::shared_ptr<Env> p = nullptr) : parent(std::move(p)) {}
  RV lookup(std::string_view name) const;
  void set(const std::string& name, RV value);
};

// Thrown for runtime errors; the interpreter adds the line/column of the node being evaluated.
struct RuntimeError {
  std::string message;
};
[[noreturn]] inline void fail(std::string message) { throw RuntimeError{std::move(message)}; }

class Interpreter {
 public:
  Interpreter(const std::string& source, const RenderLimits& limits, std::chrono::system_clock::time_point now);
  std::string run(const Node& program, const Value& context);

  RV eval(const Node* node, const std::shared_ptr<Env>& env);
  std::string eval_block(const std::vector<NodePtr>& body, const std::shared_ptr<Env>& env);
  std::pair<Args, RObject> eval_args(const std::vector<NodePtr>& args, const std::shared_ptr<Env>& env);

  // Charges work against the step limit (loop iterations, created elements).
  void charge(size_t steps);
  // Checks a string the template built against the output limit.
  void check_size(size_t bytes) const;

  std::chrono::system_clock::time_point now() const { return now_; }

 private:
  RV eval_node(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_binary(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_unary(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_member(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_slice(const RV& object, const Node& n, const std::shared_ptr<Env>& env);
  RV eval_call(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_set(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_for(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_macro(const Node& n, const std::shared_ptr<Env>& env);
  RV eval_call_block(const Node& n, const std::shared_ptr<Env>& env);
  void bind_macro_args(const std::string& display_name, const Node& def, Args args, const std::shared_ptr<Env>& scope);

  const std::string& source_;
  RenderLimits limits_;
  std::chrono::system_clock::time_point now_;
  size_t steps_ = 0;
  size_t depth_ = 0;
};

// The interpreter rendering on this thread, so that printing and JSON (which can expand shared
// values exponentially) count against its step and size limits.
class ActiveInterpreter {
 public:
  explicit ActiveInterpreter(Interpreter* in);
  ~ActiveInterpreter();
  ActiveInterpreter(const ActiveInterpreter&) = delete;
  ActiveInterpreter& operator=(const ActiveInterpreter&) = delete;

 private:
  Interpreter* previous_;
};
// Charges one step and checks a string being built against the size limit (no-op outside a render).
void account_work(size_t bytes);

// filters.cpp
RV apply_filter(Interpreter& in, RV operand, const Node& filter, const std::shared_ptr<Env>& env);
bool apply_test(const std::string& name, const RV& operand, const RV* arg, bool& known);
int compare_values(const RV& a, const RV& b, bool case_sensitive);
RV attribute_path(const RV& item, const std::string& path);
// builtins.cpp: members of strings, objects and arrays (methods and `length`), and globals.
RV member_builtin(Interpreter& in, const RV& object, const std::string& name);
void install_globals(Interpreter& in, Env& env);

}  // namespace oc::tmpl::detail
