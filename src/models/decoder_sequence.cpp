#include "models/decoder_sequence.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/error.h"
#include "common/strings.h"
#include "ort/onnx_edit.h"
#include "ort/onnx_file.h"

namespace oc::models {
namespace {

using namespace io_names;

Ort::Value ones_mask(int64_t total) {
  Ort::Value out = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, {1, total});
  std::fill_n(out.GetTensorMutableData<int64_t>(), total, int64_t{1});
  return out;
}

}  // namespace

void prepare_decoder_spec(DecoderSpec& spec, KvShape config, const std::vector<KvShape>& config_layers) {
  auto& d = *spec.decoder;
  const std::string file = d.path().string();
  spec.io = infer_decoder_io(d.inputs(), d.outputs(), spec.shared_kv);
  auto& io = spec.io;
  if (!io.problems.empty()) throw Error(ErrorKind::ModelLoad, file + ": " + join(io.problems, "; "));
  if (!io.other_inputs.empty() || io.cache_position)
    throw Error(ErrorKind::ModelLoad, file + ": decoder inputs this server cannot feed: " +
                                          (io.cache_position ? std::string("cache_position ") : std::string()) +
                                          join(io.other_inputs, ", "));
  if (io.inputs_embeds && !io.input_ids) {
    if (!spec.embed) throw Error(ErrorKind::ModelLoad, file + ": the decoder takes inputs_embeds but no embed_tokens");
    if (!spec.embed->input(kInputIds) || !spec.embed->output(kInputsEmbeds))
      throw Error(ErrorKind::ModelLoad, spec.embed->path().string() + ": expected input_ids -> inputs_embeds");
    if (io.per_layer_inputs && !spec.embed->output(kPerLayerInputs))
      throw Error(ErrorKind::ModelLoad, spec.embed->path().string() + ": no per_layer_inputs output");
    spec.embeds_type = d.input(kInputsEmbeds)->type;
    if (io.per_layer_inputs) spec.per_layer_type = d.input(kPerLayerInputs)->type;
  } else if (!io.input_ids) {
    throw Error(ErrorKind::ModelLoad, file + ": the decoder takes neither input_ids nor inputs_embeds");
  }
  spec.kv_shapes = resolve_kv_shapes(io.kv, config, config_layers);
  if (io.kv.layers > 0) {
    for (size_t i = 0; i < spec.kv_shapes.size(); ++i)
      if (spec.kv_shapes[i].kv_heads <= 0 || spec.kv_shapes[i].head_dim <= 0)
        throw Error(ErrorKind::ModelLoad, file + ": cannot tell the KV cache shape (kv heads, head dim) of " +
                                              io.kv.past_key(static_cast<int>(i)));
    if (io.kv.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && io.kv.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16)
      throw Error(ErrorKind::ModelLoad, file + ": unsupported KV element type " + ort::element_type_name(io.kv.type));
  }
  spec.shared_kv = spec.shared_kv && io.kv.layers > 0 && io.kv.group_query_attention && io.attention_mask;
}

void load_decoder(DecoderSpec& spec, const std::filesystem::path& path, const ort::SessionConfig& config) {
  spec.shared_kv = ort::read_onnx_file(path).has_op("com.microsoft.GroupQueryAttention");
  bool edited = false;
  spec.decoder = std::make_unique<ort::Session>(path, config, [&](std::string_view model) {
    auto out = spec.shared_kv ? ort::gqa_lengths_from_mask(model) : std::nullopt;
    edited = out.has_value();
    return out;
  });
  spec.gqa_row_lengths = edited;
}

bool batchable(const DecoderSpec& spec) {
  const auto& io = spec.io;
  if (io.kv.layers == 0 || !io.attention_mask) return false;
  return io.kv.group_query_attention ? spec.gqa_row_lengths && spec.shared_kv : io.position_ids;
}

size_t kv_bytes_per_token(const DecoderSpec& spec) {
  size_t elements = 0;
  for (const auto& s : spec.kv_shapes)
    elements += 2 * static_cast<size_t>(std::max<int64_t>(s.kv_heads, 0)) *
                static_cast<size_t>(std::max<int64_t>(s.head_dim, 0));
  return elements * ort::element_size(spec.io.kv.type);
}

// ---- SharedKvCache ------------------------------------------------------------------------------

SharedKvCache::SharedKvCache(const KvLayout& layout, std::vector<KvShape> shapes, size_t max_length)
    : layout_(layout), shapes_(std::move(shapes)), max_length_(max_length) {
  for (int i = 0; i < layout.layers; ++i) {
    past_names_.push_back(layout.past_key(i));
    past_names_.push_back(layout.past_value(i));
    present_names_.push_back(layout.present_key(i));
    present_names_.push_back(layout.present_value(i));
  }
}

void SharedKvCache::reserve(size_t total, size_t used) {
  if (total <= capacity_) return;
  size_t cap = std::max<size_t>(capacity_ ? capacity_ * 2 : 256, total);
  if (max_length_ && cap > max_length_) cap = std::max(max_length_, total);
  const size_t elem = ort::element_size(layout_.type);
  std::vector<Ort::Value> next;
  next.reserve(past_names_.size());
  for (size_t i = 0; i < past_names_.size(); ++i) {
    const KvShape& s = shapes_[i / 2];
    const size_t row = static_cast<size_t>(s.head_dim) * elem;  // one position of one head
    Ort::Value buf = make_tensor(layout_.type, {1, s.kv_heads, static_cast<int64_t>(cap), s.head_dim});
    auto* dst = static_cast<char*>(buf.GetTensorMutableRawData());
    if (!buffers_.empty() && used) {
      const auto* src = static_cast<const char*>(buffers_[i].GetTensorRawData());
      for (int64_t h = 0; h < s.kv_heads; ++h) std::memcpy(dst + h * cap * row, src + h * capacity_ * row, used * row);
    }
    next.push_back(std::move(buf));
  }
  buffers_ = std::move(next);
  capacity_ = cap;
}

void SharedKvCache::adopt(const KvCache& cache, size_t used, size_t total) {
  buffers_.clear();
  capacity_ = 0;
  reserve(total, 0);
  const auto& pasts = cache.pasts();
  for (size_t i = 0; i < buffers_.size() && i < pasts.size(); ++i) {
    const KvShape& s = shapes_[i / 2];
    const size_t row = static_cast<size_t>(s.head_dim) * ort::element_size(layout_.type);
    const auto* src = static_cast<const char*>(pasts[i].GetTensorRawData());
    auto* dst = static_cast<char*>(buffers_[i].GetTensorMutableRawData());
    for (int64_t h = 0; h < s.kv_heads; ++h) std::memcpy(dst + h * capacity_ * row, src + h * used * row, used * row);
  }
}

std::vector<Ort::Value> SharedKvCache::release() {
  capacity_ = 0;
  return std::exchange(buffers_, {});
}

void SharedKvCache::take(std::vector<Ort::Value> buffers, size_t capacity) {
  if (buffers.size() != past_names_.size()) throw Error(ErrorKind::Internal, "KV buffers do not match the layout");
  buffers_ = std::move(buffers);
  capacity_ = capacity;
}

void SharedKvCache::bind(Ort::IoBinding& binding) const {
  for (size_t i = 0; i < buffers_.size(); ++i) {
    binding.BindInput(past_names_[i].c_str(), buffers_[i]);
    binding.BindOutput(present_names_[i].c_str(), buffers_[i]);
  }
}

SharedKvCache SharedKvCache::clone(size_t used) const {
  SharedKvCache copy(layout_, shapes_, max_length_);
  if (capacity_) {
    copy.reserve(capacity_, 0);
    for (size_t i = 0; i < buffers_.size(); ++i) {
      const KvShape& s = shapes_[i / 2];
      const size_t row = static_cast<size_t>(s.head_dim) * ort::element_size(layout_.type);
      for (int64_t h = 0; h < s.kv_heads; ++h)
        std::memcpy(static_cast<char*>(copy.buffers_[i].GetTensorMutableRawData()) + h * capacity_ * row,
                    static_cast<const char*>(buffers_[i].GetTensorRawData()) + h * capacity_ * row, used * row);
    }
  }
  return copy;
}

// ---- DecoderSequence ----------------------------------------------------------------------------

DecoderSequence::DecoderSequence(std::shared_ptr<DecoderSpec> spec) : spec_(std::move(spec)) {
  const auto& kv = spec_->io.kv;
  if (kv.layers == 0) return;
  if (spec_->shared_kv && spec_->shared_kv_from == 0)
    shared_ = std::make_unique<SharedKvCache>(kv, spec_->kv_shapes, spec_->max_length);
  else
    kv_ = std::make_unique<KvCache>(kv, spec_->kv_shapes);
}

EncodeStats DecoderSequence::begin(const Prompt& prompt, RunControl&) {
  if (!prompt.media.empty())
    throw Error(ErrorKind::Unsupported, "this model takes text only: image and audio parts are not supported");
  return {};
}

std::span<const float> DecoderSequence::forward(std::span<const TokenId> ids, RunControl& control) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n == 0) throw Error(ErrorKind::Internal, "forward without tokens");
  if (batch_) throw Error(ErrorKind::Internal, "a sequence in a batch advances through its batch");
  const auto& io = spec_->io;
  auto& dec = *spec_->decoder;
  const int64_t total = static_cast<int64_t>(length_) + n;
  std::vector<int64_t> ids64(ids.begin(), ids.end());

  RunInputs in;
  if (io.input_ids) {
    in.add(kInputIds, int64_tensor({1, n}, ids64));
  } else {
    RunInputs embed_in;
    embed_in.add(kInputIds, int64_tensor({1, n}, ids64));
    std::vector<std::string> outs = {kInputsEmbeds};
    if (io.per_layer_inputs) outs.push_back(kPerLayerInputs);
    auto embeds = run_session(*spec_->embed, embed_in, outs, control);
    Ort::Value inputs_embeds = cast_tensor(std::move(embeds[0]), spec_->embeds_type);
    edit_embeds(inputs_embeds, length_, static_cast<size_t>(n));
    in.add(kInputsEmbeds, std::move(inputs_embeds));
    if (io.per_layer_inputs) in.add(kPerLayerInputs, cast_tensor(std::move(embeds[1]), spec_->per_layer_type));
  }
  if (io.position_ids) in.add(kPositionIds, position_ids(static_cast<int64_t>(length_) + spec_->position_offset, n));
  if (io.attention_mask) in.add(kAttentionMask, ones_mask(total));
  if (io.num_logits_to_keep) {
    const std::string name = logits_to_keep_name(dec);
    in.add(name, scalar_like(*dec.input(name), 1));
  }
  if (io.use_cache_branch) in.add(kUseCacheBranch, scalar_like(*dec.input(kUseCacheBranch), length_ > 0 ? 1 : 0));

  if (kv_ && spec_->shared_kv && static_cast<size_t>(total) >= spec_->shared_kv_from) {
    // Long enough: move the cache into the shared buffer once and keep it there.
    shared_ = std::make_unique<SharedKvCache>(spec_->io.kv, spec_->kv_shapes, spec_->max_length);
    shared_->adopt(*kv_, length_, static_cast<size_t>(total));
    kv_.reset();
  }
  if (shared_) {
    shared_->reserve(static_cast<size_t>(total), length_);
    Ort::IoBinding binding(dec.get());
    bind_inputs(binding, in);
    binding.BindOutput(io.logits.c_str(), Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault));
    shared_->bind(binding);
    logits_ = run_binding(dec, binding, control);
  } else {
    std::vector<std::string> out_names = {io.logits};
    if (kv_) {
      kv_->bind_pasts(in);
      kv_->request_presents(out_names);
    }
    auto outs = run_session(dec, in, out_names, control);
    if (kv_) kv_->take_presents(outs, 1);
    logits_ = std::move(outs[0]);
  }
  length_ = static_cast<size_t>(total);
  return last_logits_row(logits_, scratch_);
}

void DecoderSequence::edit_embeds(Ort::Value&, size_t, size_t) {}

void DecoderSequence::copy_state(DecoderSequence& to, size_t n) const {
  if (batch_) throw Error(ErrorKind::Internal, "a sequence in a batch cannot be copied");
  n = std::min(n, length_);
  to.length_ = n;
  to.kv_ = kv_ ? std::make_unique<KvCache>(kv_->clone(n)) : nullptr;
  to.shared_ = shared_ ? std::make_unique<SharedKvCache>(shared_->clone(n)) : nullptr;
}

std::unique_ptr<DecoderSequence> DecoderSequence::blank() const { return std::make_unique<DecoderSequence>(spec_); }

std::unique_ptr<Sequence> DecoderSequence::fork() const {
  auto copy = blank();
  copy_state(*copy);
  return copy;
}

std::unique_ptr<Sequence> DecoderSequence::fork_prefix(size_t n) const {
  auto copy = blank();
  copy_state(*copy, n);
  return copy;
}

}  // namespace oc::models
