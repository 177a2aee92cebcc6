// The metrics of the API layer (named in metrics.cpp) and their Prometheus text, with the engine's
// own stats. Adding a metric: declare it in the constructor, feed it from a method here or from
// prometheus() (engine numbers).
#pragma once

#include <string>

#include "api/metrics_registry.h"
#include "engine/engine.h"

namespace oc::api {

class ApiMetrics {
 public:
  ApiMetrics();

  // One finished HTTP exchange of an endpoint ("chat", "completions", "models", ...).
  void count_request(const std::string& endpoint, int status);
  // An error answered (or sent as an SSE event after the headers): status and OpenAI error code.
  void count_error(const std::string& endpoint, int status, const std::string& code);
  void count_disconnect();
  // Time to first token of a request, seconds.
  void observe_ttft(double seconds);
  // Time between two tokens of one choice, seconds.
  void observe_inter_token(double seconds);
  // A generation's end: queue time, encoder time per modality, cached and media prompt tokens.
  void observe_done(const engine::Usage& usage, const engine::Timings& timings);

  std::string prometheus(const engine::EngineStats* stats);

 private:
  MetricsRegistry registry_;
};

}  // namespace oc::api
