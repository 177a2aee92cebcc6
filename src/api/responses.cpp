// POST /v1/responses: the Responses API on the chat completions path (the same engine request,
// built by chat_generation), with typed stream events and previous_response_id from a bounded
// in-memory store.
#include <chrono>
#include <ctime>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "api/errors.h"
#include "api/handlers.h"
#include "api/structured_output.h"

namespace oc::api {

namespace {

using json = nlohmann::json;
constexpr std::chrono::milliseconds kPoll{100};

std::string new_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s%016llx%016llx", prefix, static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// What one response produced.
struct Output {
  std::string text;
  std::vector<ToolCall> calls;
  bool length = false;  // ended at max_output_tokens
  engine::Usage usage;
};

class ResponseBuilder {
 public:
  ResponseBuilder(const ResponsesRequest& rr, const std::string& model)
      : rr_(rr),
        model_(model),
        id_(new_id("resp_")),
        msg_id_(new_id("msg_")),
        created_(static_cast<int64_t>(std::time(nullptr))) {}

  const std::string& id() const { return id_; }
  const std::string& message_id() const { return msg_id_; }

  json message_item(const std::string& text, const char* status) const {
    json content = json::array();
    if (text.size() || std::string(status) == "completed")
      content.push_back(
          {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}, {"logprobs", json::array()}});
    return {{"type", "message"}, {"id", msg_id_}, {"status", status}, {"role", "assistant"}, {"content", content}};
  }
  static json call_item(const ToolCall& c, const std::string& item_id, const char* status) {
    return {{"type", "function_call"},  {"id", item_id},   {"call_id", c.id}, {"name", c.name},
            {"arguments", c.arguments}, {"status", status}};
  }

  json response(const char* status, const Output* out) const {
    json r = {
        {"id", id_},
        {"object", "response"},
        {"created_at", created_},
        {"status", status},
        {"error", nullptr},
        {"incomplete_details", nullptr},
        {"instructions", rr_.instructions.empty() ? json(nullptr) : json(rr_.instructions)},
        {"max_output_tokens", rr_.chat.max_tokens ? json(*rr_.chat.max_tokens) : json(nullptr)},
        {"model", model_},
        {"output", json::array()},
        {"parallel_tool_calls", rr_.chat.parallel_tool_calls},
        {"previous_response_id", rr_.previous_response_id.empty() ? json(nullptr) : json(rr_.previous_response_id)},
        {"store", rr_.store},
        {"temperature", rr_.chat.sampling.temperature ? json(*rr_.chat.sampling.temperature) : json(nullptr)},
        {"top_p", rr_.chat.sampling.top_p ? json(*rr_.chat.sampling.top_p) : json(nullptr)},
        {"text", {{"format", format_json()}}},
        {"tool_choice", tool_choice_json()},
        {"tools", tools_json()},
        {"usage", nullptr},
        {"metadata", json::object()}};
    if (out) {
      if (!out->text.empty() || out->calls.empty()) r["output"].push_back(message_item(out->text, "completed"));
      for (size_t i = 0; i < out->calls.size(); ++i)
        r["output"].push_back(call_item(out->calls[i], call_item_ids_[i], "completed"));
      if (out->length) r["incomplete_details"] = {{"reason", "max_output_tokens"}};
      const auto& u = out->usage;
      r["usage"] = {{"input_tokens", u.prompt_tokens},
                    {"input_tokens_details", {{"cached_tokens", u.cached_tokens}}},
                    {"output_tokens", u.completion_tokens},
                    {"output_tokens_details", {{"reasoning_tokens", 0}}},
                    {"total_tokens", u.prompt_tokens + u.completion_tokens}};
    }
    return r;
  }

  const std::string& call_item_id(size_t i) {
    while (call_item_ids_.size() <= i) call_item_ids_.push_back(new_id("fc_"));
    return call_item_ids_[i];
  }

 private:
  json format_json() const {
    switch (rr_.chat.format.kind) {
      case OutputFormat::Kind::JsonObject:
        return {{"type", "json_object"}};
      case OutputFormat::Kind::JsonSchema:
        return {{"type", "json_schema"}, {"schema", json::parse(rr_.chat.format.schema)}};
      default:
        return {{"type", "text"}};
    }
  }
  json tool_choice_json() const {
    if (rr_.chat.tool_choice == "function") return {{"type", "function"}, {"name", rr_.chat.tool_choice_name}};
    return rr_.chat.tool_choice;
  }
  json tools_json() const {
    json out = json::array();
    for (const auto& t : rr_.chat.tools) {
      json o = {{"type", "function"}, {"name", t.name}, {"strict", t.strict}};
      o["description"] = t.description.empty() ? json(nullptr) : json(t.description);
      o["parameters"] = t.parameters.empty() ? json(nullptr) : json::parse(t.parameters);
      out.push_back(std::move(o));
    }
    return out;
  }

  const ResponsesRequest& rr_;
  std::string model_, id_, msg_id_;
  int64_t created_;
  std::vector<std::string> call_item_ids_;
};

// The conversation after a response (its input and output as chat messages), for a later
// previous_response_id.
std::vector<pipeline::Message> conversation_after(std::vector<pipeline::Message> history, const Output& out) {
  pipeline::Message m;
  m.role = "assistant";
  m.content = out.text;
  m.content_is_null = out.text.empty() && !out.calls.empty();
  if (!out.calls.empty()) {
    tmpl::Array calls;
    for (const auto& c : out.calls)
      calls.push_back(tmpl::Object{{"id", c.id},
                                   {"type", std::string("function")},
                                   {"function", tmpl::Object{{"name", c.name}, {"arguments", c.arguments}}}});
    m.tool_calls = std::move(calls);
  }
  history.push_back(std::move(m));
  return history;
}

class EventWriter {
 public:
  explicit EventWriter(StreamSink& sink) : sink_(sink) {}
  bool send(const char* type, json data) {
    data["type"] = type;
    data["sequence_number"] = seq_++;
    return sink_.write(std::string("event: ") + type + "\ndata: " + dump(data) + "\n\n");
  }

 private:
  StreamSink& sink_;
  int seq_ = 0;
};

}  // namespace

ResponseStore::ResponseStore(size_t capacity) : capacity_(capacity) {}

void ResponseStore::put(const std::string& id, std::vector<pipeline::Message> conversation) {
  std::lock_guard lock(mu_);
  if (capacity_ == 0) return;
  while (order_.size() >= capacity_) {
    items_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(id);
  items_[id] = std::move(conversation);
}

std::optional<std::vector<pipeline::Message>> ResponseStore::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = items_.find(id);
  if (it == items_.end()) return std::nullopt;
  return it->second;
}

void handle_responses(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res) {
  auto rr = std::make_shared<ResponsesRequest>(parse_responses_request(req.body, ctx.limits));
  check_model_name(rr->chat.model, ctx.served);
  // The conversation: the stored one, then this input; instructions in front (never stored).
  std::vector<pipeline::Message> conversation;
  if (!rr->previous_response_id.empty()) {
    auto stored = ctx.responses ? ctx.responses->get(rr->previous_response_id) : std::nullopt;
    if (!stored)
      throw Error(ErrorKind::NotFound, "Previous response with id '" + rr->previous_response_id + "' not found.",
                  "previous_response_id", "previous_response_not_found");
    conversation = std::move(*stored);
  }
  for (auto& m : rr->chat.messages) conversation.push_back(std::move(m));
  ChatRequest& cr = rr->chat;
  cr.messages.clear();
  if (!rr->instructions.empty()) {
    pipeline::Message sys;
    sys.role = "system";
    sys.content = rr->instructions;
    cr.messages.push_back(std::move(sys));
  }
  for (const auto& m : conversation) cr.messages.push_back(m);

  auto builder = std::make_shared<ResponseBuilder>(*rr, ctx.served.id);
  ChatGeneration g = chat_generation(ctx, cr, builder->id());
  ctx.trace->set_id(builder->id());
  ctx.trace->set_shape(cr.stream, 1);
  engine::RequestHandle handle = ctx.pipeline.submit(std::move(g.prepared), std::move(g.request));
  const bool tools = !cr.tools.empty() && cr.tool_choice != "none";
  auto store = ctx.responses;
  auto finish = [rr, store, builder, conversation](const Output& out) {
    if (rr->store && store) store->put(builder->id(), conversation_after(conversation, out));
  };

  if (!cr.stream) {
    Output out;
    for (;;) {
      auto ev = handle.next(kPoll);
      if (!ev) {
        if (req.client_connected && !req.client_connected()) {
          handle.cancel();
          res.status = 499;
          res.body = "{}";
          return;
        }
        continue;
      }
      if (ev->kind == engine::Event::Kind::Error) throw Error(ev->error_kind, ev->message);
      if (ev->kind == engine::Event::Kind::Delta) out.text += ev->text;
      if (ev->kind == engine::Event::Kind::Finish) {
        if (ev->finish_reason == engine::FinishReason::Cancelled)
          throw Error(ErrorKind::Cancelled, "the request was cancelled (server shutting down)");
        out.length = ev->finish_reason == engine::FinishReason::Length;
      }
      if (ev->kind == engine::Event::Kind::Done) {
        out.usage = ev->usage;
        break;
      }
    }
    if (tools) {
      ToolCallParser p;
      auto a = p.push(out.text);
      auto b = p.flush();
      out.text = a.content + b.content;
      out.calls = std::move(a.calls);
      for (auto& c : b.calls) out.calls.push_back(std::move(c));
      for (size_t i = 0; i < out.calls.size(); ++i) builder->call_item_id(i);
    }
    finish(out);
    res.body = dump(builder->response(out.length ? "incomplete" : "completed", &out));
    return;
  }

  res.content_type = "text/event-stream";
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto h = std::make_shared<engine::RequestHandle>(std::move(handle));
  res.stream = [h, builder, tools, finish](StreamSink& sink) {
    EventWriter w(sink);
    Output out;
    ToolCallParser parser;
    bool message_open = false;
    size_t output_index = 0;
    auto open_message = [&]() {
      if (message_open) return true;
      message_open = true;
      return w.send("response.output_item.added",
                    {{"output_index", output_index}, {"item", builder->message_item("", "in_progress")}}) &&
             w.send("response.content_part.added",
                    {{"item_id", builder->message_id()},
                     {"output_index", output_index},
                     {"content_index", 0},
                     {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
    };
    auto text = [&](const std::string& t) {
      if (t.empty()) return true;
      out.text += t;
      return open_message() && w.send("response.output_text.delta", {{"item_id", builder->message_id()},
                                                                     {"output_index", output_index},
                                                                     {"content_index", 0},
                                                                     {"delta", t},
                                                                     {"logprobs", json::array()}});
    };
    auto close_message = [&]() {
      if (!message_open) return true;
      message_open = false;
      const bool ok =
          w.send("response.output_text.done", {{"item_id", builder->message_id()},
                                               {"output_index", output_index},
                                               {"content_index", 0},
                                               {"text", out.text},
                                               {"logprobs", json::array()}}) &&
          w.send("response.content_part.done",
                 {{"item_id", builder->message_id()},
                  {"output_index", output_index},
                  {"content_index", 0},
                  {"part", {{"type", "output_text"}, {"text", out.text}, {"annotations", json::array()}}}}) &&
          w.send("response.output_item.done",
                 {{"output_index", output_index}, {"item", builder->message_item(out.text, "completed")}});
      ++output_index;
      return ok;
    };
    auto calls = [&](const std::vector<ToolCall>& cs) {
      for (const auto& c : cs) {
        if (!close_message()) return false;
        const std::string& item_id = builder->call_item_id(out.calls.size());
        out.calls.push_back(c);
        ToolCall empty = c;
        empty.arguments.clear();
        if (!w.send("response.output_item.added",
                    {{"output_index", output_index},
                     {"item", ResponseBuilder::call_item(empty, item_id, "in_progress")}}) ||
            !w.send("response.function_call_arguments.delta",
                    {{"item_id", item_id}, {"output_index", output_index}, {"delta", c.arguments}}) ||
            !w.send("response.function_call_arguments.done",
                    {{"item_id", item_id}, {"output_index", output_index}, {"arguments", c.arguments}}) ||
            !w.send("response.output_item.done",
                    {{"output_index", output_index}, {"item", ResponseBuilder::call_item(c, item_id, "completed")}}))
          return false;
        ++output_index;
      }
      return true;
    };
    auto deliver = [&](const std::string& t) {
      if (!tools) return text(t);
      auto o = parser.push(t);
      return text(o.content) && calls(o.calls);
    };
    try {
      if (!w.send("response.created", {{"response", builder->response("in_progress", nullptr)}}) ||
          !w.send("response.in_progress", {{"response", builder->response("in_progress", nullptr)}}))
        return h->cancel();
      for (;;) {
        auto ev = h->next(kPoll);
        if (!ev) {
          if (!sink.client_connected()) return h->cancel();
          continue;
        }
        bool ok = true;
        if (ev->kind == engine::Event::Kind::Delta) {
          ok = deliver(ev->text);
        } else if (ev->kind == engine::Event::Kind::Finish) {
          if (ev->finish_reason == engine::FinishReason::Cancelled) {
            sink.write(error_sse(api_error(Error(ErrorKind::Cancelled, "the request was cancelled"))));
            return h->cancel();
          }
          out.length = ev->finish_reason == engine::FinishReason::Length;
          if (tools) {
            auto o = parser.flush();
            ok = text(o.content) && calls(o.calls);
          }
        } else if (ev->kind == engine::Event::Kind::Done) {
          out.usage = ev->usage;
          if (out.text.empty() && out.calls.empty()) ok = open_message();
          ok = ok && close_message();
          finish(out);
          if (ok)
            w.send(out.length ? "response.incomplete" : "response.completed",
                   {{"response", builder->response(out.length ? "incomplete" : "completed", &out)}});
          return;
        } else if (ev->kind == engine::Event::Kind::Error) {
          const ApiError e = api_error(Error(ev->error_kind, ev->message));
          w.send(
              "error",
              {{"code", e.code}, {"message", e.message}, {"param", e.param.empty() ? json(nullptr) : json(e.param)}});
          return;
        }
        if (!ok) return h->cancel();
      }
    } catch (...) {
      sink.write(error_sse(api_error(std::current_exception())));
      h->cancel();
    }
  };
}

}  // namespace oc::api
