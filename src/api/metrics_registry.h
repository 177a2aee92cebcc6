// A small Prometheus registry: named counter, gauge and histogram families with fixed label names,
// and their text exposition (format 0.0.4). Thread-safe. Debian 12 packages no Prometheus client
// library for C++, and the API needs only this much.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace oc::api {

class MetricsRegistry {
 public:
  // Declares a family; a family without label names has its one series (at 0) from the start.
  // Histogram buckets are the upper bounds, ascending (+Inf is implied).
  void counter(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  void gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  void histogram(const std::string& name, const std::string& help, std::vector<double> buckets,
                 std::vector<std::string> label_names = {});

  // Label values go in the order of the family's label names. A wrong name, kind or label count is
  // a programming error (std::logic_error).
  // Counter: adds value.
  void add(const std::string& name, double value = 1, const std::vector<std::string>& labels = {});
  // Gauge, or a counter whose total is kept elsewhere (the engine's): sets value.
  void set(const std::string& name, double value, const std::vector<std::string>& labels = {});
  // Histogram: counts value in its bucket and adds it to the sum.
  void observe(const std::string& name, double value, const std::vector<std::string>& labels = {});

  // Every family in declaration order.
  std::string text() const;

 private:
  enum class Kind { Counter, Gauge, Histogram };
  struct Series {
    double value = 0;              // counter, gauge; histogram: the sum
    std::vector<uint64_t> counts;  // histogram: per bucket (not cumulative), then +Inf
  };
  struct Family {
    Kind kind;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<double> buckets;
    std::map<std::vector<std::string>, Series> series;
  };
  void declare(const std::string& name, Family family);
  Series& series(const std::string& name, Kind kind, const std::vector<std::string>& labels);

  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Family>> families_;
  std::map<std::string, size_t> index_;
};

}  // namespace oc::api
