// Routes, auth, CORS and lifecycle of the OpenAI-compatible server.
#include "api/server.h"

#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "api/handlers.h"
#include "api/http_server.h"
#include "api/webui.h"
#include "common/log.h"
#include "common/strings.h"
#include "models/variants.h"

namespace oc::api {

using json = nlohmann::json;

struct ApiServer::Impl {
  ServerOptions options;
  std::unique_ptr<HttpServer> http;
  ApiMetrics metrics;
  // Conversations of /v1/responses for previous_response_id (the newest 1024).
  std::shared_ptr<ResponseStore> responses = std::make_shared<ResponseStore>(1024);
  mutable std::mutex mutex;
  std::shared_ptr<engine::Engine> engine;
  int64_t started = static_cast<int64_t>(std::time(nullptr));

  std::shared_ptr<engine::Engine> current_engine() const {
    std::lock_guard lock(mutex);
    return engine;
  }

  ServedName served(const engine::Engine& e) const {
    const auto& info = e.model().info();
    ServedName s;
    s.id = info.id;
    {
      std::lock_guard lock(mutex);
      s.repo_id = options.repo_id;
    }
    s.preset = info.preset.empty() ? models::default_preset().name : info.preset;
    return s;
  }

  // Constant-time comparison of the bearer token.
  bool authorized(const HttpRequest& req) const {
    if (options.api_key.empty()) return true;
    std::string h = req.header("Authorization");
    const std::string prefix = "Bearer ";
    if (h.size() < prefix.size() || !iequals(std::string_view(h).substr(0, prefix.size()), prefix)) return false;
    std::string_view key = std::string_view(h).substr(prefix.size());
    const std::string& want = options.api_key;
    unsigned diff = key.size() == want.size() ? 0u : 1u;
    for (size_t i = 0; i < want.size(); ++i) diff |= static_cast<unsigned>(want[i] ^ (i < key.size() ? key[i] : 0));
    return diff == 0;
  }

  Headers cors_headers(const HttpRequest& req) const {
    Headers h;
    if (options.cors_origins.empty()) return h;
    std::string origin = req.header("Origin");
    bool any = false, listed = false;
    for (const auto& o : options.cors_origins) {
      if (o == "*") any = true;
      if (!origin.empty() && iequals(o, origin)) listed = true;
    }
    if (listed) {
      h.emplace_back("Access-Control-Allow-Origin", origin);
      h.emplace_back("Vary", "Origin");
    } else if (any) {
      h.emplace_back("Access-Control-Allow-Origin", "*");
    } else {
      return h;
    }
    h.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    h.emplace_back("Access-Control-Allow-Headers",
                   "Authorization, Content-Type, OpenAI-Organization, OpenAI-Project, "
                   "X-Stainless-Lang, X-Stainless-Package-Version, X-Stainless-OS, "
                   "X-Stainless-Arch, X-Stainless-Runtime, X-Stainless-Runtime-Version, "
                   "X-Stainless-Retry-Count, X-Stainless-Timeout");
    h.emplace_back("Access-Control-Max-Age", "600");
    return h;
  }

  // Wraps a handler: auth (for /v1), error mapping, metrics. Handlers never let an exception out.
  Handler wrap(std::string endpoint, bool needs_auth, bool needs_engine,
               std::function<void(const HttpRequest&, HttpResponse&, const std::shared_ptr<engine::Engine>&)> fn) {
    return [this, endpoint = std::move(endpoint), needs_auth, needs_engine, fn = std::move(fn)](const HttpRequest& req,
                                                                                                HttpResponse& res) {
      try {
        if (needs_auth && !authorized(req))
          throw Error(ErrorKind::Unauthorized,
                      req.has_header("Authorization")
                          ? "Incorrect API key provided. Pass the server's key as 'Authorization: Bearer KEY'."
                          : "You didn't provide an API key. Pass it as 'Authorization: Bearer KEY'.",
                      "", "invalid_api_key");
        size_t body_bytes = req.body.size();
        for (const auto& f : req.form) body_bytes += f.data.size();
        if (options.max_body_bytes && body_bytes > options.max_body_bytes)
          throw Error(ErrorKind::TooLarge,
                      "request body exceeds the server's limit of " + std::to_string(options.max_body_bytes) +
                          " bytes (--max-body-bytes)",
                      "", "request_too_large");
        auto e = current_engine();
        if (needs_engine && !e) throw Error(ErrorKind::Unavailable, "the model is still loading; retry shortly");
        fn(req, res, e);
      } catch (...) {
        ApiError a = api_error(std::current_exception());
        if (a.status >= 500) log::warn(endpoint + ": " + a.message);
        write_error(res, a);
      }
      metrics.count_request(endpoint, res.status);
    };
  }

  json model_entry(const std::string& id, const engine::Engine& e) const {
    const auto& info = e.model().info();
    json components = json::array();
    for (const auto& c : e.model().components()) {
      json o = {{"name", c.name}, {"dtype", c.dtype}, {"bytes", c.bytes}, {"loaded", c.loaded}};
      if (!c.note.empty()) o["note"] = c.note;
      components.push_back(o);
    }
    json modalities = json::object();
    for (auto m : {models::Modality::Text, models::Modality::Image, models::Modality::Audio})
      modalities[models::modality_name(m)] = {{"supported", e.model().supports(m)}, {"loaded", e.model().loaded(m)}};
    ServedName s = served(e);
    json entry = {{"id", id},
                  {"object", "model"},
                  {"created", started},
                  {"owned_by", "onnx-chat"},
                  {"loaded", true},
                  {"family", info.family},
                  {"preset", s.preset},
                  {"context_length", e.context_length()},
                  {"modalities", modalities},
                  {"components", components}};
    if (!s.repo_id.empty()) entry["repo_id"] = s.repo_id;
    return entry;
  }

  void install_routes() {
    http->set_error_body([](int status, HttpResponse& res) { write_error(res, api_error_for_status(status)); });
    http->set_response_headers([this](const HttpRequest& req) { return cors_headers(req); });

    http->route("GET", "/health", wrap("health", false, false, [](const HttpRequest&, HttpResponse& res, const auto&) {
                  res.body = R"({"status":"ok"})";
                }));
    http->route("GET", "/ready", wrap("ready", false, false, [](const HttpRequest&, HttpResponse& res, const auto& e) {
                  if (!e) throw Error(ErrorKind::Unavailable, "the model is still loading");
                  res.body = json{{"status", "ready"}, {"model", e->model().id()}}.dump();
                }));
    http->route("GET", "/metrics",
                wrap("metrics", false, false, [this](const HttpRequest&, HttpResponse& res, const auto& e) {
                  engine::EngineStats stats;
                  if (e) stats = e->stats();
                  res.content_type = "text/plain; version=0.0.4";
                  res.body = metrics.prometheus(e ? &stats : nullptr);
                }));
    http->route(
        "GET", "/v1/models", wrap("models", true, true, [this](const HttpRequest&, HttpResponse& res, const auto& e) {
          ServedName s = served(*e);
          json data = json::array({model_entry(s.id, *e), model_entry(s.id + "/" + s.preset, *e)});
          res.body = json{{"object", "list"}, {"data", data}}.dump(-1, ' ', false, json::error_handler_t::replace);
        }));
    http->route("GET", "/v1/models/(.+)",
                wrap("models", true, true, [this](const HttpRequest& req, HttpResponse& res, const auto& e) {
                  const std::string& name = req.path_params.at(0);
                  check_model_name(name, served(*e));
                  res.body = model_entry(name, *e).dump(-1, ' ', false, json::error_handler_t::replace);
                }));
    http->route("POST", "/v1/chat/completions",
                wrap("chat", true, true, [this](const HttpRequest& req, HttpResponse& res, const auto& e) {
                  handle_chat_completions(context(e), req, res);
                }));
    http->route("POST", "/v1/responses",
                wrap("responses", true, true, [this](const HttpRequest& req, HttpResponse& res, const auto& e) {
                  handle_responses(context(e), req, res);
                }));
    http->route("POST", "/v1/completions",
                wrap("completions", true, true, [this](const HttpRequest& req, HttpResponse& res, const auto& e) {
                  handle_completions(context(e), req, res);
                }));
    http->route("POST", "/v1/audio/transcriptions",
                wrap("transcriptions", true, true, [this](const HttpRequest& req, HttpResponse& res, const auto& e) {
                  handle_transcriptions(context(e), req, res, false);
                }));
    http->route("POST", "/v1/audio/translations",
                wrap("translations", true, true, [this](const HttpRequest& req, HttpResponse& res, const auto& e) {
                  handle_transcriptions(context(e), req, res, true);
                }));
    http->route("GET", "/", wrap("webui", false, false, [](const HttpRequest&, HttpResponse& res, const auto&) {
                  res.content_type = "text/html; charset=utf-8";
                  res.body = std::string(web_ui_html());
                }));
    http->route("OPTIONS", "/.*", [](const HttpRequest&, HttpResponse& res) {
      res.status = 204;
      res.content_type.clear();
    });
  }

  HandlerContext context(const std::shared_ptr<engine::Engine>& e) {
    HandlerContext c;
    c.engine = e;
    c.served = served(*e);
    c.limits.max_n = options.max_n;
    c.limits.max_images = options.media.max_images;
    c.limits.max_audio_clips = options.media.max_audio_clips;
    c.media = options.media;
    c.metrics = &metrics;
    c.responses = responses;
    return c;
  }
};

ApiServer::ApiServer(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  HttpServerOptions h;
  h.host = impl_->options.host;
  h.port = impl_->options.port;
  h.max_body_bytes = impl_->options.max_body_bytes;
  h.threads = impl_->options.http_threads;
  impl_->http = make_http_server(h);
  impl_->install_routes();
}

ApiServer::~ApiServer() = default;

int ApiServer::bind() { return impl_->http->bind(); }

void ApiServer::set_engine(std::shared_ptr<engine::Engine> engine) {
  std::lock_guard lock(impl_->mutex);
  impl_->engine = std::move(engine);
}

std::shared_ptr<engine::Engine> ApiServer::engine() const { return impl_->current_engine(); }

void ApiServer::set_repo_id(std::string repo_id) {
  std::lock_guard lock(impl_->mutex);
  impl_->options.repo_id = std::move(repo_id);
}

void ApiServer::run() { impl_->http->run(); }

void ApiServer::stop() { impl_->http->stop(); }

}  // namespace oc::api
