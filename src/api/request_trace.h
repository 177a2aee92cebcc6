// One API request as it runs: its times, tokens and outcome, for the per-request metrics and the
// request log line. The handler and its streamed body share it; the line is written when the last
// of them lets go (after the last byte, or when the client left).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/errors.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "engine/engine.h"

namespace oc::api {

class RequestTrace {
 public:
  // `logged_at_info`: the line is written at info level (else debug: health checks, scrapes).
  RequestTrace(ApiMetrics& metrics, std::string endpoint, const HttpRequest& req, bool logged_at_info);
  ~RequestTrace();
  RequestTrace(const RequestTrace&) = delete;
  RequestTrace& operator=(const RequestTrace&) = delete;

  // X-Request-Id of the request when it sent one, else one made up here.
  const std::string& request_id() const { return request_id_; }
  // The response's id (chatcmpl-..., cmpl-..., trsc-...).
  void set_id(const std::string& id);
  void set_status(int status);
  void set_shape(bool stream, int n);
  // `count` tokens of choice `index` arrived: the first of the request gives the time to first
  // token, later ones the gaps between tokens of a choice.
  void tokens(int index, size_t count);
  // A generation (or one window of a transcription) ended: usage and timings add up.
  void done(const engine::Usage& usage, const engine::Timings& timings);
  // An error answered, or sent as an SSE event once the stream had started.
  void error(const ApiError& e);
  void client_gone();

 private:
  using Clock = std::chrono::steady_clock;
  ApiMetrics& metrics_;
  const std::string endpoint_;
  const std::string method_, path_;
  const bool info_;
  const Clock::time_point start_ = Clock::now();
  std::string request_id_;

  std::mutex mutex_;
  std::string id_;
  int status_ = 0;
  bool stream_ = false;
  int n_ = 0;
  std::string error_code_;
  bool client_gone_ = false;
  double ttft_ms_ = -1;
  std::map<int, Clock::time_point> last_token_;
  int generations_ = 0;
  engine::Usage usage_;
  engine::Timings timings_;
};

}  // namespace oc::api
