// The generation engine: requests in, token events out. No JSON or HTTP here: the API layer turns
// an OpenAI request into a GenerationRequest and the events into chunks.
//
// Threading: one engine loop thread runs every model call (plus ONNX Runtime's own intra-op
// threads). Callers submit() from any thread and read events from their RequestHandle. Up to
// max_running requests are active at once and advance by sequential interleaving (one prefill
// chunk or one decode step each, in turn): the Gemma-3n decoder has no attention_mask, so
// sequences of different lengths cannot share a batch. Further requests wait in a bounded queue.
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
  int max_running = 4;      // requests advanced together by interleaving
  int prefill_chunk = 256;  // prompt tokens per decoder run (bounds the logits memory)
  size_t max_context = 0;   // 0: the model's context length; else the smaller of the two
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
  std::shared_ptr<models::Model> shared_model() const;
  size_t context_length() const;  // the effective limit

  // Stops accepting requests. finish_inflight: running and queued requests complete first;
  // otherwise they are cancelled. Returns when the loop thread has ended. Idempotent.
  void shutdown(bool finish_inflight);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oc::engine
