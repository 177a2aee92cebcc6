// Continuous batching for the generic decoder: the caches of the member sequences live in batch
// tensors while they decode, one row per sequence, and each step runs the decoder once for all.
//
// Two layouts, chosen by what the graph does with the cache:
//  - slots (GroupQueryAttention with per-row lengths): one preallocated [rows, kv_heads, capacity,
//    head_dim] buffer per past/present pair (of its layer's shape), bound to both; row r holds its tokens at [0, len_r)
//    and the operator writes the next one at len_r, so the rows are independent and nothing moves
//    between steps.
//  - appended (plain attention with explicit position_ids): pasts [rows, kv_heads, width, head_dim]
//    whose presents (width + 1) become the next pasts; every row's new token lands in the same
//    column, shorter rows keep gaps that the attention mask hides, and positions come per row.
//    Joining and leaving compact the rows again.
#include <algorithm>
#include <cstring>
#include <utility>

#include "common/error.h"
#include "models/decoder_sequence.h"

namespace oc::models {

using namespace io_names;

class DecoderBatch : public DecodeBatch {
 public:
  explicit DecoderBatch(std::shared_ptr<DecoderSpec> spec);
  void join(Sequence& seq) override;
  void leave(Sequence& seq, bool keep) override;
  std::vector<std::span<const float>> step(std::span<Sequence* const> members, std::span<const TokenId> tokens,
                                           RunControl& control) override;
  size_t size() const override { return rows_.size(); }

 private:
  // One cache tensor of a sequence outside the batch: head h's positions start at
  // data + h * stride * row_bytes(t).
  struct Source {
    const char* data = nullptr;
    size_t stride = 0;
  };
  std::vector<Source> sources(const DecoderSequence& seq) const;
  DecoderSequence& member(Sequence& seq) const;
  size_t row_of(const DecoderSequence& seq) const;
  // Cache tensor t (key0, value0, key1, ...): its layer's heads, and the bytes of one position of
  // one head.
  int64_t heads(size_t t) const { return shapes_[t / 2].kv_heads; }
  size_t row_bytes(size_t t) const { return static_cast<size_t>(shapes_[t / 2].head_dim) * element_bytes_; }
  Ort::Value zeroed(size_t t, int64_t rows, int64_t positions) const;
  // The row's cached tokens as a [1, kv_heads, len, head_dim] tensor per past input.
  std::vector<Ort::Value> extract(size_t row) const;
  // Slots: room for `rows` rows of `positions` tokens (grows by doubling, keeps what is there).
  void reserve_slots(size_t rows, size_t positions);
  // Appended: rebuilds the pasts from the current rows minus `drop` plus `add`, each row compact.
  void rebuild(const DecoderSequence* drop, const DecoderSequence* add);
  void adopt_cache(DecoderSequence& seq, std::vector<Ort::Value> pasts) const;

  std::shared_ptr<DecoderSpec> spec_;
  bool slots_ = false;
  std::vector<KvShape> shapes_;  // per layer
  size_t element_bytes_ = 0;
  std::vector<std::string> past_names_, present_names_;
  std::vector<DecoderSequence*> rows_;
  // slots
  std::vector<Ort::Value> buffers_;
  size_t row_capacity_ = 0, capacity_ = 0;
  // appended
  std::vector<Ort::Value> pasts_;
  size_t width_ = 0;
  std::vector<std::vector<uint8_t>> valid_;  // per row, per column: a token of that row

  Ort::Value logits_{nullptr};
  std::vector<float> scratch_;
};

std::unique_ptr<DecodeBatch> new_decoder_batch(std::shared_ptr<DecoderSpec> spec) {
  if (!batchable(*spec)) throw Error(ErrorKind::Internal, "this decoder cannot batch sequences of different lengths");
  return std::make_unique<DecoderBatch>(std::move(spec));
}

DecoderBatch::DecoderBatch(std::shared_ptr<DecoderSpec> spec) : spec_(std::move(spec)) {
  const auto& kv = spec_->io.kv;
  slots_ = kv.group_query_attention;
  shapes_ = spec_->kv_shapes;
  element_bytes_ = ort::element_size(kv.type);
  for (int i = 0; i < kv.layers; ++i) {
    past_names_.push_back(kv.past_key(i));
    past_names_.push_back(kv.past_value(i));
    present_names_.push_back(kv.present_key(i));
    present_names_.push_back(kv.present_value(i));
  }
}

DecoderSequence& DecoderBatch::member(Sequence& seq) const {
  auto* d = dynamic_cast<DecoderSequence*>(&seq);
  if (!d || d->spec_ != spec_) throw Error(ErrorKind::Internal, "a sequence of another model cannot join this batch");
  return *d;
}

size_t DecoderBatch::row_of(const DecoderSequence& seq) const {
  auto it = std::find(rows_.begin(), rows_.end(), &seq);
  if (it == rows_.end()) throw Error(ErrorKind::Internal, "the sequence is not in this batch");
  return static_cast<size_t>(it - rows_.begin());
}

std::vector<DecoderBatch::Source> DecoderBatch::sources(const DecoderSequence& seq) const {
  std::vector<Source> out;
  if (seq.kv_) {
    for (const auto& t : seq.kv_->pasts())
      out.push_back({static_cast<const char*>(t.GetTensorRawData()),
                     static_cast<size_t>(t.GetTensorTypeAndShapeInfo().GetShape()[2])});
  } else if (seq.shared_) {
    for (const auto& t : seq.shared_->buffers())
      out.push_back({static_cast<const char*>(t.GetTensorRawData()), seq.shared_->capacity()});
  }
  if (out.size() != past_names_.size() && seq.length_ > 0)
    throw Error(ErrorKind::Internal, "the sequence's cache does not match the batch");
  return out;
}

Ort::Value DecoderBatch::zeroed(size_t t, int64_t rows, int64_t positions) const {
  Ort::Value out = make_tensor(spec_->io.kv.type, {rows, heads(t), positions, shapes_[t / 2].head_dim});
  const size_t bytes = static_cast<size_t>(rows * heads(t) * positions) * row_bytes(t);
  if (bytes) std::memset(out.GetTensorMutableRawData(), 0, bytes);
  return out;
}

void DecoderBatch::adopt_cache(DecoderSequence& seq, std::vector<Ort::Value> pasts) const {
  auto kv = std::make_unique<KvCache>(spec_->io.kv, shapes_);
  kv->assign(std::move(pasts));
  seq.kv_ = std::move(kv);
  seq.shared_.reset();
}

std::vector<Ort::Value> DecoderBatch::extract(size_t row) const {
  const DecoderSequence& seq = *rows_[row];
  const size_t len = seq.length_;
  std::vector<Ort::Value> out;
  for (size_t t = 0; t < past_names_.size(); ++t) {
    const int64_t heads_t = heads(t);
    const size_t rb = row_bytes(t);
    Ort::Value dst = make_tensor(spec_->io.kv.type, {1, heads_t, static_cast<int64_t>(len), shapes_[t / 2].head_dim});
    auto* d = static_cast<char*>(dst.GetTensorMutableRawData());
    if (slots_) {
      const auto* s = static_cast<const char*>(buffers_[t].GetTensorRawData());
      for (int64_t h = 0; h < heads_t; ++h)
        std::memcpy(d + h * len * rb, s + ((row * heads_t + h) * capacity_) * rb, len * rb);
    } else {
      const auto* s = static_cast<const char*>(pasts_[t].GetTensorRawData());
      const auto& valid = valid_[row];
      for (int64_t h = 0; h < heads_t; ++h) {
        const char* src_head = s + ((row * heads_t + h) * width_) * rb;
        char* dst_head = d + h * len * rb;
        size_t k = 0;
        for (size_t c = 0; c < width_; ++c)
          if (valid[c]) std::memcpy(dst_head + (k++) * rb, src_head + c * rb, rb);
      }
    }
    out.push_back(std::move(dst));
  }
  return out;
}

void DecoderBatch::reserve_slots(size_t rows, size_t positions) {
  if (rows <= row_capacity_ && positions <= capacity_) return;
  size_t new_rows = std::max(row_capacity_, std::max<size_t>(rows, 1));
  if (rows > row_capacity_) new_rows = std::max(rows, row_capacity_ * 2);
  // Positions: 256, doubled until they fit (as a sequence's own shared buffer grows), so a row
  // that joins at a length does not regrow the buffers at its next token.
  size_t cap = capacity_;
  if (positions > capacity_) {
    cap = std::max<size_t>(capacity_, 256);
    while (cap < positions) cap *= 2;
    if (spec_->max_length && cap > spec_->max_length) cap = std::max(spec_->max_length, positions);
  }
  std::vector<Ort::Value> next;
  for (size_t t = 0; t < past_names_.size(); ++t) {
    const int64_t heads_t = heads(t);
    const size_t rb = row_bytes(t);
    // Not zeroed: GroupQueryAttention reads only each row's first seqlens_k + 1 positions.
    Ort::Value buf = make_tensor(spec_->io.kv.type, {static_cast<int64_t>(new_rows), heads_t, static_cast<int64_t>(cap),
                                                     shapes_[t / 2].head_dim});
    auto* dst = static_cast<char*>(buf.GetTensorMutableRawData());
    if (!buffers_.empty()) {
      const auto* src = static_cast<const char*>(buffers_[t].GetTensorRawData());
      for (size_t r = 0; r < rows_.size(); ++r)
        for (int64_t h = 0; h < heads_t; ++h)
          std::memcpy(dst + ((r * heads_t + h) * cap) * rb, src + ((r * heads_t + h) * capacity_) * rb,
                      rows_[r]->length_ * rb);
    }
    next.push_back(std::move(buf));
  }
  buffers_ = std::move(next);
  row_capacity_ = new_rows;
  capacity_ = cap;
}

void DecoderBatch::rebuild(const DecoderSequence* drop, const DecoderSequence* add) {
  std::vector<DecoderSequence*> rows;
  size_t width = 0;
  for (auto* r : rows_)
    if (r != drop) {
      rows.push_back(r);
      width = std::max(width, r->length_);
    }
  if (add) width = std::max(width, add->length_);
  const size_t n = rows.size() + (add ? 1 : 0);
  std::vector<Ort::Value> next;
  for (size_t t = 0; t < past_names_.size(); ++t)
    next.push_back(zeroed(t, static_cast<int64_t>(n), static_cast<int64_t>(width)));
  // Existing rows: their valid columns, in order, to the front of the row.
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t old = row_of(*rows[i]);
    const auto& valid = valid_[old];
    for (size_t t = 0; t < past_names_.size(); ++t) {
      const int64_t heads_t = heads(t);
      const size_t rb = row_bytes(t);
      const auto* s = static_cast<const char*>(pasts_[t].GetTensorRawData());
      auto* d = static_cast<char*>(next[t].GetTensorMutableRawData());
      for (int64_t h = 0; h < heads_t; ++h) {
        const char* src_head = s + ((old * heads_t + h) * width_) * rb;
        char* dst_head = d + ((i * heads_t + h) * width) * rb;
        size_t k = 0;
        for (size_t c = 0; c < width_; ++c)
          if (valid[c]) std::memcpy(dst_head + (k++) * rb, src_head + c * rb, rb);
      }
    }
  }
  if (add) {
    const auto src = sources(*add);
    for (size_t t = 0; t < src.size(); ++t) {
      const int64_t heads_t = heads(t);
      const size_t rb = row_bytes(t);
      auto* d = static_cast<char*>(next[t].GetTensorMutableRawData());
      for (int64_t h = 0; h < heads_t; ++h)
        std::memcpy(d + ((rows.size() * heads_t + h) * width) * rb, src[t].data + h * src[t].stride * rb,
                    add->length_ * rb);
    }
    rows.push_back(const_cast<DecoderSequence*>(add));
  }
  pasts_ = std::move(next);
  width_ = width;
  rows_ = std::move(rows);
  valid_.assign(rows_.size(), {});
  for (size_t i = 0; i < rows_.size(); ++i) {
    valid_[i].assign(width_, 0);
    std::fill_n(valid_[i].begin(), rows_[i]->length_, uint8_t{1});
  }
}

void DecoderBatch::join(Sequence& s) {
  DecoderSequence& seq = member(s);
  if (seq.batch_) throw Error(ErrorKind::Internal, "the sequence is already in a batch");
  if (seq.length_ == 0) throw Error(ErrorKind::Internal, "a sequence joins a batch after its prompt");
  if (slots_ && rows_.empty() && seq.shared_ && seq.shared_->capacity() > seq.length_) {
    // The first row takes the sequence's own buffers ([1, kv_heads, capacity, head_dim] is a
    // one-row slot layout): nothing is copied, and one request alone decodes as fast as outside
    // a batch.
    capacity_ = seq.shared_->capacity();
    buffers_ = seq.shared_->release();
    row_capacity_ = 1;
    rows_.push_back(&seq);
  } else if (slots_) {
    reserve_slots(rows_.size() + 1, seq.length_ + 1);
    const auto src = sources(seq);
    const size_t row = rows_.size();
    for (size_t t = 0; t < src.size(); ++t) {
      const int64_t heads_t = heads(t);
      const size_t rb = row_bytes(t);
      auto* d = static_cast<char*>(buffers_[t].GetTensorMutableRawData());
      for (int64_t h = 0; h < heads_t; ++h)
        std::memcpy(d + ((row * heads_t + h) * capacity_) * rb, src[t].data + h * src[t].stride * rb, seq.length_ * rb);
    }
    rows_.push_back(&seq);
  } else {
    rebuild(nullptr, &seq);
  }
  seq.kv_.reset();
  seq.shared_.reset();
  seq.batch_ = this;
}

void DecoderBatch::leave(Sequence& s, bool keep) {
  DecoderSequence& seq = member(s);
  const size_t row = row_of(seq);
  if (keep && slots_ && spec_->shared_kv && rows_.size() == 1 && row_capacity_ == 1 &&
      capacity_ <= seq.length_ + seq.length_ / 8) {
    // The only row of one-row buffers, which are a sequence's own shared-buffer layout, and nearly
    // full: they go back to the sequence as they are. Copying the row out would hold a second
    // cache at once (at 2,000 tokens of Gemma 3 4B, a sixth of the server's memory) when a kept
    // sequence goes to the prefix cache.
    auto shared = std::make_unique<SharedKvCache>(spec_->io.kv, spec_->kv_shapes, spec_->max_length);
    shared->take(std::exchange(buffers_, {}), capacity_);
    seq.kv_.reset();
    seq.shared_ = std::move(shared);
    rows_.clear();
    row_capacity_ = capacity_ = 0;
    seq.batch_ = nullptr;
    return;
  }
  if (keep) adopt_cache(seq, extract(row));
  if (slots_) {
    const size_t last = rows_.size() - 1;
    if (row != last) {
      for (size_t t = 0; t < buffers_.size(); ++t) {
        const int64_t heads_t = heads(t);
        const size_t rb = row_bytes(t);
        auto* d = static_cast<char*>(buffers_[t].GetTensorMutableRawData());
        for (int64_t h = 0; h < heads_t; ++h)
          std::memcpy(d + ((row * heads_t + h) * capacity_) * rb, d + ((last * heads_t + h) * capacity_) * rb,
                      rows_[last]->length_ * rb);
      }
      rows_[row] = rows_[last];
    }
    rows_.pop_back();
    if (rows_.empty()) {
      buffers_.clear();
      row_capacity_ = capacity_ = 0;
    }
  } else {
    rebuild(&seq, nullptr);
  }
  seq.batch_ = nullptr;
}

std::vector<std::span<const float>> DecoderBatch::step(std::span<Sequence* const> members,
                                                       std::span<const TokenId> tokens, RunControl& control) {
  const size_t n = rows_.size();
  if (members.size() != n || tokens.size() != n || n == 0)
    throw Error(ErrorKind::Internal, "a batch step feeds every member one token");
  // The token of each row, in row order.
  std::vector<int64_t> ids(n, 0);
  std::vector<size_t> order(n);  // members[i] -> row
  std::vector<uint8_t> seen(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const size_t row = row_of(member(*members[i]));
    if (seen[row]) throw Error(ErrorKind::Internal, "a batch step feeds a member twice");
    seen[row] = 1;
    order[i] = row;
    ids[row] = tokens[i];
  }
  const auto& io = spec_->io;
  auto& dec = *spec_->decoder;
  const auto rows = static_cast<int64_t>(n);

  RunInputs in;
  if (io.input_ids) {
    in.add(kInputIds, int64_tensor({rows, 1}, ids));
  } else {
    RunInputs embed_in;
    embed_in.add(kInputIds, int64_tensor({rows, 1}, ids));
    std::vector<std::string> outs = {kInputsEmbeds};
    if (io.per_layer_inputs) outs.push_back(kPerLayerInputs);
    auto embeds = run_session(*spec_->embed, embed_in, outs, control);
    in.add(kInputsEmbeds, cast_tensor(std::move(embeds[0]), spec_->embeds_type));
    if (io.per_layer_inputs) in.add(kPerLayerInputs, cast_tensor(std::move(embeds[1]), spec_->per_layer_type));
  }
  size_t longest = 0;
  for (auto* r : rows_) longest = std::max(longest, r->length_);
  if (io.position_ids) {
    std::vector<int64_t> pos(n);
    for (size_t r = 0; r < n; ++r) pos[r] = static_cast<int64_t>(rows_[r]->length_) + spec_->position_offset;
    in.add(kPositionIds, int64_tensor({rows, 1}, pos));
  }
  // Mask: slots are right-padded to the longest row + 1; appended rows are their valid columns + 1.
  const size_t mask_width = slots_ ? longest + 1 : width_ + 1;
  {
    Ort::Value mask = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, {rows, static_cast<int64_t>(mask_width)});
    int64_t* m = mask.GetTensorMutableData<int64_t>();
    for (size_t r = 0; r < n; ++r) {
      int64_t* row = m + r * mask_width;
      if (slots_) {
        for (size_t c = 0; c < mask_width; ++c) row[c] = c <= rows_[r]->length_ ? 1 : 0;
      } else {
        for (size_t c = 0; c < width_; ++c) row[c] = valid_[r][c];
        row[width_] = 1;
      }
    }
    in.add(kAttentionMask, std::move(mask));
  }
  if (io.num_logits_to_keep) {
    const std::string name = logits_to_keep_name(dec);
    in.add(name, scalar_like(*dec.input(name), 1));
  }
  if (io.use_cache_branch) in.add(kUseCacheBranch, scalar_like(*dec.input(kUseCacheBranch), 1));

  if (slots_) {
    reserve_slots(n, longest + 1);
    Ort::IoBinding binding(dec.get());
    bind_inputs(binding, in);
    const auto cpu = Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault);
    binding.BindOutput(io.logits.c_str(), cpu);
    // Views over the first n rows of each buffer, bound as both past and present.
    std::vector<Ort::Value> views;
    for (size_t t = 0; t < buffers_.size(); ++t) {
      const std::vector<int64_t> shape = {rows, heads(t), static_cast<int64_t>(capacity_), shapes_[t / 2].head_dim};
      const size_t bytes = n * static_cast<size_t>(heads(t)) * capacity_ * row_bytes(t);
      views.push_back(Ort::Value::CreateTensor(cpu, buffers_[t].GetTensorMutableRawData(), bytes, shape.data(),
                                               shape.size(), spec_->io.kv.type));
      binding.BindInput(past_names_[t].c_str(), views.back());
      binding.BindOutput(present_names_[t].c_str(), views.back());
    }
    logits_ = run_binding(dec, binding, control);
  } else {
    for (size_t t = 0; t < pasts_.size(); ++t) in.add_ref(past_names_[t], pasts_[t]);
    std::vector<std::string> out_names = {io.logits};
    out_names.insert(out_names.end(), present_names_.begin(), present_names_.end());
    auto outs = run_session(dec, in, out_names, control);
    for (size_t t = 0; t < pasts_.size(); ++t) pasts_[t] = std::move(outs[1 + t]);
    logits_ = std::move(outs[0]);
    width_++;
    for (auto& v : valid_) v.push_back(1);
  }
  for (auto* r : rows_) r->length_++;

  // Logits [rows, kept, vocab]: the last position of each row.
  auto info = logits_.GetTensorTypeAndShapeInfo();
  const auto shape = info.GetShape();
  const size_t vocab = static_cast<size_t>(shape.back());
  const size_t per_row = info.GetElementCount() / n;
  std::vector<std::span<const float>> out(n);
  if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    const float* base = logits_.GetTensorData<float>();
    for (size_t i = 0; i < n; ++i) out[i] = {base + order[i] * per_row + per_row - vocab, vocab};
  } else if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
    scratch_.resize(n * vocab);
    const auto* base = logits_.GetTensorData<Ort::Float16_t>();
    for (size_t r = 0; r < n; ++r)
      for (size_t v = 0; v < vocab; ++v) scratch_[r * vocab + v] = base[r * per_row + per_row - vocab + v].ToFloat();
    for (size_t i = 0; i < n; ++i) out[i] = {scratch_.data() + order[i] * vocab, vocab};
  } else {
    throw Error(ErrorKind::Internal,
                std::string("unsupported logits element type ") + ort::element_type_name(info.GetElementType()));
  }
  return out;
}

}  // namespace oc::models
