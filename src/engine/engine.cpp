#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "common/allocator.h"
#include "common/log.h"
#include "engine/prefix_cache.h"
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
  bool ended_by_engine = false;  // loop thread only: Done or Error pushed, resources to free
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
  std::vector<TokenId> generated_ids;         // sampled tokens (the last one is not in the cache yet)
  std::unique_ptr<grammar::Matcher> matcher;  // when the request has a constraint
  TokenId last = 0;                           // sampled, not yet fed to the model
  int generated = 0;
  bool done = false;
  bool in_batch = false;
};

struct Active {
  std::shared_ptr<RequestState> state;
  GenerationRequest req;
  ResolvedSampling params;
  uint64_t seed = 0;
  int max_tokens = 0;
  size_t reserved_bytes = 0;  // KV budget held while running
  Clock::time_point submitted, admitted, first_token, deadline;
  bool started = false;
  std::unique_ptr<models::Sequence> prefill;
  size_t prefilled = 0;
  models::Prompt rest;  // the prompt's media not in a reused prefix, until the encoders ran
  std::vector<Choice> choices;
  Usage usage;
  Timings timings;
  bool decoding() const { return !choices.empty(); }
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
  size_t bytes_per_token = 0;
  std::vector<TokenId> eos_ids;
  std::shared_ptr<Shared> sh = std::make_shared<Shared>();
  std::thread thread;

  // Loop-thread state.
  std::list<std::unique_ptr<Active>> active;
  std::unique_ptr<models::DecodeBatch> batch;  // null: the model's sequences run one at a time
  std::unique_ptr<PrefixCache> prefixes;
  models::RunControl batch_run;  // decode steps of several requests: terminated only at shutdown
  size_t reserved = 0;           // KV budget held by running requests
  size_t last_batch = 0;
  Active* last_prefill = nullptr;  // round robin over requests in prefill

  size_t reservation(const GenerationRequest& r, int max_tokens) const;
  void loop();
  bool admit();
  void start_admitted();
  void take_prefix(Active& a);
  void record(Active& a, const models::EncodeStats& st);
  void decode_step();
  void prefill_step();
  void end(Active& a);
  void publish_stats();
  void handle_token(Active& a, Choice& c, int index, const Sampler::Result& r);
  void finish_choice(Active& a, Choice& c, int index, FinishReason reason, std::vector<TokenInfo> tokens = {},
                     std::string stop = {});
  void release(Choice& c, bool keep);
  void finish(Active& a, bool cancelled);
  void fail(Active& a, const Error& e);
  void guarded(Active& a, const std::function<void()>& f);
  bool is_eos(const Active& a, TokenId id) const;
  TokenInfo token_info(const Active& a, const Sampler::Result& r) const;
};

Engine::Engine(std::shared_ptr<models::Model> model, EngineConfig config) : impl_(std::make_unique<Impl>()) {
  if (!model) throw Error(ErrorKind::Internal, "engine created without a model");
  auto& im = *impl_;
  im.model = std::move(model);
  im.config = config;
  im.config.max_running = std::max(1, config.max_running);
  im.config.max_queued = std::max(0, config.max_queued);
  im.config.prefill_chunk = std::max(1, config.prefill_chunk);
  im.config.step_tokens = std::max(1, config.step_tokens);
  im.context = im.model->context_length();
  if (config.max_context > 0 && (im.context == 0 || config.max_context < im.context)) im.context = config.max_context;
  im.eos_ids = im.model->generation_defaults().eos_ids;
  im.bytes_per_token = im.model->kv_bytes_per_token();
  im.batch = im.model->new_batch();
  if (im.config.prefix_cache) im.prefixes = std::make_unique<PrefixCache>(im.bytes_per_token);
  im.sh->totals.kv_budget_bytes = im.config.kv_budget_bytes;
  im.thread = std::thread([this] { impl_->loop(); });
}

Engine::~Engine() { shutdown(false); }

const models::Model& Engine::model() const { return *impl_->model; }
size_t Engine::context_length() const { return impl_->context; }

EngineStats Engine::stats() const {
  auto& sh = *impl_->sh;
  std::lock_guard lock(sh.mu);
  EngineStats s = sh.totals;
  s.queued = sh.incoming.size();
  s.running = sh.running;
  return s;
}

// KV bytes a request holds at most: its prompt once per choice (forks copy it) plus its new tokens
// (max_tokens, or the first 256 when unset: such a request grows past it without a reservation).
size_t Engine::Impl::reservation(const GenerationRequest& r, int max_tokens) const {
  const size_t fresh = r.max_tokens ? static_cast<size_t>(max_tokens) : std::min<size_t>(max_tokens, 256);
  return bytes_per_token * static_cast<size_t>(r.n) * (r.prompt.ids.size() + fresh);
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
  a->reserved_bytes = im.reservation(request, a->max_tokens);
  if (im.config.kv_budget_bytes > 0 && a->reserved_bytes > im.config.kv_budget_bytes)
    throw Error(ErrorKind::InvalidRequest,
                "the request needs " + std::to_string(a->reserved_bytes >> 20) + " MB of KV cache (prompt " +
                    std::to_string(prompt.size()) + " tokens, n " + std::to_string(request.n) +
                    ", max_tokens); the server's KV budget is " + std::to_string(im.config.kv_budget_bytes >> 20) +
                    " MB",
                request.max_tokens ? "max_tokens" : "messages", "context_length_exceeded");
  a->submitted = Clock::now();
  if (im.config.request_timeout.count() > 0) a->deadline = a->submitted + im.config.request_timeout;
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
  if (!finish_inflight) im.batch_run.terminate();
  for (auto& s : to_cancel) s->cancel();
  im.sh->notify();
  if (im.thread.joinable()) im.thread.join();
}

// --- the loop --------------------------------------------------------------------------------

// Moves queued requests in while there is room: fewer than max_running, and their KV reservation
// fits the budget beside the running ones (evicting cached prefixes first). A request that does not
// fit waits, and so do the ones behind it (first come, first served). Returns whether the loop has
// anything to do; false and stopping: the loop ends.
bool Engine::Impl::admit() {
  std::unique_lock lock(sh->mu);
  while (active.size() < static_cast<size_t>(config.max_running) && !sh->incoming.empty()) {
    auto& next = sh->incoming.front();
    if (config.kv_budget_bytes > 0) {
      const size_t budget = config.kv_budget_bytes, wanted = reserved + next->reserved_bytes;
      if (!active.empty() && wanted > budget) break;
      if (prefixes) prefixes->shrink_to(budget - std::min(budget, wanted));
    }
    auto a = std::move(next);
    sh->incoming.pop_front();
    a->admitted = Clock::now();
    a->timings.queue_ms = ms_between(a->submitted, a->admitted);
    reserved += a->reserved_bytes;
    sh->running++;
    sh->running_states.push_back(a->state.get());
    active.push_back(std::move(a));
  }
  if (!active.empty()) return true;
  if (sh->stopping && sh->incoming.empty()) return false;
  sh->cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return sh->wake; });
  sh->wake = false;
  return true;
}

void Engine::Impl::loop() {
  bool worked = false;  // since the engine was last idle
  while (true) {
    if (!admit()) break;
    if (active.empty()) {
      // Idle: what the requests' tensors, media and HTTP bodies took goes back to the system, so
      // the server's memory does not step up with each new peak of load.
      if (std::exchange(worked, false)) release_free_memory();
      continue;
    }
    worked = true;
    // Requests that were cancelled or ran out of time end first, freeing their rows.
    const auto now = Clock::now();
    for (auto& a : active) {
      if (a->state->cancelled) {
        finish(*a, true);
      } else if (a->deadline != Clock::time_point{} && now >= a->deadline) {
        fail(*a, Error(ErrorKind::Unavailable,
                       "the request did not finish within the server's request timeout (" +
                           std::to_string(config.request_timeout.count() / 1000) + " s)",
                       "", "timeout"));
      }
    }
    start_admitted();
    decode_step();
    prefill_step();
    for (auto it = active.begin(); it != active.end();) {
      if ((*it)->state->ended_by_engine) {
        end(**it);
        it = active.erase(it);
      } else {
        ++it;
      }
    }
    publish_stats();
  }
  if (prefixes) prefixes->clear();
}

// Runs f for one request; an error ends that request only.
void Engine::Impl::guarded(Active& a, const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    if (a.state->cancelled || e.kind() == ErrorKind::Cancelled)
      finish(a, true);
    else
      fail(a, e);
  } catch (const std::exception& e) {
    if (a.state->cancelled)
      finish(a, true);
    else
      fail(a, Error(ErrorKind::Internal, std::string("generation failed: ") + e.what()));
  }
}

// Frees what an ended request held: its rows in the batch, its sequences, its KV reservation.
void Engine::Impl::end(Active& a) {
  for (auto& c : a.choices) release(c, false);
  a.prefill.reset();
  a.choices.clear();
  reserved -= std::min(reserved, a.reserved_bytes);
  if (last_prefill == &a) last_prefill = nullptr;
  std::lock_guard lock(sh->mu);
  sh->running--;
  std::erase(sh->running_states, a.state.get());
}

void Engine::Impl::release(Choice& c, bool keep) {
  if (c.in_batch && c.seq) batch->leave(*c.seq, keep);
  c.in_batch = false;
  if (!keep) c.seq.reset();
}

void Engine::Impl::publish_stats() {
  size_t used = 0;
  for (const auto& a : active) {
    if (a->prefill) used += a->prefill->length();
    for (const auto& c : a->choices)
      if (c.seq) used += c.seq->length();
  }
  used *= bytes_per_token;
  const size_t encoder_bytes = model->encoder_cache_bytes();  // before sh->mu: the cache has its own lock
  std::lock_guard lock(sh->mu);
  auto& t = sh->totals;
  t.batch_size = last_batch;
  t.prefix_cache_bytes = prefixes ? prefixes->bytes() : 0;
  t.prefix_cache_entries = prefixes ? prefixes->entries() : 0;
  t.prefix_cache_hits = prefixes ? prefixes->hits() : 0;
  t.prefix_tokens_reused = prefixes ? prefixes->tokens_reused() : 0;
  t.kv_bytes_in_use = used + t.prefix_cache_bytes;
  t.encoder_cache_bytes = encoder_bytes;
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

// Admission work on the loop thread for the requests admitted this step: the longest cached prefix
// of each, then the encoders for the media behind it, together for all of them where the model
// batches its encoders (one request's failure then retries the others alone).
void Engine::Impl::start_admitted() {
  std::vector<Active*> fresh;
  for (auto& a : active)
    if (!a->state->ended_by_engine && !a->started) {
      guarded(*a, [&] { take_prefix(*a); });
      if (!a->state->ended_by_engine) fresh.push_back(a.get());
    }
  std::vector<Active*> with_media;
  for (Active* a : fresh)
    if (!a->rest.media.empty()) with_media.push_back(a);
  if (with_media.size() > 1) {
    std::vector<models::Sequence*> seqs;
    std::vector<const models::Prompt*> prompts;
    for (Active* a : with_media) {
      seqs.push_back(a->prefill.get());
      prompts.push_back(&a->rest);
    }
    try {
      const auto stats = model->begin_all(seqs, prompts, batch_run);
      for (size_t i = 0; i < with_media.size(); ++i) record(*with_media[i], stats[i]);
      std::erase_if(fresh,
                    [&](Active* a) { return std::find(with_media.begin(), with_media.end(), a) != with_media.end(); });
    } catch (const std::exception& e) {
      log::debug(std::string("encoding several requests together failed, one by one now: ") + e.what());
      for (Active* a : with_media) a->prefill = a->prefill->fork_prefix(a->prefilled);  // drop what was placed
    }
  }
  for (Active* a : fresh) guarded(*a, [&] { record(*a, a->prefill->begin(a->rest, a->state->run)); });
}

// The longest cached prefix, or a fresh sequence; `rest` is the prompt with the media the prefix
// does not already hold.
void Engine::Impl::take_prefix(Active& a) {
  a.started = true;
  if (prefixes) {
    auto m = prefixes->take(a.req.prompt);
    if (m.seq) {
      a.prefill = std::move(m.seq);
      a.prefilled = m.tokens;
      a.usage.cached_tokens = static_cast<int>(m.tokens);
    }
  }
  if (!a.prefill) a.prefill = model->new_sequence();
  a.rest.ids = a.req.prompt.ids;
  for (const auto& seg : a.req.prompt.media)
    if (seg.position >= a.prefilled) a.rest.media.push_back(seg);
}

void Engine::Impl::record(Active& a, const models::EncodeStats& st) {
  a.timings.encode_image_ms = st.image_ms;
  a.timings.encode_audio_ms = st.audio_ms;
  a.timings.media_encoded = st.encoded;
  a.timings.media_cache_hits = st.cache_hits;
  // The sequence holds what it needs of the media: their inputs can go (position, length and
  // content hash stay, for the prefix cache).
  a.rest.media.clear();
  for (auto& seg : a.req.prompt.media) {
    std::vector<float>().swap(seg.features);
    std::vector<uint8_t>().swap(seg.mask);
    seg.encoded.reset();
  }
}

// One decode step for every running choice: one batched run, or one run each.
void Engine::Impl::decode_step() {
  const bool want_batch = batch != nullptr;
  // Rows of choices that ended leave the batch before it runs again.
  for (auto& a : active)
    for (auto& c : a->choices)
      if (c.in_batch && (c.done || a->state->ended_by_engine)) release(c, false);
  std::vector<std::pair<Active*, int>> rows;
  for (auto& a : active) {
    if (a->state->ended_by_engine || !a->decoding()) continue;
    for (int i = 0; i < a->req.n; ++i)
      if (!a->choices[i].done) rows.emplace_back(a.get(), i);
  }
  last_batch = rows.size();
  if (rows.empty()) return;
  {
    std::lock_guard lock(sh->mu);
    sh->totals.decode_steps_total++;
    sh->totals.decode_rows_total += rows.size();
  }
  if (!want_batch) {
    for (auto [a, i] : rows) {
      if (a->state->ended_by_engine) continue;
      guarded(*a, [&, a = a, i = i] {
        if (a->state->cancelled) throw Error(ErrorKind::Cancelled, "cancelled");
        Choice& c = a->choices[i];
        TokenId one[1] = {c.last};
        auto logits = c.seq->forward(one, a->state->run);
        handle_token(*a, c, i,
                     c.sampler->sample(logits, a->req.logprobs || a->req.top_logprobs > 0, a->req.top_logprobs,
                                       c.matcher.get(), a->max_tokens - c.generated));
      });
    }
    return;
  }
  std::vector<models::Sequence*> members;
  std::vector<TokenId> tokens;
  for (auto [a, i] : rows) {
    Choice& c = a->choices[i];
    if (!c.in_batch) {
      guarded(*a, [&] {
        batch->join(*c.seq);
        c.in_batch = true;
      });
      if (a->state->ended_by_engine) continue;
    }
  }
  std::vector<std::pair<Active*, int>> live;
  for (auto [a, i] : rows) {
    if (a->state->ended_by_engine) continue;
    live.emplace_back(a, i);
    members.push_back(a->choices[i].seq.get());
    tokens.push_back(a->choices[i].last);
  }
  if (members.empty()) return;
  std::vector<std::span<const float>> logits;
  try {
    logits = batch->step(members, tokens, batch_run);
  } catch (const std::exception& e) {
    // A failed batched run fails every request in it.
    const Error err = dynamic_cast<const Error*>(&e)
                          ? *dynamic_cast<const Error*>(&e)
                          : Error(ErrorKind::Internal, std::string("generation failed: ") + e.what());
    for (auto [a, i] : live)
      if (!a->state->ended_by_engine) {
        if (err.kind() == ErrorKind::Cancelled)
          finish(*a, true);
        else
          fail(*a, err);
      }
    return;
  }
  for (size_t k = 0; k < live.size(); ++k) {
    auto [a, i] = live[k];
    if (a->state->ended_by_engine) continue;
    guarded(*a, [&, a = a, i = i] {
      Choice& c = a->choices[i];
      handle_token(*a, c, i,
                   c.sampler->sample(logits[k], a->req.logprobs || a->req.top_logprobs > 0, a->req.top_logprobs,
                                     c.matcher.get(), a->max_tokens - c.generated));
    });
  }
}

// One prefill chunk of one request still reading its prompt (round robin); a request whose prompt
// is done samples its first token of each choice.
void Engine::Impl::prefill_step() {
  bool decoding = false;
  std::vector<Active*> waiting;
  for (auto& a : active) {
    if (a->state->ended_by_engine) continue;
    if (a->decoding()) {
      decoding |= std::any_of(a->choices.begin(), a->choices.end(), [](const Choice& c) { return !c.done; });
    } else if (a->started && a->prefill) {
      waiting.push_back(a.get());
    }
  }
  if (waiting.empty()) return;
  // The request after the one served last.
  Active* a = waiting.front();
  if (last_prefill) {
    auto it = std::find(waiting.begin(), waiting.end(), last_prefill);
    if (it != waiting.end() && std::next(it) != waiting.end()) a = *std::next(it);
  }
  last_prefill = a;
  const size_t budget =
      static_cast<size_t>(decoding ? std::min(config.step_tokens, config.prefill_chunk) : config.prefill_chunk);
  guarded(*a, [&] {
    const auto& ids = a->req.prompt.ids;
    const size_t n = std::min(ids.size() - a->prefilled, budget);
    std::span<const float> logits =
        a->prefill->forward(std::span<const TokenId>(ids).subspan(a->prefilled, n), a->state->run);
    a->prefilled += n;
    if (a->prefilled < ids.size()) return;
    // Prompt done: one sequence per choice (forks share the prefill), first token of each.
    std::vector<float> saved;
    if (a->req.n > 1) saved.assign(logits.begin(), logits.end());
    a->choices.resize(static_cast<size_t>(a->req.n));
    for (int i = 0; i < a->req.n; ++i) {
      Choice& c = a->choices[i];
      c.seq = i + 1 < a->req.n ? a->prefill->fork() : std::move(a->prefill);
      c.sampler.emplace(a->params, a->seed + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull);
      c.sampler->add_context(ids);
      c.detok.emplace(model->tokenizer(), a->req.skip_special_tokens);
      c.stop.emplace(a->req.stop);
      if (a->req.constraint) c.matcher = a->req.constraint->new_matcher();
    }
    a->prefill.reset();
    a->first_token = Clock::now();
    a->timings.prompt_ms = ms_between(a->admitted, a->first_token);
    const bool want_lp = a->req.logprobs || a->req.top_logprobs > 0;
    for (int i = 0; i < a->req.n; ++i) {
      Choice& c = a->choices[i];
      auto r = c.sampler->sample(a->req.n > 1 ? std::span<const float>(saved) : logits, want_lp, a->req.top_logprobs,
                                 c.matcher.get(), a->max_tokens - c.generated);
      handle_token(*a, c, i, r);
    }
  });
}

void Engine::Impl::handle_token(Active& a, Choice& c, int index, const Sampler::Result& r) {
  c.generated++;
  a.usage.completion_tokens++;
  TokenInfo info = token_info(a, r);
  if (is_eos(a, r.id)) {
    std::vector<TokenInfo> tokens;
    tokens.push_back(std::move(info));
    finish_choice(a, c, index, FinishReason::Stop, std::move(tokens));
  } else {
    if (c.matcher) c.matcher->accept(r.id);
    c.sampler->accept(r.id);
    c.last = r.id;
    c.generated_ids.push_back(r.id);
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
      Event f;
      f.kind = Event::Kind::Finish;
      f.index = index;
      f.finish_reason = FinishReason::Stop;
      f.stop_string = sr.matched;
      a.state->push(std::move(f));
    } else if (c.generated >= a.max_tokens) {
      finish_choice(a, c, index, FinishReason::Length);
    }
  }
  if (std::all_of(a.choices.begin(), a.choices.end(), [](const Choice& x) { return x.done; })) finish(a, false);
}

void Engine::Impl::finish_choice(Active& a, Choice& c, int index, FinishReason reason, std::vector<TokenInfo> tokens,
                                 std::string stop) {
  if (c.done) return;
  c.done = true;
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

// Ends a request (all choices done, or cancelled): the Done event, and its first choice's sequence
// into the prefix cache when the request completed.
void Engine::Impl::finish(Active& a, bool cancelled) {
  if (a.state->ended_by_engine) return;
  a.state->ended_by_engine = true;
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
  } else if (prefixes && !a.choices.empty() && a.choices[0].seq) {
    Choice& c = a.choices[0];
    release(c, true);
    std::vector<TokenId> tokens = a.req.prompt.ids;
    tokens.insert(tokens.end(), c.generated_ids.begin(), c.generated_ids.end());
    prefixes->insert(std::move(tokens), a.req.prompt.media, std::move(c.seq));
    // Cached prefixes keep at most half the budget, and never what running requests reserved.
    if (config.kv_budget_bytes > 0)
      prefixes->shrink_to(
          std::min(config.kv_budget_bytes / 2, config.kv_budget_bytes - std::min(config.kv_budget_bytes, reserved)));
  }
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
  if (a.state->ended_by_engine) return;
  a.state->ended_by_engine = true;
  log::warn("request " + a.req.id + " failed: " + e.what());
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
