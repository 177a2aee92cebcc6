// What a decoder session's inputs and outputs say about how to drive it: which inputs it takes,
// how many layers keep a KV cache, the cache's element type and each layer's shape, and the logits
// output.
// Inferred from names and metadata only, so it works on a session or on a bare .onnx file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ort/session.h"

namespace oc::models {

// The cache shape of one layer's past/present pair: [batch, kv_heads, length, head_dim]
// (-1: not fixed).
struct KvShape {
  int64_t kv_heads = -1;
  int64_t head_dim = -1;
  bool operator==(const KvShape&) const = default;
};

struct KvLayout {
  int layers = 0;                  // number of (key, value) pairs
  std::string past_key_format;     // "past_key_values.{i}.key"
  std::string past_value_format;   // "past_key_values.{i}.value"
  std::string present_key_format;  // "present.{i}.key"
  std::string present_value_format;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  int64_t kv_heads = -1;              // the first past input's dim 1 when fixed
  int64_t head_dim = -1;              // the first past input's dim 3 when fixed
  std::vector<KvShape> layer_shapes;  // per layer, as its past key input declares it
  std::string past_length_symbol;     // symbolic name of dim 2
  // The first past input's shape as declared, e.g. {"batch_size","2","past_sequence_length","256"}.
  std::vector<std::string> shape;
  bool presents_complete = false;      // a present output for every past input
  bool group_query_attention = false;  // com.microsoft GroupQueryAttention: past/present may share a buffer
  std::string past_key(int layer) const;
  std::string past_value(int layer) const;
  std::string present_key(int layer) const;
  std::string present_value(int layer) const;
};

struct DecoderIo {
  // Inputs the decoder declares (each optional except one of input_ids / inputs_embeds).
  bool input_ids = false, inputs_embeds = false, per_layer_inputs = false, position_ids = false, attention_mask = false,
       num_logits_to_keep = false, use_cache_branch = false, cache_position = false;
  std::vector<std::string> other_inputs;  // declared inputs this layout does not know
  std::string logits = "logits";
  int64_t vocab = -1;  // last logits dim when fixed
  KvLayout kv;
  std::vector<std::string> problems;  // what makes the session unusable, one line each
};

DecoderIo infer_decoder_io(const std::vector<ort::TensorInfo>& inputs, const std::vector<ort::TensorInfo>& outputs,
                           bool has_group_query_attention);

// The cache shape of every layer: the dims the graph fixes, the others from the model's config:
// `config[i]` for layer i when the list has it (a family that knows its layers differ), else
// `fallback` (num_key_value_heads, head_dim). A dim known nowhere stays -1.
std::vector<KvShape> resolve_kv_shapes(const KvLayout& layout, KvShape fallback, const std::vector<KvShape>& config);

}  // namespace oc::models
