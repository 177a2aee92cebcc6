// The generation engine: requests in, token events out. No JSON or HTTP here: the API layer turns
// an OpenAI request into a GenerationRequest and the events into chunks.
//
// Threading: one engine loop thread runs every model call (plus ONNX Runtime's own intra-op
// threads). Callers submit() from any thread and read events from their RequestHandle. Each loop
// step runs one decode step for every running sequence (one batched decoder run where the model
// can batch sequences of different lengths, else one run after another) and then one prefill chunk
// of a request still reading its prompt, so a long prompt never stalls the others' streams.
// Requests are admitted while the KV memory budget allows; further ones wait in a bounded queue.
// Finished sequences stay in a prefix cache, so a later prompt starting with the same tokens
// prefills only the rest (docs/ENGINE.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "grammar/matcher.h"
#include "models/model.h"

namespace oc::engine {

using TokenId = tok::TokenId;

// Sampling parameters of a request. Unset fields take the model's generation defaults
// (generation_config.json), then the neutral value. temperature 0 means greedy.
struct SamplingParams {
  std::optional<float> temperature;         // 0: greedy
  std::optional<int> top_k;                 // 0 or unset: off
  std::optional<float> top_p;               // 1: off
  std::optional<float> min_p;               // 0: off
  std::optional<float> repetition_penalty;  // 1: off (HF style, over prompt and output)
  float frequency_penalty = 0;              // OpenAI style, over output tokens
  float presence_penalty = 0;               // OpenAI style, over output tokens
  std::vector<std::pair<TokenId, float>> logit_bias;
  std::optional<uint64_t> seed;  // same seed + same request = same tokens
};

struct GenerationRequest {
  std::string id;  // for logs ("chatcmpl-...")
  models::Prompt prompt;
  SamplingParams sampling;
  std::optional<int> max_tokens;        // unset: up to the context length
  std::vector<std::string> stop;        // stop strings: never part of the output
  std::vector<TokenId> stop_token_ids;  // extra stop ids besides the model's EOS ids
  bool ignore_eos = false;
  int n = 1;                        // choices
  bool logprobs = false;            // per-token logprob of the chosen token
  int top_logprobs = 0;             // alternatives per token (0..20)
  bool skip_special_tokens = true;  // in the text deltas
  // Structured output: every choice's tokens follow this grammar (one matcher per choice); the
  // end-of-sequence tokens are allowed only where the grammar is complete, and the grammar is
  // steered to complete within max_tokens. Unset: free text.
  std::shared_ptr<const grammar::Constraint> constraint;
};

// Log probability of one token (natural log of the model's softmax, before penalties,
// temperature and truncation).
struct TokenLogprob {
  TokenId id = 0;
  std::string text;  // the token decoded alone (may be a partial UTF-8 sequence)
  float logprob = 0;
};

struct TokenInfo {
  TokenId id = 0;
  float logprob = 0;              // set when logprobs were requested
  std::vector<TokenLogprob> top;  // top_logprobs alternatives, most likely first
  std::string text;               // the token decoded alone
};

enum class FinishReason { Stop, Length, Cancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled"

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;  // summed over choices, EOS tokens included
  int cached_tokens = 0;
  int image_tokens = 0;
  int audio_tokens = 0;
};

struct Timings {
  double queue_ms = 0;   // submit -> admitted
  double prompt_ms = 0;  // admitted -> first token sampled (encoders and prefill)
  double encode_image_ms = 0;
  double encode_audio_ms = 0;
  int media_encoded = 0;     // media segments run through an encoder
  int media_cache_hits = 0;  // media segments whose encoder output was cached
  double decode_ms = 0;      // first token -> finished
  double prompt_tokens_per_s = 0;
  double decode_tokens_per_s = 0;  // completion tokens after the first, per second
};

struct Event {
  enum class Kind {
    Delta,   // new text and/or tokens of one choice
    Finish,  // one choice ended (finish_reason)
    Done,    // the request ended: usage and timings; always the last event unless Error
    Error,   // the request failed (error_kind, message); the last event
  };
  Kind kind = Kind::Delta;
  int index = 0;  // choice index (Delta, Finish)
  // Delta: text released by this step (can be empty while a possible stop string or an incomplete
  // UTF-8 sequence is held back; the held text comes later or is dropped at a stop string).
  std::string text;
  // Delta: the sampled tokens of this step. Finish: the EOS/stop id that ended the choice, if any
  // (its text is never emitted).
  std::vector<TokenInfo> tokens;
  FinishReason finish_reason = FinishReason::Stop;  // Finish
  std::string stop_string;                          // Finish: the stop string that matched, if any
  Usage usage;                                      // Done
  Timings timings;                                  // Done
  ErrorKind error_kind = ErrorKind::Internal;       // Error
  std::string message;                              // Error
};

struct RequestState;  // shared between the handle and the engine (engine.cpp)

// The caller's side of one request. Movable; destroying a handle of an unfinished request cancels it.
class RequestHandle {
 public:
  RequestHandle() = default;
  explicit RequestHandle(std::shared_ptr<RequestState> state);
  RequestHandle(RequestHandle&&) noexcept;
  RequestHandle& operator=(RequestHandle&&) noexcept;
  RequestHandle(const RequestHandle&) = delete;
  RequestHandle& operator=(const RequestHandle&) = delete;
  ~RequestHandle();

  // The next event, waiting up to timeout; nullopt on timeout, and at once after the last event
  // (Done or Error) was returned.
  std::optional<Event> next(std::chrono::milliseconds timeout);
  // Stops the request (queued, in prefill or decoding) and frees its resources promptly; the
  // stream then ends with Finish(cancelled) for each unfinished choice and Done.
  void cancel();
  bool finished() const;  // the last event was returned
  const std::string& id() const;
  explicit operator bool() const { return state_ != nullptr; }

 private:
  std::shared_ptr<RequestState> state_;
};

struct EngineConfig {
  int max_queued = 64;      // waiting requests beyond the running ones; submit() throws Overloaded beyond
  int max_running = 16;     // requests running at once (their sequences decode in one batch)
  int prefill_chunk = 256;  // prompt tokens per decoder run when nothing else decodes
  int step_tokens = 64;     // prompt tokens per step while other sequences decode
  size_t max_context = 0;   // 0: the model's context length; else the smaller of the two
  // KV cache memory for running requests and the prefix cache (0: unlimited). A request is admitted
  // when its prompt and max_tokens (or the first 256 tokens when unset) fit beside the running ones;
  // cached prefixes are evicted first.
  size_t kv_budget_bytes = 0;
  bool prefix_cache = true;
  std::chrono::milliseconds request_timeout{0};  // 0: none; else a request ends (Unavailable) after it
};

struct EngineStats {
  size_t queued = 0;
  size_t running = 0;
  uint64_t requests_total = 0;  // submitted and accepted
  uint64_t requests_finished = 0;
  uint64_t requests_cancelled = 0;
  uint64_t requests_failed = 0;
  uint64_t requests_rejected = 0;  // queue full
  uint64_t prompt_tokens_total = 0;
  uint64_t completion_tokens_total = 0;
  double prompt_seconds_total = 0;
  double decode_seconds_total = 0;
  int retry_after_s = 1;  // a suggestion for Retry-After when the queue is full
  size_t batch_size = 0;  // sequences in the last decode step
  uint64_t decode_steps_total = 0;
  uint64_t decode_rows_total = 0;  // sum of batch sizes over decode steps
  size_t kv_budget_bytes = 0;      // 0: unlimited
  size_t kv_bytes_in_use = 0;      // running sequences plus the prefix cache
  size_t prefix_cache_bytes = 0;
  size_t prefix_cache_entries = 0;
  uint64_t prefix_cache_hits = 0;
  uint64_t prefix_tokens_reused = 0;
  size_t encoder_cache_bytes = 0;  // media encoder outputs kept for reuse
};

class Engine {
 public:
  // The engine shares the model; it starts its loop thread at once.
  Engine(std::shared_ptr<models::Model> model, EngineConfig config = {});
  ~Engine();  // shutdown(false)
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and enqueues. Throws oc::Error: Overloaded when the queue is full; InvalidRequest
  // (code "context_length_exceeded") when prompt + max_tokens exceed the context, or for invalid
  // parameters (param names the field); Unavailable after shutdown.
  RequestHandle submit(GenerationRequest request);

  EngineStats stats() const;
  const models::Model& model() const;
  size_t context_length() const;  // the effective limit

  // Stops accepting requests. finish_inflight: running and queued requests complete first;
  // otherwise they are cancelled. Returns when the loop thread has ended. Idempotent.
  void shutdown(bool finish_inflight);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oc::engine
