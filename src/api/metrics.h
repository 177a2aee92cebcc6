// Counters of the API layer and their Prometheus text (with the engine's own stats).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "engine/engine.h"

namespace oc::api {

class ApiMetrics {
 public:
  // One finished HTTP exchange of an endpoint ("chat", "completions", "models", ...).
  void count_request(const std::string& endpoint, int status);
  void count_disconnect() { disconnects_++; }
  // Time to first token of a request, seconds (histogram).
  void observe_ttft(double seconds);
  std::string prometheus(const engine::EngineStats* stats) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::atomic<uint64_t> disconnects_{0};
  static constexpr double kTtftBuckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  uint64_t ttft_counts_[std::size(kTtftBuckets)] = {};
  uint64_t ttft_count_ = 0;
  double ttft_sum_ = 0;
};

}  // namespace oc::api
