// Routes, auth, CORS and lifecycle of the OpenAI-compatible server.
#include "api/server.h"

#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "api/handlers.h"
#include "api/http_server.h"
#include "api/request_trace.h"
#include "api/web_assets.h"
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
  hub::ProgressBoard download;
  std::string loading_model;  // guarded by mutex

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

  using RouteFn = std::function<void(const HttpRequest&, HttpResponse&, const std::shared_ptr<engine::Engine>&,
                                     const std::shared_ptr<RequestTrace>&)>;

  // Wraps a handler: auth (for /v1), error mapping, metrics, the request log line. Handlers never
  // let an exception out.
  Handler wrap_traced(std::string endpoint, bool needs_auth, bool needs_engine, RouteFn fn) {
    return [this, endpoint = std::move(endpoint), needs_auth, needs_engine, fn = std::move(fn)](const HttpRequest& req,
                                                                                                HttpResponse& res) {
      auto trace = std::make_shared<RequestTrace>(metrics, endpoint, req, needs_auth);
      res.set_header("X-Request-Id", trace->request_id());
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
        fn(req, res, e, trace);
      } catch (...) {
        ApiError a = api_error(std::current_exception());
        if (a.status >= 500) log::warn(endpoint + ": " + a.message);
        write_error(res, a);
        trace->error(a);
      }
      trace->set_status(res.status);
      metrics.count_request(endpoint, res.status);
    };
  }

  Handler wrap(std::string endpoint, bool needs_auth, bool needs_engine,
               std::function<void(const HttpRequest&, HttpResponse&, const std::shared_ptr<engine::Engine>&)> fn) {
    return wrap_traced(std::move(endpoint), needs_auth, needs_engine,
                       [fn = std::move(fn)](const HttpRequest& req, HttpResponse& res, const auto& e, const auto&) {
                         fn(req, res, e);
                       });
  }

  // A generation endpoint: its handler gets the context (engine, limits, trace).
  Handler generation(std::string endpoint,
                     std::function<void(const HandlerContext&, const HttpRequest&, HttpResponse&)> handler) {
    return wrap_traced(
        std::move(endpoint), true, true,
        [this, handler = std::move(handler)](const HttpRequest& req, HttpResponse& res, const auto& e,
                                             const auto& trace) { handler(context(e, trace), req, res); });
  }

  json model_entry(const std::string& id, const engine::Engine& e) const {
    const auto& info = e.model().info();
    json components = json::array();
    for (const auto& c : e.model().components()) {
      json o = {{"name", c.name}, {"dtype", c.dtype}, {"bytes", c.bytes}, {"loaded", c.loaded}};
      if (!c.note.empty()) o["note"] = c.note;
      if (!c.matmul_precision.empty()) o["matmul_precision"] = c.matmul_precision;
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
                  {"matmul_precision", info.matmul_precision},
                  {"context_length", e.context_length()},
                  {"modalities", modalities},
                  {"components", components}};
    if (!s.repo_id.empty()) entry["repo_id"] = s.repo_id;
    return entry;
  }

  // /ready while the model is not served yet: 503 with an OpenAI error body, plus what is
  // happening (downloading with its progress, or loading) for the page and scripts.
  void loading_status(HttpResponse& res) {
    const bool downloading = download.has_progress() && download.latest().phase != "done";
    std::string model;
    {
      std::lock_guard lock(mutex);
      model = loading_model;
    }
    std::string message = downloading ? "the model is downloading" : "the model is still loading";
    write_error(res, api_error(Error(ErrorKind::Unavailable, message)));
    json body = json::parse(res.body);
    body["status"] = "loading";
    body["phase"] = downloading ? "downloading" : "loading";
    body["message"] = message;
    if (!model.empty()) body["model"] = model;
    if (download.has_progress()) {
      const hub::Progress p = download.latest();
      json active = json::array();
      for (const auto& f : p.active) active.push_back({{"path", f.path}, {"done", f.done}, {"total", f.total}});
      body["download"] = {{"repo_id", p.repo_id},
                          {"phase", p.phase},
                          {"total_bytes", p.total_bytes},
                          {"done_bytes", p.done_bytes},
                          {"files_total", p.files_total},
                          {"files_done", p.files_done},
                          {"rate_bps", p.rate_bps},
                          {"eta_s", p.eta_s},
                          {"active", active}};
    }
    res.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  void install_routes() {
    http->set_error_body([](int status, HttpResponse& res) { write_error(res, api_error_for_status(status)); });
    http->set_response_headers([this](const HttpRequest& req) { return cors_headers(req); });

    http->route("GET", "/health", wrap("health", false, false, [](const HttpRequest&, HttpResponse& res, const auto&) {
                  res.body = R"({"status":"ok"})";
                }));
    http->route("GET", "/ready",
                wrap("ready", false, false, [this](const HttpRequest&, HttpResponse& res, const auto& e) {
                  if (!e) return loading_status(res);
                  json modalities = json::object();
                  for (auto m : {models::Modality::Image, models::Modality::Audio})
                    modalities[models::modality_name(m)] = {{"supported", e->model().supports(m)},
                                                            {"loaded", e->model().loaded(m)}};
                  res.body = json{{"status", "ready"}, {"model", e->model().id()}, {"modalities", modalities}}.dump();
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
    http->route("POST", "/v1/chat/completions", generation("chat", handle_chat_completions));
    http->route("POST", "/v1/responses", generation("responses", handle_responses));
    http->route("POST", "/v1/completions", generation("completions", handle_completions));
    http->route("POST", "/v1/audio/transcriptions",
                generation("transcriptions", [](const HandlerContext& c, const HttpRequest& req, HttpResponse& res) {
                  handle_transcriptions(c, req, res, false);
                }));
    http->route("POST", "/v1/audio/translations",
                generation("translations", [](const HandlerContext& c, const HttpRequest& req, HttpResponse& res) {
                  handle_transcriptions(c, req, res, true);
                }));
    http->route("GET", "/|/assets/.+",
                wrap("webui", false, false, [](const HttpRequest& req, HttpResponse& res, const auto&) {
                  if (!serve_web_asset(req, res)) throw Error(ErrorKind::NotFound, "no such file: " + req.path);
                }));
    http->route("OPTIONS", "/.*", [](const HttpRequest&, HttpResponse& res) {
      res.status = 204;
      res.content_type.clear();
    });
  }

  HandlerContext context(const std::shared_ptr<engine::Engine>& e, const std::shared_ptr<RequestTrace>& trace) {
    ParseLimits limits;
    limits.max_n = options.max_n;
    limits.max_images = options.max_images;
    limits.max_audio_clips = options.max_audio_clips;
    return HandlerContext{pipeline::Pipeline(e, options.media), served(*e), limits, trace, responses};
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

hub::ProgressFn ApiServer::track_loading(std::string model, hub::ProgressFn forward) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->loading_model = std::move(model);
  }
  return impl_->download.callback(std::move(forward));
}

void ApiServer::set_repo_id(std::string repo_id) {
  std::lock_guard lock(impl_->mutex);
  impl_->options.repo_id = std::move(repo_id);
}

void ApiServer::run() { impl_->http->run(); }

void ApiServer::stop() { impl_->http->stop(); }

}  // namespace oc::api
