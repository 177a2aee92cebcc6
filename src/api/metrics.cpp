#include "api/metrics.h"

#include <sstream>

namespace oc::api {

void ApiMetrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  requests_[{endpoint, status}]++;
}

void ApiMetrics::observe_ttft(double seconds) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < std::size(kTtftBuckets); ++i)
    if (seconds <= kTtftBuckets[i]) ttft_counts_[i]++;
  ttft_count_++;
  ttft_sum_ += seconds;
}

std::string ApiMetrics::prometheus(const engine::EngineStats* s) const {
  std::ostringstream o;
  {
    std::lock_guard lock(mutex_);
    o << "# HELP onnx_chat_http_requests_total HTTP requests by endpoint and status.\n"
         "# TYPE onnx_chat_http_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      o << "onnx_chat_http_requests_total{endpoint=\"" << key.first << "\",status=\"" << key.second << "\"} " << n
        << "\n";
    o << "# HELP onnx_chat_time_to_first_token_seconds Time from request to first token.\n"
         "# TYPE onnx_chat_time_to_first_token_seconds histogram\n";
    for (size_t i = 0; i < std::size(kTtftBuckets); ++i)
      o << "onnx_chat_time_to_first_token_seconds_bucket{le=\"" << kTtftBuckets[i] << "\"} " << ttft_counts_[i] << "\n";
    o << "onnx_chat_time_to_first_token_seconds_bucket{le=\"+Inf\"} " << ttft_count_ << "\n"
      << "onnx_chat_time_to_first_token_seconds_sum " << ttft_sum_ << "\n"
      << "onnx_chat_time_to_first_token_seconds_count " << ttft_count_ << "\n";
  }
  o << "# HELP onnx_chat_client_disconnects_total Requests whose client left before the end.\n"
       "# TYPE onnx_chat_client_disconnects_total counter\n"
    << "onnx_chat_client_disconnects_total " << disconnects_.load() << "\n";
  if (s) {
    auto gauge = [&](const char* name, const char* help, double v) {
      o << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n" << name << " " << v << "\n";
    };
    auto counter = [&](const char* name, const char* help, double v) {
      o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n" << name << " " << v << "\n";
    };
    gauge("onnx_chat_queue_depth", "Requests waiting for a slot.", static_cast<double>(s->queued));
    gauge("onnx_chat_running_requests", "Requests being generated.", static_cast<double>(s->running));
    counter("onnx_chat_requests_total", "Generation requests accepted.", static_cast<double>(s->requests_total));
    counter("onnx_chat_requests_finished_total", "Generation requests finished.",
            static_cast<double>(s->requests_finished));
    counter("onnx_chat_requests_cancelled_total", "Generation requests cancelled.",
            static_cast<double>(s->requests_cancelled));
    counter("onnx_chat_requests_failed_total", "Generation requests failed.", static_cast<double>(s->requests_failed));
    counter("onnx_chat_requests_rejected_total", "Generation requests rejected (queue full).",
            static_cast<double>(s->requests_rejected));
    counter("onnx_chat_prompt_tokens_total", "Prompt tokens processed.", static_cast<double>(s->prompt_tokens_total));
    counter("onnx_chat_completion_tokens_total", "Tokens generated.", static_cast<double>(s->completion_tokens_total));
    counter("onnx_chat_prompt_seconds_total", "Time spent in prefill.", s->prompt_seconds_total);
    counter("onnx_chat_decode_seconds_total", "Time spent decoding.", s->decode_seconds_total);
    gauge("onnx_chat_batch_size", "Sequences in the last decode step.", static_cast<double>(s->batch_size));
    counter("onnx_chat_decode_steps_total", "Decode steps run.", static_cast<double>(s->decode_steps_total));
    counter("onnx_chat_decode_rows_total", "Sequences advanced by decode steps (batch sizes summed).",
            static_cast<double>(s->decode_rows_total));
    gauge("onnx_chat_kv_budget_bytes", "KV cache memory budget (0: unlimited).",
          static_cast<double>(s->kv_budget_bytes));
    gauge("onnx_chat_kv_bytes_in_use", "KV cache memory held by running sequences and cached prefixes.",
          static_cast<double>(s->kv_bytes_in_use));
    gauge("onnx_chat_prefix_cache_bytes", "KV cache memory held by cached prefixes.",
          static_cast<double>(s->prefix_cache_bytes));
    gauge("onnx_chat_prefix_cache_entries", "Cached prefixes.", static_cast<double>(s->prefix_cache_entries));
    counter("onnx_chat_prefix_cache_hits_total", "Requests that reused a cached prefix.",
            static_cast<double>(s->prefix_cache_hits));
    counter("onnx_chat_prefix_tokens_reused_total", "Prompt tokens taken from cached prefixes instead of prefilled.",
            static_cast<double>(s->prefix_tokens_reused));
  }
  return o.str();
}

}  // namespace oc::api
