// Members of values (string and object methods, `length`) and the global functions:
// namespace(), raise_exception(), range(), strftime_now().
#include <algorithm>
#include <cmath>
#include <ctime>

#include "common/utf8.h"
#include "template/js_string.h"
#include "template/runtime.h"

namespace oc::tmpl::detail {
namespace {

const RV* arg(const Args& a, size_t i) { return i < a.size() ? &a[i] : nullptr; }

bool matches_prefix_or_suffix(const std::string& self, const Args& args, bool prefix, const char* name) {
  if (args.empty()) fail(std::string(name) + "() requires at least one argument");
  auto test = [&](const std::string& p) {
    if (p.size() > self.size()) return false;
    return prefix ? self.compare(0, p.size(), p) == 0 : self.compare(self.size() - p.size(), p.size(), p) == 0;
  };
  const RV& pattern = args[0];
  if (pattern.is_string()) return test(pattern.s);
  if (pattern.is_array()) {
    for (const auto& item : *pattern.arr) {
      if (!item.is_string()) fail(std::string(name) + "() tuple elements must be strings");
      if (test(item.s)) return true;
    }
    return false;
  }
  fail(std::string(name) + "() argument must be a string or tuple of strings");
}

RV split(Interpreter& in, const std::string& self, const Args& args) {
  RV sep = args.size() > 0 ? args[0] : RV::null();
  if (!sep.is_string() && !sep.is_null()) fail("sep argument must be a string or null");
  RV maxsplit = args.size() > 1 ? args[1] : RV::integer(-1);
  if (maxsplit.kind != Kind::Int) fail("maxsplit argument must be a number");
  double ms = maxsplit.n;
  std::vector<std::string> parts;
  if (sep.is_null()) {
    std::string text = js::trim_start(self);
    size_t i = 0;
    while (i < text.size()) {
      while (size_t w = js::space_len(text, i)) i += w;
      if (i >= text.size()) break;
      size_t start = i;
      while (i < text.size() && !js::space_len(text, i)) {
        char32_t cp;
        i += utf8::decode(text, i, cp);
      }
      if (ms != -1 && static_cast<double>(parts.size()) >= ms) {
        parts.push_back(text.substr(start));
        break;
      }
      parts.push_back(text.substr(start, i - start));
    }
  } else {
    if (sep.s.empty()) fail("empty separator");
    size_t pos = 0;
    while (true) {
      size_t f = self.find(sep.s, pos);
      if (f == std::string::npos) {
        parts.push_back(self.substr(pos));
        break;
      }
      parts.push_back(self.substr(pos, f - pos));
      pos = f + sep.s.size();
    }
    if (ms != -1 && static_cast<double>(parts.size()) > ms) {
      auto len = static_cast<double>(parts.size());
      double start = ms < 0 ? std::max(len + ms, 0.0) : std::min(ms, len);
      auto k = static_cast<size_t>(start);
      std::string rest;
      for (size_t i = k; i < parts.size(); ++i) rest += (i > k ? sep.s : "") + parts[i];
      parts.resize(k);
      parts.push_back(rest);
    }
  }
  in.charge(parts.size());
  RArray out;
  for (auto& p : parts) out.push_back(RV::string(std::move(p)));
  return RV::array(std::move(out));
}

RV replace(Interpreter& in, const std::string& self, const Args& args) {
  if (args.size() < 2) fail("replace() requires at least two arguments");
  if (!args[0].is_string() || !args[1].is_string()) fail("replace() arguments must be strings");
  RV count = RV::null();
  if (args.size() > 2) {
    if (args[2].kind == Kind::KwArgs) {
      const RV* c = args[2].obj->find("count");
      count = c ? *c : RV::null();
    } else {
      count = args[2];
    }
  }
  if (count.kind != Kind::Int && !count.is_null()) fail("replace() count argument must be a number or null");
  const std::string& from = args[0].s;
  const std::string& to = args[1].s;
  if (count.kind == Kind::Int && count.n == 0) return RV::string(self);
  double remaining = (count.is_null() || count.n < 0) ? INFINITY : count.n;
  std::string out;
  if (from.empty()) {
    // An empty pattern matches before every character and at the end.
    for (size_t i = 0; i <= self.size();) {
      if (remaining > 0) {
        out += to;
        --remaining;
      }
      if (i == self.size()) break;
      char32_t cp;
      size_t n = utf8::decode(self, i, cp);
      out.append(self, i, n);
      i += n;
      in.check_size(out.size());
    }
  } else {
    size_t pos = 0;
    while (remaining > 0) {
      size_t f = self.find(from, pos);
      if (f == std::string::npos) break;
      out.append(self, pos, f - pos);
      out += to;
      pos = f + from.size();
      --remaining;
      in.check_size(out.size());
    }
    out.append(self, pos, std::string::npos);
  }
  in.check_size(out.size());
  return RV::string(std::move(out));
}

RV dictsort(Interpreter& in, const RV& self, const Args& args) {
  RObject kwargs;
  Args positional;
  for (const auto& a : args) {
    if (a.kind == Kind::KwArgs)
      kwargs = *a.obj;
    else
      positional.push_back(a);
  }
  auto pick = [&](size_t i, const char* name, RV fallback) {
    if (const RV* p = arg(positional, i)) return *p;
    if (const RV* k = kwargs.find(name)) return *k;
    return fallback;
  };
  RV case_sensitive = pick(0, "case_sensitive", RV::boolean(false));
  if (case_sensitive.kind != Kind::Bool) fail("case_sensitive must be a boolean");
  RV by = pick(1, "by", RV::string("key"));
  if (!by.is_string()) fail("by must be a string");
  if (by.s != "key" && by.s != "value") fail("by must be either 'key' or 'value'");
  RV reverse = pick(2, "reverse", RV::boolean(false));
  if (reverse.kind != Kind::Bool) fail("reverse must be a boolean");
  RArray items;
  for (const auto& [k, v] : self.obj->items) items.push_back(RV::array({RV::string(k), v}));
  in.charge(items.size());
  size_t index = by.s == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const RV& a, const RV& b) {
    int r = compare_values((*a.arr)[index], (*b.arr)[index], case_sensitive.b);
    return (reverse.b ? -r : r) < 0;
  });
  return RV::array(std::move(items));
}

}  // namespace

RV member_builtin(Interpreter& in, const RV& object, const std::string& name) {
  Interpreter* ip = &in;
  if (object.is_string()) {
    const std::string s = object.s;
    auto method = [&](auto f) {
      return RV::function([s, f, ip](Args& args, const std::shared_ptr<Env>&) { return f(*ip, s, args); });
    };
    if (name == "length") return RV::integer(static_cast<double>(js::utf16_length(s)));
    if (name == "upper")
      return method([](Interpreter&, const std::string& x, Args&) { return RV::string(js::to_upper(x)); });
    if (name == "lower")
      return method([](Interpreter&, const std::string& x, Args&) { return RV::string(js::to_lower(x)); });
    if (name == "strip")
      return method([](Interpreter&, const std::string& x, Args&) { return RV::string(js::trim(x)); });
    if (name == "rstrip")
      return method([](Interpreter&, const std::string& x, Args&) { return RV::string(js::trim_end(x)); });
    if (name == "lstrip")
      return method([](Interpreter&, const std::string& x, Args&) { return RV::string(js::trim_start(x)); });
    if (name == "title")
      return method([](Interpreter&, const std::string& x, Args&) { return RV::string(js::title(x)); });
    if (name == "capitalize")
      return method([](Interpreter&, const std::string& x, Args&) { return RV::string(js::capitalize(x)); });
    if (name == "startswith")
      return method([](Interpreter&, const std::string& x, Args& a) {
        return RV::boolean(matches_prefix_or_suffix(x, a, true, "startswith"));
      });
    if (name == "endswith")
      return method([](Interpreter&, const std::string& x, Args& a) {
        return RV::boolean(matches_prefix_or_suffix(x, a, false, "endswith"));
      });
    if (name == "split") return method([](Interpreter& i, const std::string& x, Args& a) { return split(i, x, a); });
    if (name == "replace")
      return method([](Interpreter& i, const std::string& x, Args& a) { return replace(i, x, a); });
    return RV::undefined();
  }
  if (object.is_object()) {
    RV self = object;
    if (name == "get")
      return RV::function([self](Args& args, const std::shared_ptr<Env>&) {
        RV key = args.empty() ? RV::undefined() : args[0];
        if (!key.is_string()) fail(std::string("Object key must be a string: got ") + type_name(key));
        if (const RV* v = self.obj->find(key.s)) return *v;
        if (args.size() > 1) return args[1];
        return RV::null();
      });
    if (name == "items")
      return RV::function([self, ip](Args&, const std::shared_ptr<Env>&) {
        ip->charge(self.obj->items.size());
        RArray out;
        for (const auto& [k, v] : self.obj->items) out.push_back(RV::array({RV::string(k), v}));
        return RV::array(std::move(out));
      });
    if (name == "keys")
      return RV::function([self](Args&, const std::shared_ptr<Env>&) {
        RArray out;
        for (const auto& [k, v] : self.obj->items) out.push_back(RV::string(k));
        return RV::array(std::move(out));
      });
    if (name == "values")
      return RV::function([self](Args&, const std::shared_ptr<Env>&) {
        RArray out;
        for (const auto& [k, v] : self.obj->items) out.push_back(v);
        return RV::array(std::move(out));
      });
    if (name == "dictsort")
      return RV::function([self, ip](Args& args, const std::shared_ptr<Env>&) { return dictsort(*ip, self, args); });
    return RV::undefined();
  }
  if (object.is_array() && name == "length") return RV::integer(static_cast<double>(object.arr->size()));
  return RV::undefined();
}

namespace {

std::pair<std::string, RV> namespace_entry(const RV& pair) {
  RArray values;
  if (pair.is_array()) {
    values = *pair.arr;
  } else if (pair.is_string()) {
    for (auto& c : js::code_points(pair.s)) values.push_back(RV::string(std::move(c)));
  }
  if (values.size() != 2) fail("namespace expected an object or an iterable of [key, value] pairs");
  if (!values[0].is_string()) fail("namespace keys must be strings");
  return {values[0].s, values[1]};
}

std::string strftime(std::chrono::system_clock::time_point now, const std::string& format) {
  static const char* months_long[] = {"January", "February", "March",     "April",   "May",      "June",
                                      "July",    "August",   "September", "October", "November", "December"};
  static const char* months_short[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  auto pad2 = [](int v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size()) {
      char c = format[i + 1];
      std::string rep;
      bool known = true;
      switch (c) {
        case 'Y':
          rep = std::to_string(tm.tm_year + 1900);
          break;
        case 'm':
          rep = pad2(tm.tm_mon + 1);
          break;
        case 'd':
          rep = pad2(tm.tm_mday);
          break;
        case 'b':
          rep = months_short[tm.tm_mon];
          break;
        case 'B':
          rep = months_long[tm.tm_mon];
          break;
        case 'H':
          rep = pad2(tm.tm_hour);
          break;
        case 'M':
          rep = pad2(tm.tm_min);
          break;
        case '%':
          rep = "%";
          break;
        default:
          known = false;
      }
      if (known) {
        out += rep;
        ++i;
        continue;
      }
    }
    out += format[i];
  }
  return out;
}

}  // namespace

void install_globals(Interpreter& in, Env& env) {
  Interpreter* ip = &in;
  env.set("namespace", RV::function([](Args& args, const std::shared_ptr<Env>&) {
            Args positional = args;
            RObject kwargs;
            bool has_kwargs = false;
            if (!positional.empty() && positional.back().kind == Kind::KwArgs) {
              kwargs = *positional.back().obj;
              has_kwargs = true;
              positional.pop_back();
            }
            if (positional.size() > 1)
              fail("namespace expected at most 1 argument, got " + std::to_string(positional.size()));
            RObject entries;
            if (positional.size() == 1) {
              const RV& source = positional[0];
              if (source.is_object()) {
                for (const auto& [k, v] : source.obj->items) entries.set(k, v);
              } else if (source.is_array()) {
                for (const auto& pair : *source.arr) {
                  auto [k, v] = namespace_entry(pair);
                  entries.set(k, v);
                }
              } else {
                fail(std::string("'") + type_name(source) + "' object is not iterable");
              }
            }
            if (has_kwargs)
              for (const auto& [k, v] : kwargs.items) entries.set(k, v);
            return RV::object(std::move(entries), Kind::Namespace);
          }));
  env.set("false", RV::boolean(false));
  env.set("true", RV::boolean(true));
  env.set("none", RV::null());
  env.set("raise_exception", RV::function([](Args& args, const std::shared_ptr<Env>&) -> RV {
            if (args.empty() || args[0].is_undefined() || args[0].is_null()) fail("");
            fail(js_string(args[0]));
          }));
  env.set("range", RV::function([ip](Args& args, const std::shared_ptr<Env>&) {
            auto num = [](const RV& v) {
              if (v.is_number()) return v.n;
              if (v.kind == Kind::Bool) return v.b ? 1.0 : 0.0;
              fail(std::string("range() arguments must be numbers: got ") + type_name(v));
            };
            if (args.empty()) fail("range() expects at least one argument");
            double start = num(args[0]);
            double stop;
            if (args.size() < 2 || args[1].is_undefined()) {
              stop = start;
              start = 0;
            } else {
              stop = num(args[1]);
            }
            double step = args.size() > 2 ? num(args[2]) : 1;
            if (step == 0) fail("range() step must not be zero");
            RArray out;
            for (double i = start; step > 0 ? i < stop : i > stop; i += step) {
              ip->charge(16);  // an element costs memory, not only time: ranges stay far below the step limit
              out.push_back(std::trunc(i) == i ? RV::integer(i) : RV::floating(i));
            }
            return RV::array(std::move(out));
          }));
  env.set("strftime_now", RV::function([ip](Args& args, const std::shared_ptr<Env>&) {
            if (args.empty() || !args[0].is_string()) fail("strftime_now() expects a format string");
            return RV::string(strftime(ip->now(), args[0].s));
          }));
  env.set("True", RV::boolean(true));
  env.set("False", RV::boolean(false));
  env.set("None", RV::null());
}

}  // namespace oc::tmpl::detail
