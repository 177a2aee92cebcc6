#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <random>
#include <thread>

#include "common/log.h"
#include "engine/sampler.h"
#include "engine/text_stream.h"

namespace oc::engine {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::Cancelled:
      return "cancelled";
  }
  return "stop";
}

namespace {
using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

struct Shared;

struct RequestState {
  std::string id;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> events;
  bool terminal_queued = false;    // Done or Error pushed
  bool terminal_returned = false;  // ... and handed to the caller
  std::atomic<bool> cancelled{false};
  models::RunControl run;
  std::shared_ptr<Shared> shared;  // the engine's queue: outlives the engine while handles exist

  void push(Event e) {
    {
      std::lock_guard lock(mu);
      if (terminal_queued) return;
      if (e.kind == Event::Kind::Done || e.kind == Event::Kind::Error) terminal_queued = true;
      events.push_back(std::move(e));
    }
    cv.notify_all();
  }
  void cancel();
};

RequestHandle::RequestHandle(std::shared_ptr<RequestState> state) : state_(std::move(state)) {}
RequestHandle::RequestHandle(RequestHandle&&) noexcept = default;
RequestHandle& RequestHandle::operator=(RequestHandle&& other) noexcept {
  if (this != &other) {
    if (state_ && !finished()) state_->cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}
RequestHandle::~RequestHandle() {
  if (state_ && !finished()) state_->cancel();
}

std::optional<Event> RequestHandle::next(std::chrono::milliseconds timeout) {
  if (!state_) return std::nullopt;
  std::unique_lock lock(state_->mu);
  if (state_->terminal_returned) return std::nullopt;
  if (!state_->cv.wait_for(lock, timeout, [&] { return !state_->events.empty(); })) return std::nullopt;
  Event e = std::move(state_->events.front());
  state_->events.pop_front();
  if (e.kind == Event::Kind::Done || e.kind == Event::Kind::Error) state_->terminal_returned = true;
  return e;
}

void RequestHandle::cancel() {
  if (state_) state_->cancel();
}

bool RequestHandle::finished() const {
  if (!state_) return true;
  std::lock_guard lock(state_->mu);
  return state_->terminal_returned;
}

const std::string& RequestHandle::id() const {
  static const std::string empty;
  return state_ ? state_->id : empty;
}

// ---------------------------------------------------------------------------------------------

namespace {

struct Choice {
  std::unique_ptr<models::Sequence> seq;
  std::optional<Sampler> sampler;
  std::optional<IncrementalDecoder> detok;
  std::optional<StopMatcher> stop;
  std::unique_ptr<grammar::Matcher> matcher;  // when the request has a constraint
  TokenId last = 0;                           // sampled, not yet fed to the model
  int generated = 0;
  bool done = false;
};

struct Active {
  std::shared_ptr<RequestState> state;
  GenerationRequest req;
  ResolvedSampling params;
  uint64_t seed = 0;
  int max_tokens = 0;
  Clock::time_point submitted, admitted, first_token;
  bool started = false;
  std::unique_ptr<models::Sequence> prefill;
  size_t prefilled = 0;
  std::vector<Choice> choices;
  Usage usage;
  Timings timings;
};

}  // namespace

// The queue and counters, shared by the engine loop, submit() and cancel().
struct Shared {
  std::mutex mu;
  std::condition_variable cv;  // wakes the loop
  bool wake = false;
  std::deque<std::unique_ptr<Active>> incoming;
  size_t running = 0;
  std::vector<RequestState*> running_states;  // admitted, not yet ended
  bool stopping = false;
  bool finish_inflight = true;
  EngineStats totals;

  void notify() {
    {
      std::lock_guard lock(mu);
      wake = true;
    }
    cv.notify_one();
  }
};

namespace {

// Ends a request that never started (cancelled while queued).
void end_unstarted(Active& a, Shared& sh) {
  for (int i = 0; i < a.req.n; ++i) {
    Event f;
    f.kind = Event::Kind::Finish;
    f.index = i;
    f.finish_reason = FinishReason::Cancelled;
    a.state->push(std::move(f));
  }
  a.timings.queue_ms = ms_between(a.submitted, Clock::now());
  {
    std::lock_guard lock(sh.mu);
    sh.totals.requests_cancelled++;
    sh.totals.prompt_tokens_total += static_cast<uint64_t>(a.usage.prompt_tokens);
  }
  Event d;
  d.kind = Event::Kind::Done;
  d.usage = a.usage;
  d.timings = a.timings;
  a.state->push(std::move(d));
}

}  // namespace

void RequestState::cancel() {
  if (cancelled.exchange(true)) return;
  run.terminate();
  if (!shared) return;
  std::unique_ptr<Active> removed;
  {
    std::lock_guard lock(shared->mu);
    auto& q = shared->incoming;
    for (auto it = q.begin(); it != q.end(); ++it)
      if ((*it)->state.get() == this) {
        removed = std::move(*it);
        q.erase(it);
        break;
      }
    shared->wake = true;
  }
  shared->cv.notify_one();
  if (removed) end_unstarted(*removed, *shared);
}

struct Engine::Impl {
  std::shared_ptr<models::Model> model;
  EngineConfig config;
  size_t context = 0;
  std::vector<TokenId> eos_ids;
  std::shared_ptr<Shared> sh = std::make_shared<Shared>();
  std::thread thread;

  void loop();
  void step(Active& a);
  void start(Active& a);
  void handle_token(Active& a, Choice& c, int index, const Sampler::Result& r);
  void finish_choice(Active& a, Choice& c, int index, FinishReason reason, std::vector<TokenInfo> tokens = {},
                     std::string stop = {});
  void finish(Active& a, bool cancelled);
  void fail(Active& a, const Error& e);
  bool is_eos(const Active& a, TokenId id) const;
  TokenInfo token_info(const Active& a, const Sampler::Result& r) const;
};

Engine::Engine(std::shared_ptr<models::Model> model, EngineConfig config) : impl_(std::make_unique<Impl>()) {
  if (!model) throw Error(ErrorKind::Internal, "engine created without a model");
  impl_->model = std::move(model);
  impl_->config = config;
  impl_->config.max_running = std::max(1, config.max_running);
  impl_->config.max_queued = std::max(0, config.max_queued);
  impl_->config.prefill_chunk = std::max(1, config.prefill_chunk);
  impl_->context = impl_->model->context_length();
  if (config.max_context > 0 && (impl_->context == 0 || config.max_context < impl_->context))
    impl_->context = config.max_context;
  impl_->eos_ids = impl_->model->generation_defaults().eos_ids;
  impl_->thread = std::thread([this] { impl_->loop(); });
}

Engine::~Engine() { shutdown(false); }

const models::Model& Engine::model() const { return *impl_->model; }
std::shared_ptr<models::Model> Engine::shared_model() const { return impl_->model; }
size_t Engine::context_length() const { return impl_->context; }

EngineStats Engine::stats() const {
  auto& sh = *impl_->sh;
  std::lock_guard lock(sh.mu);
  EngineStats s = sh.totals;
  s.queued = sh.incoming.size();
  s.running = sh.running;
  return s;
}

RequestHandle Engine::submit(GenerationRequest request) {
  auto& im = *impl_;
  const auto& prompt = request.prompt.ids;
  if (prompt.empty()) throw Error(ErrorKind::InvalidRequest, "the prompt is empty", "prompt");
  if (request.n < 1 || request.n > 128) throw Error(ErrorKind::InvalidRequest, "n must be between 1 and 128", "n");
  if (request.top_logprobs < 0 || request.top_logprobs > 20)
    throw Error(ErrorKind::InvalidRequest, "top_logprobs must be between 0 and 20", "top_logprobs");
  if (request.max_tokens && *request.max_tokens < 1)
    throw Error(ErrorKind::InvalidRequest, "max_tokens must be at least 1", "max_tokens");
  const auto& sp = request.sampling;
  if (sp.temperature && !(*sp.temperature >= 0))
    throw Error(ErrorKind::InvalidRequest, "temperature must be >= 0", "temperature");
  if (sp.top_p && !(*sp.top_p > 0 && *sp.top_p <= 1))
    throw Error(ErrorKind::InvalidRequest, "top_p must be in (0, 1]", "top_p");
  if (sp.top_k && *sp.top_k < 0) throw Error(ErrorKind::InvalidRequest, "top_k must be >= 0", "top_k");
  if (sp.min_p && !(*sp.min_p >= 0 && *sp.min_p <= 1))
    throw Error(ErrorKind::InvalidRequest, "min_p must be in [0, 1]", "min_p");
  if (sp.repetition_penalty && !(*sp.repetition_penalty > 0))
    throw Error(ErrorKind::InvalidRequest, "repetition_penalty must be > 0", "repetition_penalty");
  const size_t vocab = im.model->logits_size();
  for (const auto& [id, bias] : sp.logit_bias)
    if (id < 0 || static_cast<size_t>(id) >= vocab)
      throw Error(ErrorKind::InvalidRequest,
                  "logit_bias names token " + std::to_string(id) + ", outside the vocabulary", "logit_bias");
  for (TokenId id : prompt)
    if (id < 0 || static_cast<size_t>(id) >= vocab)
      throw Error(ErrorKind::InvalidRequest,
                  "the prompt contains token " + std::to_string(id) + ", outside the vocabulary", "prompt");
  if (im.context > 0) {
    if (prompt.size() >= im.context)
      throw Error(ErrorKind::InvalidRequest,
                  "This model's maximum context length is " + std::to_string(im.context) + " tokens; the prompt has " +
                      std::to_string(prompt.size()) + " tokens",
                  "messages", "context_length_exceeded");
    if (request.max_tokens && prompt.size() + static_cast<size_t>(*request.max_tokens) > im.context)
      throw Error(ErrorKind::InvalidRequest,
                  "This model's maximum context length is " + std::to_string(im.context) + " tokens; the prompt has " +
                      std::to_string(prompt.size()) + " tokens and max_tokens asks for " +
                      std::to_string(*request.max_tokens) + " more",
                  "max_tokens", "context_length_exceeded");
  }

  auto a = std::make_unique<Active>();
  a->state = std::make_shared<RequestState>();
  a->state->id = request.id;
  a->state->shared = im.sh;
  a->params = resolve_sampling(request.sampling, im.model->generation_defaults());
  if (request.sampling.seed) {
    a->seed = *request.sampling.seed;
  } else {
    std::random_device rd;
    a->seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  const size_t room = im.context > 0 ? im.context - prompt.size() : static_cast<size_t>(INT32_MAX);
  a->max_tokens = static_cast<int>(std::min<size_t>(request.max_tokens ? *request.max_tokens : room, room));
  a->submitted = Clock::now();
  a->usage.prompt_tokens = static_cast<int>(prompt.size());
  a->usage.image_tokens = static_cast<int>(request.prompt.tokens_of(models::Modality::Image));
  a->usage.audio_tokens = static_cast<int>(request.prompt.tokens_of(models::Modality::Audio));
  a->req = std::move(request);
  auto state = a->state;
  {
    auto& sh = *im.sh;
    std::lock_guard lock(sh.mu);
    if (sh.stopping) throw Error(ErrorKind::Unavailable, "the engine is shutting down");
    const size_t capacity = static_cast<size_t>(im.config.max_running + im.config.max_queued);
    if (sh.running + sh.incoming.size() >= capacity) {
      sh.totals.requests_rejected++;
      throw Error(ErrorKind::Overloaded,
                  "the server is busy: " + std::to_string(im.config.max_queued) + " requests are already waiting");
    }
    sh.totals.requests_total++;
    sh.incoming.push_back(std::move(a));
    sh.wake = true;
  }
  im.sh->cv.notify_one();
  return RequestHandle(std::move(state));
}

void Engine::shutdown(bool finish_inflight) {
  auto& im = *impl_;
  std::vector<std::shared_ptr<RequestState>> to_cancel;
  {
    std::lock_guard lock(im.sh->mu);
    im.sh->stopping = true;
    im.sh->finish_inflight = finish_inflight;
    if (!finish_inflight) {
      for (auto& a : im.sh->incoming) to_cancel.push_back(a->state);
      for (auto* st : im.sh->running_states) {
        st->cancelled = true;  // the loop ends it
        st->run.terminate();   // and a model run in progress stops
      }
    }
  }
  for (auto& s : to_cancel) s->cancel();
  im.sh->notify();
  if (im.thread.joinable()) im.thread.join();
}

// --- the loop --------------------------------------------------------------------------------

void Engine::Impl::loop() {
  std::list<std::unique_ptr<Active>> active;
  while (true) {
    {
      std::unique_lock lock(sh->mu);
      while (active.size() < static_cast<size_t>(config.max_running) && !sh->incoming.empty()) {
        auto a = std::move(sh->incoming.front());
        sh->incoming.pop_front();
        a->admitted = Clock::now();
        a->timings.queue_ms = ms_between(a->submitted, a->admitted);
        sh->running++;
        sh->running_states.push_back(a->state.get());
        active.push_back(std::move(a));
      }
      if (active.empty()) {
        if (sh->stopping && sh->incoming.empty()) break;
        sh->cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return sh->wake; });
        sh->wake = false;
        continue;
      }
    }
    for (auto it = active.begin(); it != active.end();) {
      Active& a = **it;
      bool ended = false;
      if (a.state->cancelled) {
        finish(a, true);
        ended = true;
      } else {
        try {
          step(a);
          ended = !a.choices.empty() &&
                  std::all_of(a.choices.begin(), a.choices.end(), [](const Choice& c) { return c.done; });
          if (ended) finish(a, false);
        } catch (const Error& e) {
          if (a.state->cancelled || e.kind() == ErrorKind::Cancelled) {
            finish(a, true);
          } else {
            fail(a, e);
          }
          ended = true;
        } catch (const std::exception& e) {
          if (a.state->cancelled) {
            finish(a, true);
          } else {
            fail(a, Error(ErrorKind::Internal, std::string("generation failed: ") + e.what()));
          }
          ended = true;
        }
      }
      if (ended) {
        {
          std::lock_guard lock(sh->mu);
          sh->running--;
          std::erase(sh->running_states, a.state.get());
        }
        it = active.erase(it);  // frees the sequences (KV cache) now
      } else {
        ++it;
      }
    }
  }
}

bool Engine::Impl::is_eos(const Active& a, TokenId id) const {
  if (a.req.ignore_eos)
    return std::find(a.req.stop_token_ids.begin(), a.req.stop_token_ids.end(), id) != a.req.stop_token_ids.end();
  return std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end() ||
         std::find(a.req.stop_token_ids.begin(), a.req.stop_token_ids.end(), id) != a.req.stop_token_ids.end();
}

TokenInfo Engine::Impl::token_info(const Active& a, const Sampler::Result& r) const {
  TokenInfo t;
  t.id = r.id;
  if (a.req.logprobs || a.req.top_logprobs > 0) {
    const auto& tk = model->tokenizer();
    TokenId one[1] = {r.id};
    t.logprob = r.logprob;
    t.text = tk.decode(one, false);
    for (const auto& [id, lp] : r.top) {
      TokenId alt[1] = {id};
      t.top.push_back({id, tk.decode(alt, false), lp});
    }
  }
  return t;
}

void Engine::Impl::start(Active& a) {
  a.started = true;
  a.prefill = model->new_sequence();
  const models::EncodeStats st = a.prefill->begin(a.req.prompt, a.state->run);
  a.timings.encode_image_ms = st.image_ms;
  a.timings.encode_audio_ms = st.audio_ms;
  a.timings.media_encoded = st.encoded;
  a.timings.media_cache_hits = st.cache_hits;
}

void Engine::Impl::step(Active& a) {
  const bool want_lp = a.req.logprobs || a.req.top_logprobs > 0;
  if (!a.started) start(a);
  if (a.prefill) {
    const auto& ids = a.req.prompt.ids;
    const size_t n = std::min(ids.size() - a.prefilled, static_cast<size_t>(config.prefill_chunk));
    std::span<const float> logits =
        a.prefill->forward(std::span<const TokenId>(ids).subspan(a.prefilled, n), a.state->run);
    a.prefilled += n;
    if (a.prefilled < ids.size()) return;
    // Prompt done: one sequence per choice (forks share the prefill), first token of each.
    std::vector<float> saved;
    if (a.req.n > 1) saved.assign(logits.begin(), logits.end());
    a.choices.resize(static_cast<size_t>(a.req.n));
    for (int i = 0; i < a.req.n; ++i) {
      Choice& c = a.choices[i];
      c.seq = i + 1 < a.req.n ? a.prefill->fork() : std::move(a.prefill);
      c.sampler.emplace(a.params, a.seed + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull);
      c.sampler->add_context(ids);
      c.detok.emplace(model->tokenizer(), a.req.skip_special_tokens);
      c.stop.emplace(a.req.stop);
      if (a.req.constraint) c.matcher = a.req.constraint->new_matcher();
    }
    a.prefill.reset();
    a.first_token = Clock::now();
    a.timings.prompt_ms = ms_between(a.admitted, a.first_token);
    for (int i = 0; i < a.req.n; ++i) {
      Choice& c = a.choices[i];
      auto r = c.sampler->sample(a.req.n > 1 ? std::span<const float>(saved) : logits, want_lp, a.req.top_logprobs,
                                 c.matcher.get(), a.max_tokens - c.generated);
      handle_token(a, c, i, r);
    }
    return;
  }
  for (int i = 0; i < a.req.n; ++i) {
    Choice& c = a.choices[i];
    if (c.done) continue;
    if (a.state->cancelled) return;
    TokenId one[1] = {c.last};
    std::span<const float> logits = c.seq->forward(one, a.state->run);
    auto r = c.sampler->sample(logits, want_lp, a.req.top_logprobs, c.matcher.get(), a.max_tokens - c.generated);
    handle_token(a, c, i, r);
  }
}

void Engine::Impl::handle_token(Active& a, Choice& c, int index, const Sampler::Result& r) {
  c.generated++;
  a.usage.completion_tokens++;
  TokenInfo info = token_info(a, r);
  if (is_eos(a, r.id)) {
    std::vector<TokenInfo> tokens;
    tokens.push_back(std::move(info));
    finish_choice(a, c, index, FinishReason::Stop, std::move(tokens));
    return;
  }
  if (c.matcher) c.matcher->accept(r.id);
  c.sampler->accept(r.id);
  c.last = r.id;
  std::string text = c.detok->push(r.id);
  auto sr = c.stop->push(text);
  Event e;
  e.kind = Event::Kind::Delta;
  e.index = index;
  e.text = std::move(sr.text);
  e.tokens.push_back(std::move(info));
  a.state->push(std::move(e));
  if (sr.stopped) {
    c.done = true;
    c.seq.reset();
    Event f;
    f.kind = Event::Kind::Finish;
    f.index = index;
    f.finish_reason = FinishReason::Stop;
    f.stop_string = sr.matched;
    a.state->push(std::move(f));
    return;
  }
  if (c.generated >= a.max_tokens) finish_choice(a, c, index, FinishReason::Length);
}

void Engine::Impl::finish_choice(Active& a, Choice& c, int index, FinishReason reason, std::vector<TokenInfo> tokens,
                                 std::string stop) {
  if (c.done) return;
  c.done = true;
  c.seq.reset();
  if (reason != FinishReason::Cancelled && c.detok && c.stop) {
    // Release held text: an incomplete character at the end, a partial stop string that never completed.
    auto sr = c.stop->push(c.detok->flush());
    std::string rest = sr.text + (sr.stopped ? std::string() : c.stop->flush());
    if (!rest.empty()) {
      Event e;
      e.kind = Event::Kind::Delta;
      e.index = index;
      e.text = std::move(rest);
      a.state->push(std::move(e));
    }
    if (sr.stopped) stop = sr.matched;
  }
  Event f;
  f.kind = Event::Kind::Finish;
  f.index = index;
  f.finish_reason = reason;
  f.tokens = std::move(tokens);
  f.stop_string = std::move(stop);
  a.state->push(std::move(f));
}

void Engine::Impl::finish(Active& a, bool cancelled) {
  const auto now = Clock::now();
  if (cancelled) {
    for (size_t i = 0; i < a.choices.size(); ++i)
      finish_choice(a, a.choices[i], static_cast<int>(i), FinishReason::Cancelled);
    if (a.choices.empty())
      for (int i = 0; i < a.req.n; ++i) {
        Event f;
        f.kind = Event::Kind::Finish;
        f.index = i;
        f.finish_reason = FinishReason::Cancelled;
        a.state->push(std::move(f));
      }
  }
  a.prefill.reset();
  a.choices.clear();
  if (a.admitted == Clock::time_point{}) {
    a.admitted = now;
    a.timings.queue_ms = ms_between(a.submitted, now);
  }
  if (a.first_token != Clock::time_point{}) {
    a.timings.decode_ms = ms_between(a.first_token, now);
    const int after_first = a.usage.completion_tokens - a.req.n;
    if (after_first > 0 && a.timings.decode_ms > 0)
      a.timings.decode_tokens_per_s = after_first * 1000.0 / a.timings.decode_ms;
    if (a.timings.prompt_ms > 0) a.timings.prompt_tokens_per_s = a.usage.prompt_tokens * 1000.0 / a.timings.prompt_ms;
  } else if (a.started) {
    a.timings.prompt_ms = ms_between(a.admitted, now);
  }
  {
    std::lock_guard lock(sh->mu);
    auto& totals = sh->totals;
    if (cancelled)
      totals.requests_cancelled++;
    else
      totals.requests_finished++;
    totals.prompt_tokens_total += static_cast<uint64_t>(a.usage.prompt_tokens);
    totals.completion_tokens_total += static_cast<uint64_t>(a.usage.completion_tokens);
    totals.prompt_seconds_total += a.timings.prompt_ms / 1000.0;
    totals.decode_seconds_total += a.timings.decode_ms / 1000.0;
  }
  Event d;
  d.kind = Event::Kind::Done;
  d.usage = a.usage;
  d.timings = a.timings;
  a.state->push(std::move(d));
}

void Engine::Impl::fail(Active& a, const Error& e) {
  log::warn("request " + a.req.id + " failed: " + e.what());
  a.prefill.reset();
  a.choices.clear();
  {
    std::lock_guard lock(sh->mu);
    sh->totals.requests_failed++;
  }
  Event ev;
  ev.kind = Event::Kind::Error;
  ev.error_kind = e.kind();
  ev.message = e.what();
  a.state->push(std::move(ev));
}

}  // namespace oc::engine
