// Handlers of the generation endpoints (internal to the API layer).
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "api/http_server.h"
#include "api/model_names.h"
#include "api/openai_types.h"
#include "api/request_trace.h"
#include "pipeline/pipeline.h"

namespace oc::api {

// Stored conversations of /v1/responses (previous_response_id): the newest `capacity` responses.
class ResponseStore {
 public:
  explicit ResponseStore(size_t capacity);
  void put(const std::string& id, std::vector<pipeline::Message> conversation);
  std::optional<std::vector<pipeline::Message>> get(const std::string& id) const;

 private:
  mutable std::mutex mu_;
  size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_map<std::string, std::vector<pipeline::Message>> items_;
};

struct HandlerContext {
  pipeline::Pipeline pipeline;  // the served engine, with the server's media policy
  ServedName served;
  ParseLimits limits;
  std::shared_ptr<RequestTrace> trace;       // never null
  std::shared_ptr<ResponseStore> responses;  // null: nothing is stored
};

// Throw oc::Error for everything that fails before the response starts (parse, model name,
// template, limits, queue full); the caller maps it. Failures after a stream started become an SSE
// error event.
void handle_chat_completions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res);
void handle_completions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res);
// POST /v1/responses (on the chat completions path).
void handle_responses(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res);
// A chat request ready to submit: the prompt through the pipeline (media, chat template with
// tools) and the engine request (sampling, stop, max_tokens, output constraint), as chat
// completions and responses build it. Errors about one media part name it in the request.
struct ChatGeneration {
  pipeline::Prepared prepared;
  engine::GenerationRequest request;
};
ChatGeneration chat_generation(const HandlerContext& ctx, const ChatRequest& cr, const std::string& id);
// POST /v1/audio/transcriptions (translate = false) and /v1/audio/translations (true).
void handle_transcriptions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res, bool translate);

// Throws NotFound (code model_not_found) unless `name` names the served model.
void check_model_name(const std::string& name, const ServedName& served);

}  // namespace oc::api
