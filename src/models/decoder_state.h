// Building blocks of a decoder's per-step state, shared by the families: the inputs and outputs of
// one run, the KV cache (presents fed back as pasts without copies), position ids, and reading the
// last row of the logits. A family composes these in its Sequence::forward.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/io_layout.h"
#include "models/model.h"
#include "ort/session.h"

namespace oc::models {

// Default tensor names of the exports (every one is checked against the session's metadata).
namespace io_names {
inline constexpr const char* kInputIds = "input_ids";
inline constexpr const char* kInputsEmbeds = "inputs_embeds";
inline constexpr const char* kPerLayerInputs = "per_layer_inputs";
inline constexpr const char* kPositionIds = "position_ids";
inline constexpr const char* kAttentionMask = "attention_mask";
inline constexpr const char* kUseCacheBranch = "use_cache_branch";
}  // namespace io_names

// The inputs of one run. Values are either owned here (add) or borrowed (add_ref: a tensor that
// lives elsewhere, such as the KV cache, passed without a copy).
class RunInputs {
 public:
  void add(std::string name, Ort::Value value);
  void add_ref(std::string name, const Ort::Value& value);
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  const OrtValue* value(size_t i) const { return values_[i]; }

 private:
  friend std::vector<Ort::Value> run_session(ort::Session&, const RunInputs&, const std::vector<std::string>&,
                                             RunControl&);
  std::vector<std::string> names_;
  std::vector<Ort::Value> owned_;
  std::vector<const OrtValue*> values_;
};

// Runs a session: returns the requested outputs in order. Throws oc::Error(Cancelled) when the run
// was terminated through control, oc::Error(Internal) naming the session otherwise.
std::vector<Ort::Value> run_session(ort::Session& session, const RunInputs& inputs,
                                    const std::vector<std::string>& output_names, RunControl& control);

// Binds every input of `inputs` (outputs are bound by the caller).
void bind_inputs(Ort::IoBinding& binding, const RunInputs& inputs);
// Runs a session on a binding and returns its first bound output, with run_session's errors.
Ort::Value run_binding(ort::Session& session, Ort::IoBinding& binding, RunControl& control);

// Tensors on the CPU.
Ort::Value make_tensor(ONNXTensorElementDataType type, const std::vector<int64_t>& shape);
Ort::Value copy_tensor(const Ort::Value& value);
// Converts a float32 / float16 tensor to the wanted element type (a move when it already is).
Ort::Value cast_tensor(Ort::Value value, ONNXTensorElementDataType to);
Ort::Value int64_tensor(const std::vector<int64_t>& shape, std::span<const int64_t> data);

// The name of the decoder's logits-count input ("num_logits_to_keep" or "logits_to_keep").
std::string logits_to_keep_name(const ort::Session& s);
// A tensor of the input's element type and rank with every dimension 1, holding `value`.
Ort::Value scalar_like(const ort::TensorInfo& info, int64_t value);

// position_ids [1, n] = start .. start+n-1.
Ort::Value position_ids(int64_t start, int64_t count);

// The last row of logits [batch, seq, vocab] (batch row 0), as float. A float32 tensor is read in
// place; float16 is converted into scratch.
std::span<const float> last_logits_row(const Ort::Value& logits, std::vector<float>& scratch);

// The KV cache of one sequence for a decoder whose layout was read from its metadata. Pasts are
// the presents of the previous run, moved (not copied).
class KvCache {
 public:
  // shapes: one per layer (kv_heads, head_dim of its key and value).
  KvCache(const KvLayout& layout, std::vector<KvShape> shapes);
  // Adds past_key_values.* (empty tensors before the first run) to the run's inputs.
  void bind_pasts(RunInputs& inputs) const;
  // Appends the present output names; their results start at `first` in the outputs.
  void request_presents(std::vector<std::string>& output_names);
  // Takes the presents from outputs[first ..] as the next pasts.
  void take_presents(std::vector<Ort::Value>& outputs, size_t first);
  KvCache clone(size_t n) const;  // deep copy of the first n positions (n <= the cached length)
  // Takes over tensors [1, kv_heads, length, head_dim] (key0, value0, key1, ...; each its layer's
  // shape) as the pasts.
  void assign(std::vector<Ort::Value> pasts) { pasts_ = std::move(pasts); }
  // The current pasts (key0, value0, key1, value1, ...), [1, kv_heads, length, head_dim] each.
  const std::vector<Ort::Value>& pasts() const { return pasts_; }
  const KvLayout& layout() const { return layout_; }

 private:
  KvLayout layout_;
  std::vector<KvShape> shapes_;  // per layer
  std::vector<std::string> past_names_;
  std::vector<std::string> present_names_;
  std::vector<Ort::Value> pasts_;  // key0, value0, key1, value1, ...
};

}  // namespace oc::models
