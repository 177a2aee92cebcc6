// The OpenAI-compatible server: routes, auth, CORS, limits, metrics and lifecycle around one engine.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "hub/progress.h"
#include "pipeline/media_source.h"

namespace oc::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                        // 0: any free port
  std::string api_key;                    // "" : no auth
  std::vector<std::string> cors_origins;  // empty: no CORS headers; "*": any origin
  size_t max_body_bytes = 64u << 20;
  size_t http_threads = 64;
  std::string repo_id;          // the served model's hub repo id, when known (model names)
  int max_n = 16;               // choices per request
  pipeline::MediaPolicy media;  // image and audio input: limits and allowed sources
  int max_images = 8;           // image parts per request
  int max_audio_clips = 4;      // audio parts per request
};

class ApiServer {
 public:
  explicit ApiServer(ServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds the port (throws oc::Error when it cannot); returns the bound port.
  int bind();
  // The engine serving requests; until it is set /ready answers 503 and /v1 routes 503.
  void set_engine(std::shared_ptr<engine::Engine> engine);
  std::shared_ptr<engine::Engine> engine() const;
  // While the model loads, /ready (503) reports `model` (what --model named) and the download's
  // progress: the returned callback records it and then calls `forward` (the terminal's printer).
  hub::ProgressFn track_loading(std::string model, hub::ProgressFn forward);
  // The served model's hub repo id (accepted as a model name, listed in /v1/models); call before
  // set_engine.
  void set_repo_id(std::string repo_id);
  // Serves until stop(); returns once in-flight requests have completed.
  void run();
  // Stops accepting connections (thread-safe). In-flight requests continue until they finish or
  // the engine cancels them.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace oc::api
