#include "api/metrics.h"

namespace oc::api {

ApiMetrics::ApiMetrics() {
  auto& r = registry_;
  r.counter("onnx_chat_http_requests_total", "HTTP requests by endpoint and status.", {"endpoint", "status"});
  r.counter("onnx_chat_errors_total", "Errors answered, by endpoint, status and OpenAI error code.",
            {"endpoint", "status", "code"});
  r.counter("onnx_chat_client_disconnects_total", "Requests whose client left before the end.");
  r.histogram("onnx_chat_time_to_first_token_seconds", "Time from request to first token.",
              {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  r.histogram("onnx_chat_inter_token_seconds", "Time between two tokens of one choice.",
              {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  r.histogram("onnx_chat_queue_seconds", "Time a generation waited for a slot.", {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30});
  r.histogram("onnx_chat_encode_seconds", "Encoder time per request and modality (requests that ran the encoder).",
              {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, {"modality"});
  r.counter("onnx_chat_media_segments_total", "Images and audio windows: run through an encoder, or cache hits.",
            {"result"});
  r.counter("onnx_chat_prompt_cached_tokens_total", "Prompt tokens served from the prefix cache.");
  r.counter("onnx_chat_prompt_media_tokens_total", "Prompt tokens standing for media, by modality.", {"modality"});
  // The engine's numbers (Engine::stats()), set at each scrape.
  r.gauge("onnx_chat_queue_depth", "Requests waiting for a slot.");
  r.gauge("onnx_chat_running_requests", "Requests being generated.");
  r.counter("onnx_chat_requests_total", "Generation requests accepted.");
  r.counter("onnx_chat_requests_finished_total", "Generation requests finished.");
  r.counter("onnx_chat_requests_cancelled_total", "Generation requests cancelled.");
  r.counter("onnx_chat_requests_failed_total", "Generation requests failed.");
  r.counter("onnx_chat_requests_rejected_total", "Generation requests rejected (queue full).");
  r.counter("onnx_chat_prompt_tokens_total", "Prompt tokens processed.");
  r.counter("onnx_chat_completion_tokens_total", "Tokens generated.");
  r.counter("onnx_chat_prompt_seconds_total", "Time spent in prefill.");
  r.counter("onnx_chat_decode_seconds_total", "Time spent decoding.");
  r.gauge("onnx_chat_batch_size", "Sequences in the last decode step.");
  r.counter("onnx_chat_decode_steps_total", "Decode steps run.");
  r.counter("onnx_chat_decode_rows_total", "Sequences advanced by decode steps (batch sizes summed).");
  r.gauge("onnx_chat_kv_budget_bytes", "KV cache memory budget (0: unlimited).");
  r.gauge("onnx_chat_kv_bytes_in_use", "KV cache memory held by running sequences and cached prefixes.");
  r.gauge("onnx_chat_prefix_cache_bytes", "KV cache memory held by cached prefixes.");
  r.gauge("onnx_chat_encoder_cache_bytes", "Memory held by media encoder outputs kept for reuse.");
  r.gauge("onnx_chat_prefix_cache_entries", "Cached prefixes.");
  r.counter("onnx_chat_prefix_cache_hits_total", "Requests that reused a cached prefix.");
  r.counter("onnx_chat_prefix_tokens_reused_total", "Prompt tokens taken from cached prefixes instead of prefilled.");
}

void ApiMetrics::count_request(const std::string& endpoint, int status) {
  registry_.add("onnx_chat_http_requests_total", 1, {endpoint, std::to_string(status)});
}

void ApiMetrics::count_error(const std::string& endpoint, int status, const std::string& code) {
  registry_.add("onnx_chat_errors_total", 1, {endpoint, std::to_string(status), code});
}

void ApiMetrics::count_disconnect() { registry_.add("onnx_chat_client_disconnects_total"); }

void ApiMetrics::observe_ttft(double seconds) { registry_.observe("onnx_chat_time_to_first_token_seconds", seconds); }

void ApiMetrics::observe_inter_token(double seconds) { registry_.observe("onnx_chat_inter_token_seconds", seconds); }

void ApiMetrics::observe_done(const engine::Usage& u, const engine::Timings& t) {
  registry_.observe("onnx_chat_queue_seconds", t.queue_ms / 1000);
  if (t.encode_image_ms > 0) registry_.observe("onnx_chat_encode_seconds", t.encode_image_ms / 1000, {"image"});
  if (t.encode_audio_ms > 0) registry_.observe("onnx_chat_encode_seconds", t.encode_audio_ms / 1000, {"audio"});
  if (t.media_encoded) registry_.add("onnx_chat_media_segments_total", t.media_encoded, {"encoded"});
  if (t.media_cache_hits) registry_.add("onnx_chat_media_segments_total", t.media_cache_hits, {"cache_hit"});
  if (u.cached_tokens) registry_.add("onnx_chat_prompt_cached_tokens_total", u.cached_tokens);
  if (u.image_tokens) registry_.add("onnx_chat_prompt_media_tokens_total", u.image_tokens, {"image"});
  if (u.audio_tokens) registry_.add("onnx_chat_prompt_media_tokens_total", u.audio_tokens, {"audio"});
}

std::string ApiMetrics::prometheus(const engine::EngineStats* s) {
  if (s) {
    auto& r = registry_;
    r.set("onnx_chat_queue_depth", static_cast<double>(s->queued));
    r.set("onnx_chat_running_requests", static_cast<double>(s->running));
    r.set("onnx_chat_requests_total", static_cast<double>(s->requests_total));
    r.set("onnx_chat_requests_finished_total", static_cast<double>(s->requests_finished));
    r.set("onnx_chat_requests_cancelled_total", static_cast<double>(s->requests_cancelled));
    r.set("onnx_chat_requests_failed_total", static_cast<double>(s->requests_failed));
    r.set("onnx_chat_requests_rejected_total", static_cast<double>(s->requests_rejected));
    r.set("onnx_chat_prompt_tokens_total", static_cast<double>(s->prompt_tokens_total));
    r.set("onnx_chat_completion_tokens_total", static_cast<double>(s->completion_tokens_total));
    r.set("onnx_chat_prompt_seconds_total", s->prompt_seconds_total);
    r.set("onnx_chat_decode_seconds_total", s->decode_seconds_total);
    r.set("onnx_chat_batch_size", static_cast<double>(s->batch_size));
    r.set("onnx_chat_decode_steps_total", static_cast<double>(s->decode_steps_total));
    r.set("onnx_chat_decode_rows_total", static_cast<double>(s->decode_rows_total));
    r.set("onnx_chat_kv_budget_bytes", static_cast<double>(s->kv_budget_bytes));
    r.set("onnx_chat_kv_bytes_in_use", static_cast<double>(s->kv_bytes_in_use));
    r.set("onnx_chat_prefix_cache_bytes", static_cast<double>(s->prefix_cache_bytes));
    r.set("onnx_chat_encoder_cache_bytes", static_cast<double>(s->encoder_cache_bytes));
    r.set("onnx_chat_prefix_cache_entries", static_cast<double>(s->prefix_cache_entries));
    r.set("onnx_chat_prefix_cache_hits_total", static_cast<double>(s->prefix_cache_hits));
    r.set("onnx_chat_prefix_tokens_reused_total", static_cast<double>(s->prefix_tokens_reused));
  }
  return registry_.text();
}

}  // namespace oc::api
