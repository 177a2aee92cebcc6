// A generic decoder sequence: binds whatever per-step inputs the decoder session declares
// (input_ids, or inputs_embeds (+ per_layer_inputs) from an embedding session; position_ids;
// attention_mask; num_logits_to_keep; use_cache_branch) and keeps the KV cache either as the
// previous run's presents moved into the next run's pasts, or, for GroupQueryAttention decoders,
// in one preallocated buffer per layer that past and present share (no copy per step).
// Families build a DecoderSpec from their sessions and hand out DecoderSequences.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "models/decoder_state.h"
#include "models/io_layout.h"
#include "models/model.h"
#include "ort/session.h"

namespace oc::models {

struct DecoderSpec {
  std::unique_ptr<ort::Session> embed;  // optional: input_ids -> inputs_embeds (+ per_layer_inputs)
  std::unique_ptr<ort::Session> decoder;
  DecoderIo io;
  std::vector<KvShape> kv_shapes;  // per cache layer, every dim known
  ONNXTensorElementDataType embeds_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  ONNXTensorElementDataType per_layer_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  int64_t position_offset = 0;  // first position id (0 for almost every export)
  bool shared_kv = false;       // past and present bound to one buffer (GroupQueryAttention)
  // With shared_kv, sequences start with moved presents and switch to the shared buffer once they
  // are this long: ONNX Runtime's shared-buffer attention costs a fixed few ms a step, which the
  // saved cache copies repay only on longer sequences.
  size_t shared_kv_from = 512;
  size_t max_length = 0;  // context length: the shared buffer never grows beyond it (0: unbounded)
  // GroupQueryAttention lengths come per batch row from the attention mask (the graph is edited at
  // load when the export derives them from the mask's width): rows of different lengths batch.
  bool gqa_row_lengths = false;
};

// Loads the decoder session into spec.decoder. A GroupQueryAttention decoder gets shared_kv and,
// when it takes an attention mask, per-row lengths (ort::gqa_lengths_from_mask).
void load_decoder(DecoderSpec& spec, const std::filesystem::path& path, const ort::SessionConfig& config);

// Whether the decoder can run sequences of different lengths in one batch: an attention mask, and
// positions either given per row (position_ids) or taken per row by GroupQueryAttention.
bool batchable(const DecoderSpec& spec);
// KV cache bytes per token of one sequence: the sum over the layers' keys and values.
size_t kv_bytes_per_token(const DecoderSpec& spec);
// A batch over the spec's sequences (batchable(spec) must hold).
std::unique_ptr<DecodeBatch> new_decoder_batch(std::shared_ptr<DecoderSpec> spec);

// Reads the decoder's I/O from its metadata and checks that this generic binding can drive it.
// Cache dims the graph leaves symbolic come from the config (resolve_kv_shapes): `config_layers`
// per layer where a family knows its layers differ, else `config` (num_key_value_heads, head_dim).
// Throws oc::Error(ModelLoad) naming the file and what is missing or unknown.
void prepare_decoder_spec(DecoderSpec& spec, KvShape config, const std::vector<KvShape>& config_layers = {});

// The KV cache of a GroupQueryAttention decoder: one [1, kv_heads, capacity, head_dim] buffer per
// past/present pair (its layer's shape), grown by doubling (copying only the used prefix) when a run
// needs more room.
class SharedKvCache {
 public:
  SharedKvCache(const KvLayout& layout, std::vector<KvShape> shapes, size_t max_length);
  // Makes room for `total` tokens, keeping the first `used`.
  void reserve(size_t total, size_t used);
  // Takes over a moved-presents cache holding `used` tokens (one copy), with room for `total`.
  void adopt(const KvCache& cache, size_t used, size_t total);
  // Binds each layer's past input and present output to its buffer.
  void bind(Ort::IoBinding& binding) const;
  SharedKvCache clone(size_t used) const;
  size_t capacity() const { return capacity_; }
  // [1, kv_heads, capacity, head_dim] each (its layer's shape): key0, value0, key1, value1, ...
  const std::vector<Ort::Value>& buffers() const { return buffers_; }
  // Hands the buffers over (no copy) and leaves the cache empty.
  std::vector<Ort::Value> release();
  // The inverse: takes buffers of this layout with room for `capacity` tokens (no copy).
  void take(std::vector<Ort::Value> buffers, size_t capacity);

 private:
  KvLayout layout_;
  std::vector<KvShape> shapes_;  // per layer
  size_t max_length_ = 0;
  size_t capacity_ = 0;
  std::vector<std::string> past_names_, present_names_;
  std::vector<Ort::Value> buffers_;  // key0, value0, key1, value1, ...
};

class DecoderSequence : public Sequence {
 public:
  explicit DecoderSequence(std::shared_ptr<DecoderSpec> spec);
  EncodeStats begin(const Prompt& prompt, RunControl& control) override;
  std::span<const float> forward(std::span<const TokenId> ids, RunControl& control) override;
  size_t length() const override { return length_; }
  std::unique_ptr<Sequence> fork() const override;
  std::unique_ptr<Sequence> fork_prefix(size_t n) const override;

 protected:
  // A fresh sequence of the same kind (a family's subclass returns its own type).
  virtual std::unique_ptr<DecoderSequence> blank() const;
  // A family's chance to change a chunk's inputs_embeds (positions [start, start + n), already in
  // the decoder's element type) before the run: media families write encoder features here.
  virtual void edit_embeds(Ort::Value& embeds, size_t start, size_t n);
  // Copies the first n cached tokens (all when n is npos) into `to`, a fresh sequence of the same
  // spec, for fork() and fork_prefix().
  void copy_state(DecoderSequence& to, size_t n = static_cast<size_t>(-1)) const;

 private:
  friend class DecoderBatch;
  std::shared_ptr<DecoderSpec> spec_;
  std::unique_ptr<KvCache> kv_;            // presents moved into pasts
  std::unique_ptr<SharedKvCache> shared_;  // or one shared buffer
  size_t length_ = 0;
  Ort::Value logits_{nullptr};
  std::vector<float> scratch_;
  DecodeBatch* batch_ = nullptr;  // the batch holding the cache while the sequence is a member
};

}  // namespace oc::models
