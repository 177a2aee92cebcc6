// Handlers of the generation endpoints (internal to the API layer).
#pragma once

#include <memory>

#include "api/http_server.h"
#include "api/model_names.h"
#include "api/openai_types.h"
#include "api/request_trace.h"
#include "pipeline/pipeline.h"

namespace oc::api {

struct HandlerContext {
  pipeline::Pipeline pipeline;  // the served engine, with the server's media policy
  ServedName served;
  ParseLimits limits;
  std::shared_ptr<RequestTrace> trace;  // never null
};

// Throw oc::Error for everything that fails before the response starts (parse, model name,
// template, limits, queue full); the caller maps it. Failures after a stream started become an SSE
// error event.
void handle_chat_completions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res);
void handle_completions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res);
// POST /v1/audio/transcriptions (translate = false) and /v1/audio/translations (true).
void handle_transcriptions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res, bool translate);

// Throws NotFound (code model_not_found) unless `name` names the served model.
void check_model_name(const std::string& name, const ServedName& served);

}  // namespace oc::api
