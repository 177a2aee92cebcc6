// The gemma3n media encoders: loaded on first use, run in batches, outputs cached by content.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "common/error.h"
#include "common/log.h"
#include "models/decoder_state.h"
#include "models/gemma3n/gemma3n.h"

namespace oc::models::gemma3n {
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

Encoder::Encoder(Modality modality, std::string component, std::optional<Variant> variant, ort::SessionConfig config)
    : modality_(modality), component_(std::move(component)), variant_(std::move(variant)), config_(std::move(config)) {
  identity_ = component_ + (variant_ ? ":" + variant_->dtype + ":" + variant_->onnx.filename().string() : "");
}

void Encoder::load() {
  if (loaded_) return;
  std::lock_guard lock(mu_);
  if (loaded_) return;
  if (!variant_)
    throw Error(ErrorKind::Unsupported, std::string(modality_name(modality_)) + " input needs onnx/" + component_ +
                                            "*.onnx, which this model folder lacks (fetch it with --modalities all)");
  const auto t0 = std::chrono::steady_clock::now();
  auto session = std::make_unique<ort::Session>(variant_->onnx, config_);
  const bool audio = modality_ == Modality::Audio;
  const ort::TensorInfo* in = pick(session->inputs(), audio ? kNames.input_features : kNames.pixel_values);
  const ort::TensorInfo* out = pick(session->outputs(), audio ? kNames.audio_features : kNames.image_features);
  const std::string where = variant_->onnx.filename().string();
  if (!in || !out)
    throw Error(ErrorKind::ModelLoad, where + ": cannot tell the " + component_ + "'s feature input and output");
  if (!is_float(in->type) || !is_float(out->type))
    throw Error(ErrorKind::ModelLoad, where + ": " + component_ + " input/output must be float32 or float16");
  if (out->shape.size() != 3)
    throw Error(ErrorKind::ModelLoad,
                where + ": " + out->name + " should be [batch, rows, width], is " + out->shape_str());
  input_ = in->name;
  input_type_ = in->type;
  output_ = out->name;
  for (const auto& t : session->inputs()) {
    if (t.name == input_) continue;
    if (audio && t.name == kNames.input_features_mask) {
      mask_ = t.name;
      mask_type_ = t.type;
      continue;
    }
    throw Error(ErrorKind::ModelLoad, where + ": unexpected " + component_ + " input '" + t.name + "'");
  }
  session_ = std::move(session);
  loaded_ = true;
  log::info("loaded " + component_ + " (" + variant_->dtype + ") in " + std::to_string(static_cast<int>(ms_since(t0))) +
            " ms");
}

Encoder::Output Encoder::run(Ort::Value inputs, const std::vector<uint8_t>& mask, ONNXTensorElementDataType to,
                             RunControl& control) {
  load();
  const std::vector<int64_t> shape = inputs.GetTensorTypeAndShapeInfo().GetShape();
  RunInputs in;
  in.add(input_, cast_tensor(std::move(inputs), input_type_));
  if (!mask_.empty()) {
    std::vector<int64_t> mshape = {shape[0], shape[1]};
    Ort::Value m = make_tensor(mask_type_, mshape);
    const size_t n = static_cast<size_t>(shape[0] * shape[1]);
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
  auto outs = run_session(*session_, in, {output_}, control);
  Output o;
  o.rows = cast_tensor(std::move(outs[0]), to);
  auto dims = o.rows.GetTensorTypeAndShapeInfo().GetShape();
  if (dims.size() != 3 || dims[0] != shape[0])
    throw Error(ErrorKind::Internal, component_ + " returned an output of unexpected shape");
  o.batch = dims[0];
  o.rows_per_item = dims[1];
  o.width = dims[2];
  return o;
}

std::vector<std::shared_ptr<const EncodedMedia>> encode_media(Shared& shared,
                                                              std::span<const MediaSegment* const> segments,
                                                              EncodeStats& stats, RunControl& control) {
  std::vector<std::shared_ptr<const EncodedMedia>> result(segments.size());
  // Batches: all images together; audio windows grouped by frame count (windows of equal length
  // need no padding, so batching does not change any window's features).
  std::map<std::pair<int, int64_t>, std::vector<size_t>> batches;
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
    const bool audio = seg.modality == Modality::Audio;
    batches[{audio ? 1 : 0, audio ? seg.shape.at(0) : 0}].push_back(i);
  }
  for (const auto& [key, members] : batches) {
    const auto t0 = std::chrono::steady_clock::now();
    const MediaSegment& head = *segments[members.front()];
    Encoder* enc = shared.encoder(head.modality);
    if (!enc) throw Error(ErrorKind::Internal, "no encoder for a media segment");
    std::vector<int64_t> shape = {static_cast<int64_t>(members.size())};
    shape.insert(shape.end(), head.shape.begin(), head.shape.end());
    const size_t item = head.features.size();
    // The batch tensor is filled straight from the segments (no intermediate buffer).
    Ort::Value inputs = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, shape);
    float* dst = inputs.GetTensorMutableData<float>();
    std::vector<uint8_t> mask;
    for (size_t idx : members) {
      const MediaSegment& s = *segments[idx];
      if (s.features.size() != item) throw Error(ErrorKind::Internal, "media segments of one batch differ in size");
      dst = std::copy(s.features.begin(), s.features.end(), dst);
      mask.insert(mask.end(), s.mask.begin(), s.mask.end());
    }
    Encoder::Output out = enc->run(std::move(inputs), mask, shared.text->embeds_type, control);
    const size_t elt = ort::element_size(shared.text->embeds_type);
    const auto* base = static_cast<const uint8_t*>(out.rows.GetTensorRawData());
    for (size_t b = 0; b < members.size(); ++b) {
      const MediaSegment& s = *segments[members[b]];
      if (static_cast<size_t>(out.rows_per_item) != s.length)
        throw Error(ErrorKind::Internal, enc->component() + " returned " + std::to_string(out.rows_per_item) +
                                             " rows per item where the prompt holds " + std::to_string(s.length) +
                                             " placeholder tokens (processor_config.json disagrees with the model)");
      auto e = std::make_shared<EncodedMedia>();
      e->type = shared.text->embeds_type;
      e->rows = out.rows_per_item;
      e->width = out.width;
      const size_t bytes = static_cast<size_t>(out.rows_per_item * out.width) * elt;
      e->data.assign(base + b * bytes, base + (b + 1) * bytes);
      if (shared.cache && !s.content_hash.empty()) shared.cache->put(s.content_hash, e);
      result[members[b]] = std::move(e);
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

}  // namespace oc::models::gemma3n
