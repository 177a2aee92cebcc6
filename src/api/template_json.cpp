#include "api/template_json.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace oc::tmpl {
namespace {

// JavaScript's array-index keys ("0".."4294967294", no leading zeros) come first, ascending.
bool array_index(const std::string& k, uint64_t& out) {
  if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : k) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v >= 4294967295ULL) return false;
  out = v;
  return true;
}

void js_property_order(Object& o) {
  std::vector<std::pair<uint64_t, size_t>> idx;
  for (size_t i = 0; i < o.size(); ++i) {
    uint64_t v;
    if (array_index(o[i].first, v)) idx.emplace_back(v, i);
  }
  if (idx.empty()) return;
  std::sort(idx.begin(), idx.end());
  Object out;
  out.reserve(o.size());
  std::vector<bool> moved(o.size(), false);
  for (auto& [v, i] : idx) {
    out.push_back(std::move(o[i]));
    moved[i] = true;
  }
  for (size_t i = 0; i < o.size(); ++i)
    if (!moved[i]) out.push_back(std::move(o[i]));
  o = std::move(out);
}

// Deeper JSON is refused: converting, rendering and freeing values recurse.
constexpr int kMaxJsonDepth = 200;

template <typename J>
Value convert(const J& j, int depth = 0) {
  if (depth > kMaxJsonDepth)
    throw Error(ErrorKind::InvalidRequest,
                "JSON nested too deeply (over " + std::to_string(kMaxJsonDepth) + " levels)");
  switch (j.type()) {
    case nlohmann::detail::value_t::null:
      return Value(nullptr);
    case nlohmann::detail::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::detail::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::detail::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::detail::value_t::number_float: {
      double d = j.template get<double>();
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
      return Value(d);
    }
    case nlohmann::detail::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::detail::value_t::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& x : j) a.push_back(convert(x, depth + 1));
      return Value(std::move(a));
    }
    case nlohmann::detail::value_t::object: {
      Object o;
      o.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        o.emplace_back(it.key(), convert(it.value(), depth + 1));
      }
      js_property_order(o);
      return Value(std::move(o));
    }
    default:
      return Value(nullptr);
  }
}

}  // namespace

Value value_from_json(const nlohmann::ordered_json& j) { return convert(j); }
Value value_from_json(const nlohmann::json& j) { return convert(j); }
Value value_from_json_text(std::string_view text) { return convert(nlohmann::ordered_json::parse(text)); }

nlohmann::ordered_json value_to_json(const Value& v) {
  if (v.is_undefined() || v.is_null()) return nullptr;
  if (v.is_bool()) return v.as_bool();
  if (v.is_int()) return v.as_int();
  if (v.is_double()) return v.as_double();
  if (v.is_string()) return v.as_string();
  if (v.is_array()) {
    auto a = nlohmann::ordered_json::array();
    for (const auto& x : v.as_array()) a.push_back(value_to_json(x));
    return a;
  }
  auto o = nlohmann::ordered_json::object();
  for (const auto& [k, x] : v.as_object()) o[k] = value_to_json(x);
  return o;
}

}  // namespace oc::tmpl
