#include "models/media_encoder.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "common/error.h"
#include "common/log.h"
#include "models/decoder_state.h"

namespace oc::models {
namespace {

bool is_float(ONNXTensorElementDataType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
}

// The tensor named `preferred`, else the only one of a float type.
const ort::TensorInfo* pick(const std::vector<ort::TensorInfo>& list, const char* preferred) {
  const ort::TensorInfo* only = nullptr;
  int floats = 0;
  for (const auto& t : list) {
    if (t.name == preferred) return &t;
    if (is_float(t.type)) {
      only = &t;
      floats++;
    }
  }
  return floats == 1 ? only : nullptr;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

MediaEncoder::MediaEncoder(Modality modality, std::string component, std::optional<Variant> variant,
                           ort::SessionConfig config, EncoderNames names)
    : modality_(modality),
      component_(std::move(component)),
      variant_(std::move(variant)),
      config_(std::move(config)),
      names_(std::move(names)) {
  identity_ = component_ + (variant_ ? ":" + variant_->dtype + ":" + variant_->onnx.filename().string() : "");
}

void MediaEncoder::load() {
  if (loaded_) return;
  std::lock_guard lock(mu_);
  if (loaded_) return;
  if (!variant_)
    throw Error(ErrorKind::Unsupported, std::string(modality_name(modality_)) + " input needs onnx/" + component_ +
                                            "*.onnx, which this model folder lacks (fetch it with --modalities all)");
  const auto t0 = std::chrono::steady_clock::now();
  auto session = std::make_unique<ort::Session>(variant_->onnx, config_);
  const ort::TensorInfo* in = pick(session->inputs(), names_.input.c_str());
  const ort::TensorInfo* out = pick(session->outputs(), names_.output.c_str());
  const std::string where = variant_->onnx.filename().string();
  if (!in || !out)
    throw Error(ErrorKind::ModelLoad, where + ": cannot tell the " + component_ + "'s feature input and output");
  if (!is_float(in->type) || !is_float(out->type))
    throw Error(ErrorKind::ModelLoad, where + ": " + component_ + " input/output must be float32 or float16");
  if (out->shape.size() != 3 && out->shape.size() != 2)
    throw Error(ErrorKind::ModelLoad,
                where + ": " + out->name + " should be [batch, rows, width] or [rows, width], is " + out->shape_str());
  input_ = in->name;
  input_type_ = in->type;
  input_rank_ = in->shape.size();
  output_ = out->name;
  for (const auto& t : session->outputs())
    if (!names_.extra.empty() && t.name == names_.extra) {
      if (!is_float(t.type) || t.shape.empty() || t.shape.size() > 2 || (t.shape.size() == 2 && t.shape[0].value > 1))
        throw Error(ErrorKind::ModelLoad, where + ": " + t.name + " should be one row [width], is " + t.shape_str());
      extra_ = t.name;
    }
  for (const auto& t : session->inputs()) {
    if (t.name == input_) continue;
    if (!names_.mask.empty() && t.name == names_.mask) {
      mask_ = t.name;
      mask_type_ = t.type;
      continue;
    }
    if (!names_.positions.empty() && t.name == names_.positions) {
      if (t.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64)
        throw Error(ErrorKind::ModelLoad, where + ": " + component_ + " input '" + t.name + "' should be int64");
      positions_ = t.name;
      continue;
    }
    throw Error(ErrorKind::ModelLoad, where + ": unexpected " + component_ + " input '" + t.name + "'");
  }
  session_ = std::move(session);
  loaded_ = true;
  log::info("loaded " + component_ + " (" + variant_->dtype + ") in " + std::to_string(static_cast<int>(ms_since(t0))) +
            " ms");
}

MediaEncoder::Output MediaEncoder::run(Ort::Value inputs, const SideInputs& side, ONNXTensorElementDataType to,
                                       RunControl& control) {
  load();
  const auto mask = side.mask;
  const std::vector<int64_t> mask_shape(side.mask_shape.begin(), side.mask_shape.end());
  RunInputs in;
  in.add(input_, cast_tensor(std::move(inputs), input_type_));
  if (!mask_.empty()) {
    size_t n = 1;
    for (int64_t d : mask_shape) n *= static_cast<size_t>(d);
    if (mask.size() != n) throw Error(ErrorKind::Internal, component_ + ": mask size does not match its shape");
    Ort::Value m = make_tensor(mask_type_, mask_shape);
    if (mask_type_ == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL || mask_type_ == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8) {
      std::memcpy(m.GetTensorMutableRawData(), mask.data(), n);
    } else if (mask_type_ == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
      auto* p = m.GetTensorMutableData<int64_t>();
      for (size_t i = 0; i < n; ++i) p[i] = mask[i];
    } else if (mask_type_ == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
      auto* p = m.GetTensorMutableData<int32_t>();
      for (size_t i = 0; i < n; ++i) p[i] = mask[i];
    } else {
      throw Error(ErrorKind::Internal,
                  component_ + ": unsupported mask element type " + ort::element_type_name(mask_type_));
    }
    in.add(mask_, std::move(m));
  }
  if (!positions_.empty()) {
    size_t n = 1;
    for (int64_t d : side.positions_shape) n *= static_cast<size_t>(d);
    if (side.positions.size() != n || n == 0)
      throw Error(ErrorKind::Internal, component_ + ": positions missing or not matching their shape");
    Ort::Value p = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
                               std::vector<int64_t>(side.positions_shape.begin(), side.positions_shape.end()));
    std::copy(side.positions.begin(), side.positions.end(), p.GetTensorMutableData<int64_t>());
    in.add(positions_, std::move(p));
  }
  std::vector<std::string> names{output_};
  if (!extra_.empty()) names.push_back(extra_);
  auto outs = run_session(*session_, in, names, control);
  Output o;
  o.rows = cast_tensor(std::move(outs[0]), to);
  if (!extra_.empty()) {
    Ort::Value extra = cast_tensor(std::move(outs[1]), to);
    const auto* p = static_cast<const uint8_t*>(extra.GetTensorRawData());
    o.extra.assign(p, p + extra.GetTensorTypeAndShapeInfo().GetElementCount() * ort::element_size(to));
  }
  auto dims = o.rows.GetTensorTypeAndShapeInfo().GetShape();
  if (dims.size() == 2) {  // [rows, width]: the rows of every item, one after the other
    dims.insert(dims.begin(), 1);
    o.packed = true;
  }
  if (dims.size() != 3) throw Error(ErrorKind::Internal, component_ + " returned an output of unexpected shape");
  o.batch = dims[0];
  o.rows_per_item = dims[1];
  o.width = dims[2];
  return o;
}

MediaEncoder* MediaShared::encoder(Modality m) const {
  for (const auto& e : encoders)
    if (e->modality() == m) return e.get();
  return nullptr;
}

std::vector<std::shared_ptr<const EncodedMedia>> encode_media(MediaShared& shared,
                                                              std::span<const MediaSegment* const> segments,
                                                              EncodeStats& stats, RunControl& control) {
  std::vector<std::shared_ptr<const EncodedMedia>> result(segments.size());
  // Batches: segments of one modality and one input shape together (audio windows of equal length
  // need no padding, so batching does not change any window's features).
  std::map<std::pair<int, std::vector<int64_t>>, std::vector<size_t>> batches;
  std::map<std::string, size_t> first;             // content key -> first segment encoding it
  std::vector<std::pair<size_t, size_t>> repeats;  // (segment, segment whose rows it reuses)
  for (size_t i = 0; i < segments.size(); ++i) {
    const MediaSegment& seg = *segments[i];
    if (!seg.content_hash.empty() && !seg.encoded) {
      auto [it, fresh] = first.emplace(seg.content_hash, i);
      if (!fresh) {  // the same content twice in one request: encode it once
        repeats.emplace_back(i, it->second);
        continue;
      }
    }
    if (seg.encoded) {
      result[i] = seg.encoded;
      stats.cache_hits++;
      continue;
    }
    if (shared.cache && !seg.content_hash.empty()) {
      if (auto hit = shared.cache->find(seg.content_hash)) {
        result[i] = std::move(hit);
        stats.cache_hits++;
        continue;
      }
    }
    batches[{static_cast<int>(seg.modality), seg.shape}].push_back(i);
  }
  for (const auto& [key, members] : batches) {
    const auto t0 = std::chrono::steady_clock::now();
    const MediaSegment& head = *segments[members.front()];
    MediaEncoder* enc = shared.encoder(head.modality);
    if (!enc) throw Error(ErrorKind::Internal, "no encoder for a media segment");
    enc->load();
    int64_t n = 0;  // batch items: a segment may hold several (the tiles of one image)
    for (size_t idx : members) n += static_cast<int64_t>(segments[idx]->items);
    // [N, ...], or [1, N, ...] when the encoder takes the frames of one item in dimension 1.
    std::vector<int64_t> lead =
        enc->input_rank() == head.shape.size() + 2 ? std::vector<int64_t>{1, n} : std::vector<int64_t>{n};
    std::vector<int64_t> shape = lead;
    shape.insert(shape.end(), head.shape.begin(), head.shape.end());
    std::vector<int64_t> mask_shape = lead;
    if (head.mask_shape.empty())
      mask_shape.push_back(static_cast<int64_t>(head.mask.size() / head.items));
    else
      mask_shape.insert(mask_shape.end(), head.mask_shape.begin(), head.mask_shape.end());
    const size_t item = head.features.size() / head.items;
    const size_t positions_item = head.positions.size() / head.items;
    // The batch tensor is filled straight from the segments (no intermediate buffer).
    Ort::Value inputs = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, shape);
    float* dst = inputs.GetTensorMutableData<float>();
    std::vector<uint8_t> mask;
    std::vector<int64_t> positions;
    for (size_t idx : members) {
      const MediaSegment& s = *segments[idx];
      if (s.features.size() != item * s.items || s.positions.size() != positions_item * s.items)
        throw Error(ErrorKind::Internal, "media segments of one batch differ in size");
      dst = std::copy(s.features.begin(), s.features.end(), dst);
      mask.insert(mask.end(), s.mask.begin(), s.mask.end());
      positions.insert(positions.end(), s.positions.begin(), s.positions.end());
    }
    if (mask.empty()) mask_shape.clear();
    std::vector<int64_t> positions_shape;
    if (!positions.empty()) {
      positions_shape = lead;
      positions_shape.insert(positions_shape.end(), head.positions_shape.begin(), head.positions_shape.end());
    }
    MediaEncoder::Output out =
        enc->run(std::move(inputs), {mask, mask_shape, positions, positions_shape}, shared.text->embeds_type, control);
    // The output rows each segment takes: from a packed output ([rows, width]) its own count, else
    // the same count for every item.
    const int64_t total = out.batch * out.rows_per_item;
    auto segment_rows = [](const MediaSegment& s) {
      return s.gather.empty() ? static_cast<int64_t>(s.length) : s.item_rows * static_cast<int64_t>(s.items);
    };
    int64_t per_item = 0;
    if (out.packed) {
      int64_t want = 0;
      for (size_t idx : members) want += segment_rows(*segments[idx]);
      if (total != want)
        throw Error(ErrorKind::Internal, enc->component() + " returned " + std::to_string(total) + " rows for " +
                                             std::to_string(members.size()) + " segments of " + std::to_string(want) +
                                             " (the processor config disagrees with the model)");
    } else {
      if (total % n != 0)
        throw Error(ErrorKind::Internal, enc->component() + " returned " + std::to_string(out.batch) + " x " +
                                             std::to_string(out.rows_per_item) + " rows for " + std::to_string(n) +
                                             " items");
      per_item = total / n;
    }
    const size_t elt = ort::element_size(shared.text->embeds_type);
    const size_t row_bytes = static_cast<size_t>(out.width) * elt;
    const auto* base = static_cast<const uint8_t*>(out.rows.GetTensorRawData());
    for (size_t idx : members) {
      const MediaSegment& s = *segments[idx];
      const int64_t items = static_cast<int64_t>(s.items);
      if (!out.packed) {
        const int64_t want = s.gather.empty() ? static_cast<int64_t>(s.length) / items : s.item_rows;
        if (per_item != want || (s.gather.empty() && per_item * items != static_cast<int64_t>(s.length)))
          throw Error(ErrorKind::Internal, enc->component() + " returned " + std::to_string(per_item) +
                                               " rows per item where the processor expects " + std::to_string(want) +
                                               " (the processor config disagrees with the model)");
      }
      auto e = std::make_shared<EncodedMedia>();
      e->type = shared.text->embeds_type;
      e->rows = static_cast<int64_t>(s.length);
      e->width = out.width;
      const int64_t rows = out.packed ? segment_rows(s) : per_item * items;
      if (s.gather.empty()) {
        e->data.assign(base, base + static_cast<size_t>(rows) * row_bytes);
      } else {
        if (s.gather.size() != s.length) throw Error(ErrorKind::Internal, "a gather list of the wrong length");
        e->data.resize(s.length * row_bytes);
        uint8_t* to = e->data.data();
        for (int64_t r : s.gather) {
          const uint8_t* from = nullptr;
          if (r == MediaSegment::kExtraRow) {
            if (out.extra.size() != row_bytes)
              throw Error(ErrorKind::Internal, enc->component() + " has no extra output row of the feature width");
            from = out.extra.data();
          } else if (r >= 0 && r < rows) {
            from = base + static_cast<size_t>(r) * row_bytes;
          } else {
            throw Error(ErrorKind::Internal, "a gather index outside the segment's rows");
          }
          to = std::copy(from, from + row_bytes, to);
        }
      }
      base += static_cast<size_t>(rows) * row_bytes;
      if (shared.cache && !s.content_hash.empty()) shared.cache->put(s.content_hash, e);
      result[idx] = std::move(e);
      stats.encoded++;
    }
    (head.modality == Modality::Image ? stats.image_ms : stats.audio_ms) += ms_since(t0);
  }
  for (const auto& [i, from] : repeats) {
    result[i] = result[from];
    stats.cache_hits++;
  }
  return result;
}

}  // namespace oc::models
