#include "api/request_trace.h"

#include <cstdio>
#include <random>

#include "common/log_fields.h"

namespace oc::api {
namespace {

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string("req-") + buf;
}

// A client's X-Request-Id is echoed when it is short and printable.
bool usable_request_id(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (c <= ' ' || c > '~') return false;
  return true;
}

double ms_round(double ms) { return static_cast<double>(static_cast<int64_t>(ms * 10 + 0.5)) / 10; }

}  // namespace

RequestTrace::RequestTrace(ApiMetrics& metrics, std::string endpoint, const HttpRequest& req, bool logged_at_info)
    : metrics_(metrics), endpoint_(std::move(endpoint)), method_(req.method), path_(req.path), info_(logged_at_info) {
  std::string given = req.header("X-Request-Id");
  request_id_ = usable_request_id(given) ? given : new_request_id();
}

void RequestTrace::set_id(const std::string& id) {
  std::lock_guard lock(mutex_);
  id_ = id;
}

void RequestTrace::set_status(int status) {
  std::lock_guard lock(mutex_);
  status_ = status;
}

void RequestTrace::set_shape(bool stream, int n) {
  std::lock_guard lock(mutex_);
  stream_ = stream;
  n_ = n;
}

void RequestTrace::tokens(int index, size_t count) {
  if (count == 0) return;
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  if (ttft_ms_ < 0) {
    ttft_ms_ = std::chrono::duration<double, std::milli>(now - start_).count();
    metrics_.observe_ttft(ttft_ms_ / 1000);
  }
  auto [it, first] = last_token_.try_emplace(index, now);
  if (first) return;
  const double gap = std::chrono::duration<double>(now - it->second).count() / static_cast<double>(count);
  for (size_t i = 0; i < count; ++i) metrics_.observe_inter_token(gap);
  it->second = now;
}

void RequestTrace::done(const engine::Usage& u, const engine::Timings& t) {
  metrics_.observe_done(u, t);
  std::lock_guard lock(mutex_);
  generations_++;
  usage_.prompt_tokens += u.prompt_tokens;
  usage_.completion_tokens += u.completion_tokens;
  usage_.cached_tokens += u.cached_tokens;
  usage_.image_tokens += u.image_tokens;
  usage_.audio_tokens += u.audio_tokens;
  timings_.queue_ms += t.queue_ms;
  timings_.prompt_ms += t.prompt_ms;
  timings_.encode_image_ms += t.encode_image_ms;
  timings_.encode_audio_ms += t.encode_audio_ms;
  timings_.media_encoded += t.media_encoded;
  timings_.media_cache_hits += t.media_cache_hits;
  timings_.decode_ms += t.decode_ms;
}

void RequestTrace::error(const ApiError& e) {
  const std::string code = e.code.empty() ? e.type : e.code;
  metrics_.count_error(endpoint_, e.status, code);
  std::lock_guard lock(mutex_);
  if (status_ == 0 || status_ < 400) error_code_ = code;
  if (status_ == 0) status_ = e.status;
}

void RequestTrace::client_gone() {
  metrics_.count_disconnect();
  std::lock_guard lock(mutex_);
  client_gone_ = true;
}

RequestTrace::~RequestTrace() {
  const log::Level level = info_ ? log::Level::Info : log::Level::Debug;
  if (level < log::level()) return;
  try {
    std::lock_guard lock(mutex_);
    log::Fields f = {{"request_id", request_id_},
                     {"route", endpoint_},
                     {"method", method_},
                     {"path", path_},
                     {"status", int64_t{status_}}};
    if (!id_.empty()) f.emplace_back("id", id_);
    if (n_) {
      f.emplace_back("stream", stream_);
      f.emplace_back("n", int64_t{n_});
    }
    f.emplace_back("outcome", std::string(client_gone_ ? "client_gone" : !error_code_.empty() ? "error" : "ok"));
    if (!error_code_.empty()) f.emplace_back("error", error_code_);
    if (generations_) {
      f.emplace_back("prompt_tokens", int64_t{usage_.prompt_tokens});
      f.emplace_back("completion_tokens", int64_t{usage_.completion_tokens});
      f.emplace_back("cached_tokens", int64_t{usage_.cached_tokens});
      if (usage_.image_tokens) f.emplace_back("image_tokens", int64_t{usage_.image_tokens});
      if (usage_.audio_tokens) f.emplace_back("audio_tokens", int64_t{usage_.audio_tokens});
      f.emplace_back("queue_ms", ms_round(timings_.queue_ms));
      f.emplace_back("prompt_ms", ms_round(timings_.prompt_ms));
      if (timings_.encode_image_ms > 0) f.emplace_back("encode_image_ms", ms_round(timings_.encode_image_ms));
      if (timings_.encode_audio_ms > 0) f.emplace_back("encode_audio_ms", ms_round(timings_.encode_audio_ms));
      f.emplace_back("decode_ms", ms_round(timings_.decode_ms));
    }
    if (ttft_ms_ >= 0) f.emplace_back("ttft_ms", ms_round(ttft_ms_));
    f.emplace_back("total_ms", ms_round(std::chrono::duration<double, std::milli>(Clock::now() - start_).count()));
    log::write(level, "request", f);
  } catch (...) {
    // A log line is never worth an exception out of a destructor.
  }
}

}  // namespace oc::api
