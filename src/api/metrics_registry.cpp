#include "api/metrics_registry.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace oc::api {
namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Label value escaping of the text format: backslash, double quote and line feed.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names, const std::vector<std::string>& values,
                       const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + escape(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

void MetricsRegistry::declare(const std::string& name, Family family) {
  std::lock_guard lock(mutex_);
  if (index_.count(name)) throw std::logic_error("metric declared twice: " + name);
  if (family.label_names.empty()) {
    Series s;
    if (family.kind == Kind::Histogram) s.counts.assign(family.buckets.size() + 1, 0);
    family.series.emplace(std::vector<std::string>{}, s);
  }
  index_[name] = families_.size();
  families_.emplace_back(name, std::move(family));
}

void MetricsRegistry::counter(const std::string& name, const std::string& help, std::vector<std::string> label_names) {
  declare(name, Family{Kind::Counter, help, std::move(label_names), {}, {}});
}

void MetricsRegistry::gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names) {
  declare(name, Family{Kind::Gauge, help, std::move(label_names), {}, {}});
}

void MetricsRegistry::histogram(const std::string& name, const std::string& help, std::vector<double> buckets,
                                std::vector<std::string> label_names) {
  declare(name, Family{Kind::Histogram, help, std::move(label_names), std::move(buckets), {}});
}

MetricsRegistry::Series& MetricsRegistry::series(const std::string& name, Kind kind,
                                                 const std::vector<std::string>& labels) {
  auto it = index_.find(name);
  if (it == index_.end()) throw std::logic_error("metric not declared: " + name);
  Family& f = families_[it->second].second;
  const bool kind_ok = f.kind == kind || (kind == Kind::Gauge && f.kind == Kind::Counter);
  if (!kind_ok || labels.size() != f.label_names.size())
    throw std::logic_error("metric used with the wrong kind or labels: " + name);
  auto [pos, inserted] = f.series.try_emplace(labels);
  if (inserted && f.kind == Kind::Histogram) pos->second.counts.assign(f.buckets.size() + 1, 0);
  return pos->second;
}

void MetricsRegistry::add(const std::string& name, double value, const std::vector<std::string>& labels) {
  std::lock_guard lock(mutex_);
  series(name, Kind::Counter, labels).value += value;
}

void MetricsRegistry::set(const std::string& name, double value, const std::vector<std::string>& labels) {
  std::lock_guard lock(mutex_);
  series(name, Kind::Gauge, labels).value = value;
}

void MetricsRegistry::observe(const std::string& name, double value, const std::vector<std::string>& labels) {
  std::lock_guard lock(mutex_);
  Series& s = series(name, Kind::Histogram, labels);
  const auto& buckets = families_[index_.at(name)].second.buckets;
  size_t i = 0;
  while (i < buckets.size() && value > buckets[i]) ++i;
  s.counts[i]++;
  s.value += value;
}

std::string MetricsRegistry::text() const {
  static const char* kTypes[] = {"counter", "gauge", "histogram"};
  std::lock_guard lock(mutex_);
  std::string o;
  for (const auto& [name, f] : families_) {
    o += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + kTypes[static_cast<int>(f.kind)] + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.kind != Kind::Histogram) {
        o += name + label_text(f.label_names, labels) + " " + number(s.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f.buckets.size(); ++i) {
        cumulative += s.counts[i];
        const double le = i < f.buckets.size() ? f.buckets[i] : INFINITY;
        o += name + "_bucket" + label_text(f.label_names, labels, "le=\"" + number(le) + "\"") + " " +
             std::to_string(cumulative) + "\n";
      }
      o += name + "_sum" + label_text(f.label_names, labels) + " " + number(s.value) + "\n";
      o += name + "_count" + label_text(f.label_names, labels) + " " + std::to_string(cumulative) + "\n";
    }
  }
  return o;
}

}  // namespace oc::api
