// POST /v1/chat/completions and POST /v1/completions: request -> engine -> JSON or SSE.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "api/errors.h"
#include "api/handlers.h"
#include "api/structured_output.h"
#include "common/log.h"
#include "pipeline/events.h"

namespace oc::api {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

enum class Api { Chat, Completion };

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llx%08llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return std::string(prefix) + buf;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

struct Job {
  Api api = Api::Chat;
  std::string id;
  int64_t created = 0;
  std::string model;
  int n = 1;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  int top_logprobs = 0;
  bool return_token_ids = false;
  bool tool_calls = false;          // chat with tools: tool-call text becomes message.tool_calls
  std::vector<int32_t> prompt_ids;  // when return_token_ids
  std::string echo;                 // completions: prompt text to prepend
};

struct Choice {
  std::string text;
  std::vector<engine::TokenInfo> tokens;  // emitted tokens (logprobs)
  std::vector<int32_t> ids;               // every sampled id, the finishing one included
  std::optional<engine::FinishReason> finish;
};

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

json chat_logprobs(const std::vector<engine::TokenInfo>& tokens) {
  json content = json::array();
  for (const auto& t : tokens) {
    json top = json::array();
    for (const auto& a : t.top) top.push_back({{"token", a.text}, {"logprob", a.logprob}, {"bytes", bytes_of(a.text)}});
    content.push_back({{"token", t.text}, {"logprob", t.logprob}, {"bytes", bytes_of(t.text)}, {"top_logprobs", top}});
  }
  return {{"content", content}, {"refusal", nullptr}};
}

json completion_logprobs(const std::vector<engine::TokenInfo>& tokens, size_t offset) {
  json toks = json::array(), lps = json::array(), tops = json::array(), offs = json::array();
  for (const auto& t : tokens) {
    toks.push_back(t.text);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& a : t.top) top[a.text] = a.logprob;
    tops.push_back(top);
    offs.push_back(offset);
    offset += t.text.size();
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

const char* finish_name(engine::FinishReason r) { return r == engine::FinishReason::Length ? "length" : "stop"; }

// message.tool_calls, or (streamed, with_index) delta.tool_calls entries numbered from `first`.
json tool_calls_json(const std::vector<ToolCall>& calls, bool with_index, int first = 0) {
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    json c = {{"id", calls[i].id},
              {"type", "function"},
              {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) c["index"] = first + static_cast<int>(i);
    out.push_back(std::move(c));
  }
  return out;
}

json usage_json(const engine::Usage& u) {
  json details = {{"cached_tokens", u.cached_tokens}};
  if (u.image_tokens) details["image_tokens"] = u.image_tokens;
  if (u.audio_tokens) details["audio_tokens"] = u.audio_tokens;
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", details}};
}

json timings_json(const engine::Timings& t) {
  return {{"queue_ms", t.queue_ms},
          {"prompt_ms", t.prompt_ms},
          {"encode_image_ms", t.encode_image_ms},
          {"encode_audio_ms", t.encode_audio_ms},
          {"media_encoded", t.media_encoded},
          {"media_cache_hits", t.media_cache_hits},
          {"decode_ms", t.decode_ms},
          {"prompt_tokens_per_second", t.prompt_tokens_per_s},
          {"decode_tokens_per_second", t.decode_tokens_per_s}};
}

json envelope(const Job& job, const char* object) {
  return {{"id", job.id},
          {"object", object},
          {"created", job.created},
          {"model", job.model},
          {"system_fingerprint", nullptr}};
}

// ---- non-streaming ----

struct Collected {
  std::vector<Choice> choices;
  engine::Usage usage;
  engine::Timings timings;
  bool client_gone = false;
};

// Reads every choice to its end; client_gone when the client went away (the request is cancelled).
Collected collect(const Job& job, engine::RequestHandle& handle, const HttpRequest& req, RequestTrace& trace) {
  Collected c;
  c.choices.resize(static_cast<size_t>(job.n));
  pipeline::EventHandler h;
  h.keep_going = [&] { return !req.client_connected || req.client_connected(); };
  h.delta = [&](engine::Event& ev) {
    if (ev.index < 0 || ev.index >= job.n) return true;
    trace.tokens(ev.index, ev.tokens.size());
    Choice& ch = c.choices[static_cast<size_t>(ev.index)];
    ch.text += ev.text;
    for (auto& t : ev.tokens) {
      ch.ids.push_back(t.id);
      ch.tokens.push_back(std::move(t));
    }
    return true;
  };
  h.finish = [&](engine::Event& ev) {
    if (ev.index < 0 || ev.index >= job.n) return true;
    Choice& ch = c.choices[static_cast<size_t>(ev.index)];
    for (const auto& t : ev.tokens) ch.ids.push_back(t.id);
    ch.finish = ev.finish_reason;
    return true;
  };
  std::optional<engine::Event> done = pipeline::read_events(handle, h);
  if (!done) {
    c.client_gone = true;
    trace.client_gone();
    return c;
  }
  trace.done(done->usage, done->timings);
  c.usage = done->usage;
  c.timings = done->timings;
  return c;
}

std::string response_body(const Job& job, const Collected& c) {
  json choices = json::array();
  for (size_t i = 0; i < c.choices.size(); ++i) {
    const Choice& ch = c.choices[i];
    json o;
    o["index"] = i;
    const char* finish = finish_name(ch.finish.value_or(engine::FinishReason::Stop));
    if (job.api == Api::Chat && job.tool_calls) {
      ToolCallParser parser;
      ToolCallParser::Out out = parser.push(ch.text);
      ToolCallParser::Out rest = parser.flush();
      out.content += rest.content;
      for (auto& call : rest.calls) out.calls.push_back(std::move(call));
      json message = {{"role", "assistant"}, {"content", out.content}, {"refusal", nullptr}};
      if (!out.calls.empty()) {
        if (out.content.empty()) message["content"] = nullptr;
        message["tool_calls"] = tool_calls_json(out.calls, false);
        finish = "tool_calls";
      }
      o["message"] = std::move(message);
      o["logprobs"] = job.logprobs ? chat_logprobs(ch.tokens) : json(nullptr);
    } else if (job.api == Api::Chat) {
      o["message"] = {{"role", "assistant"}, {"content", ch.text}, {"refusal", nullptr}};
      o["logprobs"] = job.logprobs ? chat_logprobs(ch.tokens) : json(nullptr);
    } else {
      o["text"] = job.echo + ch.text;
      o["logprobs"] = job.logprobs ? completion_logprobs(ch.tokens, job.echo.size()) : json(nullptr);
    }
    o["finish_reason"] = finish;
    if (job.return_token_ids) o["token_ids"] = ch.ids;
    choices.push_back(std::move(o));
  }
  json body = envelope(job, job.api == Api::Chat ? "chat.completion" : "text_completion");
  body["choices"] = std::move(choices);
  body["usage"] = usage_json(c.usage);
  body["timings"] = timings_json(c.timings);
  if (job.return_token_ids) body["prompt_token_ids"] = job.prompt_ids;
  return dump(body);
}

// ---- streaming ----

class ChunkWriter {
 public:
  ChunkWriter(const Job& job, StreamSink& sink) : job_(job), sink_(sink) {}

  bool role(int index) {
    json delta = {{"role", "assistant"}, {"content", ""}};
    return write_choice(index, delta, "", nullptr, {});
  }
  bool echo(int index) { return write_choice(index, {}, job_.echo, nullptr, {}); }
  bool delta(int index, const std::string& raw, const std::vector<engine::TokenInfo>& tokens) {
    std::string text = raw;
    if (job_.tool_calls) {
      ToolCallParser::Out out = parsers_[index].push(raw);
      if (!calls(index, out.calls)) return false;
      text = std::move(out.content);
      if (text.empty() && !(job_.logprobs || job_.return_token_ids)) return true;
    }
    json delta = {{"content", text}};
    std::vector<int32_t> ids;
    for (const auto& t : tokens) ids.push_back(t.id);
    json lp = nullptr;
    if (job_.logprobs)
      lp = job_.api == Api::Chat ? chat_logprobs(tokens) : completion_logprobs(tokens, offsets_[index]);
    offsets_[index] += text.size();
    return write_choice(index, delta, text, lp, ids);
  }
  bool finish(int index, engine::FinishReason reason, const std::vector<engine::TokenInfo>& tokens) {
    std::vector<int32_t> ids;
    for (const auto& t : tokens) ids.push_back(t.id);
    const char* name = finish_name(reason);
    if (job_.tool_calls) {
      ToolCallParser& p = parsers_[index];
      ToolCallParser::Out out = p.flush();
      if (!out.content.empty() && !write_choice(index, {{"content", out.content}}, out.content, nullptr, {}))
        return false;
      if (!calls(index, out.calls)) return false;
      if (p.calls() > 0) name = "tool_calls";
    }
    return write_choice(index, json::object(), "", nullptr, ids, name);
  }
  bool usage(const engine::Usage& u, const engine::Timings& t) {
    json c = envelope(job_, object());
    c["choices"] = json::array();
    c["usage"] = usage_json(u);
    c["timings"] = timings_json(t);
    return send(c);
  }
  bool error(const ApiError& e) { return sink_.write(error_sse(e)); }
  bool done() { return sink_.write("data: [DONE]\n\n"); }

 private:
  const char* object() const { return job_.api == Api::Chat ? "chat.completion.chunk" : "text_completion"; }

  // delta.tool_calls chunks, one per completed call (each with its whole arguments).
  bool calls(int index, const std::vector<ToolCall>& calls) {
    for (const auto& c : calls) {
      json delta = {{"tool_calls", tool_calls_json({c}, true, sent_calls_[index]++)}};
      if (!write_choice(index, delta, "", nullptr, {})) return false;
    }
    return true;
  }

  bool write_choice(int index, const json& delta, const std::string& text, const json& logprobs,
                    const std::vector<int32_t>& ids, const char* finish = nullptr) {
    json choice;
    choice["index"] = index;
    if (job_.api == Api::Chat)
      choice["delta"] = delta.is_null() ? json::object() : delta;
    else
      choice["text"] = text;
    choice["logprobs"] = logprobs;
    choice["finish_reason"] = finish ? json(finish) : json(nullptr);
    if (job_.return_token_ids) choice["token_ids"] = ids;
    json c = envelope(job_, object());
    c["choices"] = json::array({choice});
    return send(c);
  }

  bool send(json& c) {
    if (job_.include_usage && !c.contains("usage")) c["usage"] = nullptr;
    if (job_.return_token_ids && first_) c["prompt_token_ids"] = job_.prompt_ids;
    first_ = false;
    return sink_.write("data: " + dump(c) + "\n\n");
  }

  const Job& job_;
  StreamSink& sink_;
  std::map<int, size_t> offsets_;
  std::map<int, ToolCallParser> parsers_;  // per choice, with tool calls
  std::map<int, int> sent_calls_;          // per choice: tool calls streamed so far
  bool first_ = true;
};

void stream_events(const Job& job, engine::RequestHandle& handle, StreamSink& sink, RequestTrace& trace) {
  ChunkWriter w(job, sink);
  bool ok = true;
  for (int i = 0; i < job.n && ok; ++i) ok = job.api == Api::Chat ? w.role(i) : (job.echo.empty() || w.echo(i));
  std::optional<engine::Event> done;
  if (ok) {
    pipeline::EventHandler h;
    h.keep_going = [&] { return sink.client_connected(); };
    h.delta = [&](engine::Event& ev) {
      trace.tokens(ev.index, ev.tokens.size());
      if (ev.text.empty() && !(job.logprobs || job.return_token_ids)) return sink.client_connected();
      return w.delta(ev.index, ev.text, ev.tokens);
    };
    h.finish = [&](engine::Event& ev) { return w.finish(ev.index, ev.finish_reason, ev.tokens); };
    done = pipeline::read_events(handle, h);
  }
  if (done) trace.done(done->usage, done->timings);
  if (done && (!job.include_usage || w.usage(done->usage, done->timings))) {
    w.done();
    return;
  }
  handle.cancel();
  trace.client_gone();
}

// ---- shared ----

engine::SamplingParams sampling_params(const SamplingOptions& s) {
  engine::SamplingParams p;
  if (s.temperature) p.temperature = static_cast<float>(*s.temperature);
  if (s.top_k) p.top_k = *s.top_k;
  if (s.top_p) p.top_p = static_cast<float>(*s.top_p);
  if (s.min_p) p.min_p = static_cast<float>(*s.min_p);
  if (s.repetition_penalty) p.repetition_penalty = static_cast<float>(*s.repetition_penalty);
  p.frequency_penalty = static_cast<float>(s.frequency_penalty);
  p.presence_penalty = static_cast<float>(s.presence_penalty);
  p.logit_bias = s.logit_bias;
  if (s.seed) p.seed = static_cast<uint64_t>(*s.seed);
  return p;
}

engine::RequestHandle submit(const HandlerContext& ctx, pipeline::Prepared prepared, engine::GenerationRequest gr) {
  try {
    return ctx.pipeline.submit(std::move(prepared), std::move(gr));
  } catch (const Error& e) {
    if (e.code() == "context_length_exceeded" && e.param().empty())
      throw Error(e.kind(), e.what(), "max_tokens", e.code());
    throw;
  }
}

// The job and the engine request as both endpoints start them (the caller adds the prompt and
// max_tokens).
Job new_job(const HandlerContext& ctx, Api api, const char* id_prefix, const CommonRequest& cr, bool logprobs,
            int top_logprobs) {
  Job job;
  job.api = api;
  job.id = random_id(id_prefix);
  job.created = static_cast<int64_t>(std::time(nullptr));
  job.model = ctx.served.id;
  job.n = cr.n;
  job.stream = cr.stream;
  job.include_usage = cr.stream && cr.include_usage;
  job.logprobs = logprobs;
  job.top_logprobs = top_logprobs;
  job.return_token_ids = cr.return_token_ids;
  return job;
}

engine::GenerationRequest new_generation(const Job& job, const CommonRequest& cr) {
  engine::GenerationRequest gr;
  gr.id = job.id;
  gr.sampling = sampling_params(cr.sampling);
  gr.stop = cr.stop;
  gr.n = cr.n;
  gr.logprobs = job.logprobs;
  gr.top_logprobs = job.top_logprobs;
  return gr;
}

// Submits the request and answers with its result (JSON, or SSE when the job streams).
void respond(const HandlerContext& ctx, Job job, pipeline::Prepared prepared, engine::GenerationRequest gr,
             const HttpRequest& req, HttpResponse& res) {
  if (job.return_token_ids) job.prompt_ids = prepared.prompt.ids;
  ctx.trace->set_id(job.id);
  ctx.trace->set_shape(job.stream, job.n);
  engine::RequestHandle handle = submit(ctx, std::move(prepared), std::move(gr));
  if (!job.stream) {
    Collected c = collect(job, handle, req, *ctx.trace);
    if (c.client_gone) {
      res.status = 499;  // nobody reads it
      res.body = "{}";
      return;
    }
    res.body = response_body(job, c);
    return;
  }
  res.content_type = "text/event-stream";
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto h = std::make_shared<engine::RequestHandle>(std::move(handle));
  auto j = std::make_shared<Job>(std::move(job));
  res.stream = [h, j, trace = ctx.trace](StreamSink& sink) {
    try {
      stream_events(*j, *h, sink, *trace);
    } catch (...) {
      ApiError a = api_error(std::current_exception());
      trace->error(a);
      sink.write(error_sse(a));
    }
    h->cancel();
  };
}

}  // namespace

void check_model_name(const std::string& name, const ServedName& served) {
  switch (match_model_name(name, served)) {
    case NameMatch::Yes:
      return;
    case NameMatch::OtherPreset:
      throw Error(ErrorKind::NotFound,
                  "The model '" + name + "' is not loaded: this server runs '" + served.id + "/" + served.preset +
                      "' (start it with --preset to serve another preset).",
                  "model", "model_not_found");
    case NameMatch::No:
      break;
  }
  throw Error(ErrorKind::NotFound,
              "The model '" + name + "' does not exist; this server serves '" + served.id + "' (see /v1/models).",
              "model", "model_not_found");
}

ChatGeneration chat_generation(const HandlerContext& ctx, const ChatRequest& cr, const std::string& id) {
  const models::Model& model = ctx.pipeline.model();
  ChatGeneration g;
  g.request.constraint = output_constraint(model, cr);
  const PromptInput input = prompt_input(model, cr);
  try {
    g.prepared = ctx.pipeline.chat(input.messages, input.tools);
  } catch (const Error& e) {
    if (e.location().empty()) throw;
    Location at = e.location();
    if (at.message >= 0) at.message = input.source[static_cast<size_t>(at.message)];
    throw Error(e.kind(), e.what(), request_location(cr, at), e.code());
  }
  g.request.id = id;
  g.request.sampling = sampling_params(cr.sampling);
  g.request.stop = cr.stop;
  g.request.n = cr.n;
  g.request.max_tokens = cr.max_tokens;
  return g;
}

void handle_chat_completions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res) {
  ChatRequest cr = parse_chat_request(req.body, ctx.limits);
  check_model_name(cr.model, ctx.served);
  Job job = new_job(ctx, Api::Chat, "chatcmpl-", cr, cr.logprobs, cr.top_logprobs);
  job.tool_calls = !cr.tools.empty() && cr.tool_choice != "none";
  ChatGeneration g = chat_generation(ctx, cr, job.id);
  g.request.logprobs = job.logprobs;
  g.request.top_logprobs = job.top_logprobs;
  respond(ctx, std::move(job), std::move(g.prepared), std::move(g.request), req, res);
}

void handle_completions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res) {
  CompletionRequest cr = parse_completion_request(req.body, ctx.limits);
  check_model_name(cr.model, ctx.served);
  Job job = new_job(ctx, Api::Completion, "cmpl-", cr, cr.logprobs.has_value(), cr.logprobs.value_or(0));
  engine::GenerationRequest gr = new_generation(job, cr);
  pipeline::Prepared prepared =
      cr.prompt_is_ids ? ctx.pipeline.completion(cr.prompt_ids) : ctx.pipeline.completion(cr.prompt);
  if (cr.echo) job.echo = cr.prompt_is_ids ? ctx.pipeline.model().tokenizer().decode(cr.prompt_ids, false) : cr.prompt;
  if (cr.echo && job.logprobs)
    throw Error(ErrorKind::Unsupported, "'echo' together with 'logprobs' is not supported", "echo",
                "unsupported_parameter");
  gr.max_tokens = cr.max_tokens.value_or(16);
  gr.skip_special_tokens = true;
  respond(ctx, std::move(job), std::move(prepared), std::move(gr), req, res);
}

}  // namespace oc::api
