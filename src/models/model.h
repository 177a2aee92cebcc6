// The generic model interface: what the engine and the API layer know about a loaded model.
// A family (src/models/<family>/) implements Model and Sequence; nothing outside its folder knows
// which family a model belongs to.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "template/chat_template.h"
#include "template/model_templates.h"
#include "tokenizer/tokenizer.h"

namespace oc::models {

struct FamilyProbe;
struct LoadOptions;
struct Variant;

using TokenId = tok::TokenId;

enum class Modality { Text, Image, Audio };
const char* modality_name(Modality m);  // "text", "image", "audio"

// One media input of a request as the client sent it (encoded file bytes: PNG, JPEG, WAV, ...),
// or audio the caller already decoded. Decoding and feature extraction are the family
// processor's job.
struct MediaInput {
  Modality modality = Modality::Image;
  std::string data;    // encoded bytes
  std::string format;  // the client's format name ("png", "wav", "mp3", ...) when known
  Location location;   // where the request holds it: errors about this input carry it
  // Audio only: decoded mono samples at `sample_rate` (used instead of `data` when not empty).
  std::vector<float> samples;
  int sample_rate = 0;
};

// A family's encoder output for one media segment (defined by the family; opaque elsewhere).
struct EncodedMedia;

// A media item placed in the token sequence: `length` placeholder ids starting at `position` whose
// embedding rows the family replaces with encoder features. Features are filled by the processor.
struct MediaSegment {
  Modality modality = Modality::Image;
  size_t position = 0;
  size_t length = 0;
  size_t input_index = 0;                // index into the request's media inputs
  std::vector<int64_t> shape;            // encoder input tensor shape (e.g. [1,3,768,768])
  std::vector<float> features;           // encoder input (pixel values, log-mel frames)
  std::vector<uint8_t> mask;             // optional encoder input mask (audio frames, pixels), 1 = valid
  std::vector<int64_t> mask_shape;       // shape of `mask` when it has more than one dimension
  std::vector<int64_t> positions;        // optional int64 encoder input (e.g. patch positions)
  std::vector<int64_t> positions_shape;  // its shape (without the batch dimension)
  // Encoder batch items in `features` (and `mask`), each of `shape` (e.g. the tiles of one image).
  size_t items = 1;
  // When not empty, the placeholder rows are gathered from the items' encoder rows (concatenated,
  // `item_rows` each): entry i names the row of placeholder i, kExtraRow the encoder's extra output
  // row (e.g. LLaVA-NeXT's image_newline). Empty: the rows are the encoder's rows in order.
  std::vector<int64_t> gather;
  int64_t item_rows = 0;
  static constexpr int64_t kExtraRow = -1;
  std::string content_hash;  // for encoder output caching across requests
  // Set by the processor when the encoder output is already cached (features then stay empty).
  std::shared_ptr<const EncodedMedia> encoded;
};

// One piece of a prompt as the processor built it: a run of text tokens, or one media segment's
// placeholders. Chunks cover the prompt's ids in order, without gaps.
struct PromptChunk {
  Modality modality = Modality::Text;  // Text: tokens of text (special tokens included)
  size_t begin = 0, end = 0;           // [begin, end) in Prompt::ids
  size_t media = 0;                    // non-text chunks: index into Prompt::media
};

// What the engine takes: the full prompt token sequence (media placeholders expanded), the
// media segments in order of position, and the chunks the processor built them from.
struct Prompt {
  std::vector<TokenId> ids;
  std::vector<MediaSegment> media;
  std::vector<PromptChunk> chunks;     // empty for prompts not built by a processor (token ids given)
  size_t tokens_of(Modality m) const;  // placeholder tokens of one modality
};

// Defaults from generation_config.json (and config.json). Requests override them.
struct GenerationDefaults {
  std::vector<TokenId> eos_ids;   // generation_config eos_token_id (int or list), else config's
  std::optional<bool> do_sample;  // false: greedy unless the request sets a temperature
  std::optional<float> temperature;
  std::optional<int> top_k;
  std::optional<float> top_p;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  std::optional<int> max_new_tokens;
};

// The strings a chat template expects beside messages (tokenizer_config.json's special tokens).
struct TemplateDefaults {
  std::string bos_token, eos_token, pad_token, unk_token;
};

// A loaded component file (for /v1/models, logs and the benchmark).
struct LoadedComponent {
  std::string name;   // "decoder_model_merged"
  std::string dtype;  // "q4"
  std::filesystem::path path;
  uint64_t bytes = 0;  // .onnx plus external data files
  bool loaded = false;
  std::string note;  // e.g. "wanted fp16, using q4"
  // How its 4-bit MatMulNBits nodes compute ("int8", "exact", ...; ort/matmul_precision.h), "" when
  // the graph has none.
  std::string matmul_precision;
};

struct ModelInfo {
  std::string id;                // folder or repo name ("gemma-3n-E2B-it-ONNX")
  std::string family;            // registry name of the family ("gemma3n")
  std::string model_type;        // config.json model_type
  std::string preset;            // preset the components were chosen by ("Q4_MIXED")
  std::string matmul_precision;  // as asked at load: "auto", "exact", "int8", "fp16", "fp32"
  std::string provider;          // execution provider the sessions run on ("cpu", ...)
  std::filesystem::path dir;
  size_t context_length = 0;
  std::vector<LoadedComponent> components;
};

// Lets the engine abort a model run from another thread (ONNX Runtime's terminate flag).
class RunControl {
 public:
  RunControl() = default;
  Ort::RunOptions& options() { return options_; }
  void terminate() {
    terminated_ = true;
    options_.SetTerminate();
  }
  bool terminated() const { return terminated_; }

 private:
  Ort::RunOptions options_;
  std::atomic<bool> terminated_{false};
};

// Per-sequence model state (KV cache, position). Created by Model::new_sequence(); used from one
// thread at a time (the engine loop).
// What Sequence::begin did with the prompt's media.
struct EncodeStats {
  double image_ms = 0;  // encoder runs (and their input preparation) per modality
  double audio_ms = 0;
  int encoded = 0;     // segments run through an encoder
  int cache_hits = 0;  // segments whose encoder output came from the cache
};

class Sequence {
 public:
  virtual ~Sequence() = default;
  // Called once before the first forward with the whole prompt: families with media run their
  // encoders here (loading them on first use); text-only families reject prompts with media
  // (Unsupported).
  virtual EncodeStats begin(const Prompt& prompt, RunControl& control) = 0;
  // Appends `ids` (the next prompt chunk or one sampled token) at positions [length, length+n) and
  // returns the logits of the last position (float, vocabulary-sized), valid until the next call.
  // Throws oc::Error(Cancelled) when control was terminated, oc::Error(Internal) on runtime failure.
  virtual std::span<const float> forward(std::span<const TokenId> ids, RunControl& control) = 0;
  // Tokens in the cache.
  virtual size_t length() const = 0;
  // A copy of this sequence (deep copy of the cache), for n > 1 choices sharing one prefill.
  virtual std::unique_ptr<Sequence> fork() const = 0;
  // A copy holding only the first `n` cached tokens (n <= length()), for a request whose prompt
  // starts with them: the copy is extended, this sequence never changes.
  virtual std::unique_ptr<Sequence> fork_prefix(size_t n) const = 0;
};

// Sequences of one model advanced together, one decoder run per step for all of them (continuous
// batching): a sequence joins once its prompt is in its cache and leaves when it ends; rows of
// different lengths share the run under the attention mask. Used from the engine's loop thread.
class DecodeBatch {
 public:
  virtual ~DecodeBatch() = default;
  // Moves the sequence's cache into the batch; until it leaves, it advances only through step().
  virtual void join(Sequence& seq) = 0;
  // Takes the sequence out of the batch. keep: its cache is copied back into it (so it can be
  // cached or continued alone); otherwise its cache is dropped.
  virtual void leave(Sequence& seq, bool keep) = 0;
  // One decoder run: tokens[i] is appended to members[i], which must be exactly the sequences that
  // joined (any order). Returns each member's logits row (float, vocabulary-sized), valid until the
  // next call. Throws oc::Error(Cancelled) when control was terminated.
  virtual std::vector<std::span<const float>> step(std::span<Sequence* const> members, std::span<const TokenId> tokens,
                                                   RunControl& control) = 0;
  virtual size_t size() const = 0;
};

// A loaded model: safe to share between threads. Its text components are loaded at construction;
// media encoders may load later (ensure_loaded, or on first use), which is thread-safe.
// new_sequence() is called from the engine's loop thread.
class Model {
 public:
  virtual ~Model() = default;

  const ModelInfo& info() const { return info_; }
  const std::string& id() const { return info_.id; }
  size_t context_length() const { return info_.context_length; }
  const tok::Tokenizer& tokenizer() const { return *tokenizer_; }
  // The chat template to render with: `name` when given; else "tool_use" when the request has
  // tools and the model has such a template; else the default one. nullptr when there is none.
  const tmpl::ChatTemplate* chat_template(bool has_tools = false, std::string_view name = {}) const;
  // The template sources and special tokens as read from the folder: pass to tmpl::chat_context()
  // to build the render context (messages, add_generation_prompt, tools, bos/eos tokens...).
  const tmpl::ModelTemplates& templates() const { return templates_; }
  const TemplateDefaults& template_defaults() const { return template_defaults_; }
  const GenerationDefaults& generation_defaults() const { return generation_defaults_; }

  // Modalities the model can take (its config and files say so) and those loaded now.
  virtual bool supports(Modality m) const = 0;
  virtual bool loaded(Modality m) const = 0;
  // The component files with `loaded` as of now (info().components says what loaded at start;
  // encoders may load later). Thread-safe.
  virtual std::vector<LoadedComponent> components() const { return info_.components; }
  // Loads the encoder of a modality on first use (no-op for text). Throws Unsupported / ModelLoad.
  virtual void ensure_loaded(Modality m) = 0;

  // The processor: rendered prompt text (template output, special tokens as text) plus the
  // request's media in order -> token ids with media placeholders expanded. Tokenizes without
  // adding special tokens (the template emits them). Throws oc::Error(InvalidRequest) when the
  // placeholders and media do not match.
  virtual Prompt process(std::string_view prompt_text, std::span<const MediaInput> media = {}) const = 0;

  // A fresh sequence with an empty cache.
  virtual std::unique_ptr<Sequence> new_sequence() = 0;
  // Sequence::begin for several new sequences at once (requests admitted together): a family
  // whose encoders take a batch runs the media of all of them through one encoder run. Returns
  // each sequence's stats. The default calls begin() on each in turn.
  virtual std::vector<EncodeStats> begin_all(std::span<Sequence* const> seqs, std::span<const Prompt* const> prompts,
                                             RunControl& control);
  // A batch for the model's sequences, or nullptr when its decoder cannot run sequences of
  // different lengths in one run (they then advance one after another).
  virtual std::unique_ptr<DecodeBatch> new_batch() { return nullptr; }
  // Bytes of KV cache one token of one sequence holds (0 when unknown): the engine's memory budget.
  virtual size_t kv_bytes_per_token() const { return 0; }
  // Bytes of media encoder outputs kept for reuse across requests (bounded by their budget).
  virtual size_t encoder_cache_bytes() const { return 0; }

  // Size of the vocabulary the logits cover (may exceed the tokenizer's).
  virtual size_t logits_size() const = 0;

  // How the model hears: the sample rate its audio front end wants and the samples one encoder
  // window covers (longer clips are split into windows). Zeros when the model takes no audio.
  struct AudioSpec {
    int sample_rate = 0;
    int64_t window_samples = 0;
  };
  virtual AudioSpec audio_spec() const { return {}; }

 protected:
  ModelInfo info_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
  // Named templates ("default" for a single one); shared: no template code is needed to destroy
  // an empty list.
  std::vector<std::pair<std::string, std::shared_ptr<const tmpl::ChatTemplate>>> chat_templates_;
  tmpl::ModelTemplates templates_;
  // Parses templates_ into chat_templates_; throws oc::Error(ModelLoad) naming a bad template.
  void parse_templates();
  TemplateDefaults template_defaults_;
  GenerationDefaults generation_defaults_;

  // Shared by the families' loaders: fills info_ (id, family, model type, preset, folder, context
  // length) and loads the text assets (tokenizer, chat templates, template and generation defaults).
  void load_common(const FamilyProbe& probe, const LoadOptions& options, const std::string& family,
                   size_t context_length);
  // Records a component in info_.components (loaded now or on first use), with its fallback note.
  void add_component(const std::string& name, const Variant& variant, bool loaded,
                     const std::vector<std::string>& notes);
};

}  // namespace oc::models
