// onnx-chat serve: the OpenAI-compatible HTTP server.
// Lifecycle: bind (so /health answers at once), load the model in the background (/ready is 503
// until then), serve; on SIGINT/SIGTERM stop accepting, let in-flight requests finish for up to
// --shutdown-timeout seconds, cancel the rest, exit 0.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "api/server.h"
#include "commands.h"
#include "common/allocator.h"
#include "common/error.h"
#include "common/log.h"
#include "model_setup.h"

namespace oc::app {
namespace {

int serve(const Options& o) {
  if (o.model.empty()) {
    std::fprintf(stderr, "onnx-chat serve: %s\n", no_model_message().c_str());
    return 2;
  }
  // Every thread started from here on inherits the blocked set; the main thread takes the
  // signals with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // internal: the model failed to load
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  keep_allocator_lean();

  api::ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.api_key = o.api_key;
  so.cors_origins = o.cors_origins;
  so.max_body_bytes = o.max_body_bytes;
  so.http_threads = o.http_threads > 0 ? static_cast<size_t>(o.http_threads) : 64;
  so.max_images = std::max(0, o.max_images);
  so.max_audio_clips = std::max(0, o.max_audio_clips);
  so.media = media_policy(o);
  so.media.url_allow = o.media_url_allow;
  so.media.file_allow = o.media_file_allow;
  so.media.fetch_timeout_s = o.media_fetch_timeout > 0 ? o.media_fetch_timeout : 10;
  api::ServerOptions copy = so;
  api::ApiServer server(std::move(copy));
  int port = server.bind();
  log::info("listening on http://" + o.host + ":" + std::to_string(port) +
            (o.api_key.empty() ? "" : " (API key required)") + "; memory allocator: " + allocator_name());
  std::thread http([&] { server.run(); });

  std::string load_error;
  std::thread loader([&] {
    try {
      LoadedEngine loaded = load_engine(o, server.track_loading(o.model, hub::stderr_progress()));
      server.set_repo_id(loaded.repo_id);
      server.set_engine(loaded.engine);
      const models::Model& model = server.engine()->model();
      std::string lazy;
      for (auto m : {models::Modality::Image, models::Modality::Audio})
        if (model.supports(m) && !model.loaded(m))
          lazy += std::string(lazy.empty() ? "" : " and ") + models::modality_name(m);
      log::info("ready: serving " + model.id() + " at http://" + o.host + ":" + std::to_string(port) + "/" +
                (lazy.empty() ? "" : " (the " + lazy + " encoders load on first use)"));
    } catch (const std::exception& e) {
      load_error = e.what();
      kill(getpid(), SIGUSR1);
    }
  });

  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  if (sig == SIGUSR1) {
    loader.join();
    log::error("cannot load the model: " + load_error);
    server.stop();
    http.join();
    return 1;
  }
  log::info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": shutting down");
  server.stop();
  if (!server.engine()) {
    // Still loading (or downloading): nothing is in flight, and a load cannot be interrupted.
    http.join();
    log::info("shutdown during model load");
    std::fflush(stderr);
    std::_Exit(0);
  }
  loader.join();

  // In-flight requests get --shutdown-timeout seconds; then, or at a second SIGINT/SIGTERM, the
  // engine cancels them (their streams end with a "cancelled" error event).
  std::atomic<bool> done{false};
  std::thread reaper([&] {
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(o.shutdown_timeout > 0 ? o.shutdown_timeout : 0);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      timespec ts{0, 100'000'000};
      if (sigtimedwait(&stop_set, nullptr, &ts) > 0) {
        log::warn("second signal: cancelling in-flight requests now");
        break;
      }
    }
    if (!done) {
      log::warn("shutdown: cancelling in-flight requests");
      if (auto e = server.engine()) e->shutdown(false);
    }
  });
  http.join();
  done = true;
  reaper.join();
  if (auto e = server.engine()) e->shutdown(false);
  log::info("shutdown complete");
  return 0;
}

RegisterCommand reg{
    {"serve", "serve the OpenAI-compatible HTTP API", [](CLI::App& cmd, Options& o) {
       add_options(cmd, o, {"model",          "preset",       "revision",         "modalities",
                            "cache-dir",      "verify",       "download-workers", "download-retries",
                            "provider",       "device-id",    "threads",          "spin",
                            "host",           "port",         "api-key",          "cors-origins",
                            "max-body-bytes", "http-threads", "shutdown-timeout", "queue-size",
                            "parallel",       "context",      "matmul-precision", "log-level",
                            "log-format"});
       // scheduling and memory
       add_options(cmd, o, {"kv-budget-mb", "step-tokens", "prefill-chunk", "no-prefix-cache", "request-timeout"});
       // media input
       add_options(cmd, o,
                   {"max-images", "max-audio-clips", "max-image-pixels", "max-audio-seconds", "max-media-mb",
                    "encoder-cache-mb", "media-url-allow", "media-file-allow", "media-fetch-timeout"});
       return [&o] { return serve(o); };
     }}};

}  // namespace
}  // namespace oc::app
