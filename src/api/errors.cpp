#include "api/errors.h"

#include <nlohmann/json.hpp>

#include "template/chat_template.h"

namespace oc::api {

std::string param_name(const Location& at) {
  std::string out;
  if (at.message >= 0) {
    out = "messages[" + std::to_string(at.message) + "]";
    if (at.part >= 0) out += ".content[" + std::to_string(at.part) + "]";
    return out;
  }
  out = at.field;
  if (at.part >= 0) out += "[" + std::to_string(at.part) + "]";
  return out;
}

ApiError api_error(const Error& e) {
  ApiError a;
  a.message = e.what();
  a.param = e.param();
  if (a.param.empty() && !e.location().empty()) {
    a.param = param_name(e.location());
    a.message = a.param + ": " + a.message;
  }
  a.code = e.code();
  a.type = "invalid_request_error";
  switch (e.kind()) {
    case ErrorKind::InvalidRequest:
      a.status = 400;
      break;
    case ErrorKind::Unsupported:
      a.status = 400;
      if (a.code.empty()) a.code = "unsupported_parameter";
      break;
    case ErrorKind::Unauthorized:
      a.status = 401;
      a.type = "authentication_error";
      if (a.code.empty()) a.code = "invalid_api_key";
      break;
    case ErrorKind::NotFound:
      a.status = 404;
      if (a.code.empty()) a.code = "not_found";
      break;
    case ErrorKind::TooLarge:
      a.status = 413;
      if (a.code.empty()) a.code = "request_too_large";
      break;
    case ErrorKind::Overloaded:
      a.status = 429;
      a.type = "rate_limit_error";
      if (a.code.empty()) a.code = "server_overloaded";
      a.retry_after_s = 1;
      break;
    case ErrorKind::Cancelled:
      a.status = 503;
      a.type = "server_error";
      if (a.code.empty()) a.code = "cancelled";
      break;
    case ErrorKind::Unavailable:
      a.status = 503;
      a.type = "server_error";
      if (a.code.empty()) a.code = "unavailable";
      break;
    case ErrorKind::ModelLoad:
      a.status = 500;
      a.type = "server_error";
      if (a.code.empty()) a.code = "model_load_error";
      break;
    case ErrorKind::Internal:
      a.status = 500;
      a.type = "server_error";
      if (a.code.empty()) a.code = "internal_error";
      break;
  }
  return a;
}

ApiError api_error(std::exception_ptr ep) {
  try {
    if (ep) std::rethrow_exception(ep);
  } catch (const Error& e) {
    return api_error(e);
  } catch (const tmpl::TemplateError& e) {
    return ApiError{400, std::string("chat template: ") + e.what(), "invalid_request_error", "messages",
                    "template_error"};
  } catch (const std::bad_alloc&) {
    return ApiError{500, "out of memory", "server_error", "", "internal_error"};
  } catch (const std::exception& e) {
    return ApiError{500, std::string("internal error: ") + e.what(), "server_error", "", "internal_error"};
  } catch (...) {
  }
  return ApiError{500, "internal error", "server_error", "", "internal_error"};
}

ApiError api_error_for_status(int status) {
  switch (status) {
    case 400:
      return {400, "malformed HTTP request", "invalid_request_error", "", ""};
    case 401:
      return {401, "missing or wrong API key", "authentication_error", "", "invalid_api_key"};
    case 404:
      return {404, "no such route", "invalid_request_error", "", "not_found"};
    case 405:
      return {405, "method not allowed", "invalid_request_error", "", ""};
    case 413:
      return {413, "request body exceeds the server's limit (--max-body-bytes)", "invalid_request_error", "",
              "request_too_large"};
    case 414:
      return {414, "request URI too long", "invalid_request_error", "", ""};
    default:
      break;
  }
  if (status >= 500) return {status, "server error", "server_error", "", ""};
  return {status, "request failed", "invalid_request_error", "", ""};
}

std::string error_json(const ApiError& e) {
  nlohmann::json j;
  j["error"] = {{"message", e.message},
                {"type", e.type},
                {"param", e.param.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param)},
                {"code", e.code.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_sse(const ApiError& e) { return "data: " + error_json(e) + "\n\n"; }

void write_error(HttpResponse& res, const ApiError& e) {
  res.status = e.status;
  res.content_type = "application/json";
  res.body = error_json(e);
  res.stream = nullptr;
  if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
}

}  // namespace oc::api
