// A dynamically typed value: what templates read (messages, tools, kwargs) and compute.
// JSON-shaped on purpose, but no JSON library in this header: the API layer converts.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace oc::tmpl {

class Value;
using Array = std::vector<Value>;
// Insertion-ordered object (chat templates and tojson depend on key order).
using Object = std::vector<std::pair<std::string, Value>>;

class Value {
 public:
  struct Undefined {};
  using Storage = std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<Array>,
                               std::shared_ptr<Object>>;

  Value() = default;  // undefined
  Value(std::nullptr_t) : v_(nullptr) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(static_cast<int64_t>(i)) {}
  Value(int64_t i) : v_(i) {}
  Value(double d) : v_(d) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Array a) : v_(std::make_shared<Array>(std::move(a))) {}
  Value(Object o) : v_(std::make_shared<Object>(std::move(o))) {}

  bool is_undefined() const { return std::holds_alternative<Undefined>(v_); }
  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(v_); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return *std::get<std::shared_ptr<Array>>(v_); }
  Array& as_array() { return *std::get<std::shared_ptr<Array>>(v_); }
  const Object& as_object() const { return *std::get<std::shared_ptr<Object>>(v_); }
  Object& as_object() { return *std::get<std::shared_ptr<Object>>(v_); }

  // Object access: nullptr / undefined when absent. set() replaces or appends.
  const Value* find(std::string_view key) const;
  Value get(std::string_view key) const;
  void set(std::string key, Value value);

  const Storage& storage() const { return v_; }

 private:
  Storage v_;
};

}  // namespace oc::tmpl
