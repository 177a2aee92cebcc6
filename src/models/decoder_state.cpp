#include "models/decoder_state.h"

#include <cstring>

#include "common/error.h"

namespace oc::models {

void RunInputs::add(std::string name, Ort::Value value) {
  names_.push_back(std::move(name));
  owned_.push_back(std::move(value));
  values_.push_back(owned_.back());  // Ort::Value converts to const OrtValue*
}

void RunInputs::add_ref(std::string name, const Ort::Value& value) {
  names_.push_back(std::move(name));
  values_.push_back(value);
}

std::vector<Ort::Value> run_session(ort::Session& session, const RunInputs& inputs,
                                    const std::vector<std::string>& output_names, RunControl& control) {
  if (control.terminated()) throw Error(ErrorKind::Cancelled, "cancelled");
  std::vector<const char*> in_names, out_names;
  for (const auto& n : inputs.names_) in_names.push_back(n.c_str());
  for (const auto& n : output_names) out_names.push_back(n.c_str());
  std::vector<OrtValue*> outs(output_names.size(), nullptr);
  const OrtApi& api = Ort::GetApi();
  OrtStatus* status = api.Run(session.get(), control.options(), in_names.data(), inputs.values_.data(), in_names.size(),
                              out_names.data(), out_names.size(), outs.data());
  std::vector<Ort::Value> result;
  result.reserve(outs.size());
  for (OrtValue* v : outs) result.emplace_back(v);
  if (status) {
    std::string message = api.GetErrorMessage(status);
    api.ReleaseStatus(status);
    if (control.terminated()) throw Error(ErrorKind::Cancelled, "cancelled");
    throw Error(ErrorKind::Internal, session.path().filename().string() + ": " + message);
  }
  return result;
}

void bind_inputs(Ort::IoBinding& binding, const RunInputs& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i)
    Ort::ThrowOnError(Ort::GetApi().BindInput(binding, inputs.names()[i].c_str(), inputs.value(i)));
}

Ort::Value run_binding(ort::Session& session, Ort::IoBinding& binding, RunControl& control) {
  if (control.terminated()) throw Error(ErrorKind::Cancelled, "cancelled");
  try {
    session.get().Run(control.options(), binding);
  } catch (const Ort::Exception& e) {
    if (control.terminated()) throw Error(ErrorKind::Cancelled, "cancelled");
    throw Error(ErrorKind::Internal, session.path().filename().string() + ": " + e.what());
  }
  return std::move(binding.GetOutputValues().front());
}

Ort::Value make_tensor(ONNXTensorElementDataType type, const std::vector<int64_t>& shape) {
  Ort::AllocatorWithDefaultOptions alloc;
  return Ort::Value::CreateTensor(alloc, shape.data(), shape.size(), type);
}

Ort::Value copy_tensor(const Ort::Value& value) {
  auto info = value.GetTensorTypeAndShapeInfo();
  Ort::Value out = make_tensor(info.GetElementType(), info.GetShape());
  const size_t bytes = info.GetElementCount() * ort::element_size(info.GetElementType());
  if (bytes) std::memcpy(out.GetTensorMutableRawData(), value.GetTensorRawData(), bytes);
  return out;
}

Ort::Value cast_tensor(Ort::Value value, ONNXTensorElementDataType to) {
  auto info = value.GetTensorTypeAndShapeInfo();
  const auto from = info.GetElementType();
  if (from == to) return value;
  const size_t n = info.GetElementCount();
  Ort::Value out = make_tensor(to, info.GetShape());
  if (from == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && to == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
    const float* src = value.GetTensorData<float>();
    auto* dst = out.GetTensorMutableData<Ort::Float16_t>();
    for (size_t i = 0; i < n; ++i) dst[i] = Ort::Float16_t(src[i]);
  } else if (from == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 && to == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    const auto* src = value.GetTensorData<Ort::Float16_t>();
    float* dst = out.GetTensorMutableData<float>();
    for (size_t i = 0; i < n; ++i) dst[i] = src[i].ToFloat();
  } else {
    throw Error(ErrorKind::Internal, std::string("cannot convert a tensor from ") + ort::element_type_name(from) +
                                         " to " + ort::element_type_name(to));
  }
  return out;
}

Ort::Value int64_tensor(const std::vector<int64_t>& shape, std::span<const int64_t> data) {
  Ort::Value out = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, shape);
  if (!data.empty()) std::memcpy(out.GetTensorMutableData<int64_t>(), data.data(), data.size_bytes());
  return out;
}

std::string logits_to_keep_name(const ort::Session& s) {
  return s.input("num_logits_to_keep") ? "num_logits_to_keep" : "logits_to_keep";
}

Ort::Value scalar_like(const ort::TensorInfo& info, int64_t value) {
  std::vector<int64_t> shape(info.shape.size(), 1);
  Ort::Value out = make_tensor(info.type, shape);
  switch (info.type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      *out.GetTensorMutableData<int64_t>() = value;
      break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      *out.GetTensorMutableData<int32_t>() = static_cast<int32_t>(value);
      break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      *out.GetTensorMutableData<bool>() = value != 0;
      break;
    default:
      throw Error(ErrorKind::Internal, info.name + ": unsupported element type " + ort::element_type_name(info.type));
  }
  return out;
}

Ort::Value position_ids(int64_t start, int64_t count) {
  Ort::Value out = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, {1, count});
  int64_t* p = out.GetTensorMutableData<int64_t>();
  for (int64_t i = 0; i < count; ++i) p[i] = start + i;
  return out;
}

std::span<const float> last_logits_row(const Ort::Value& logits, std::vector<float>& scratch) {
  auto info = logits.GetTensorTypeAndShapeInfo();
  auto shape = info.GetShape();
  if (shape.empty()) throw Error(ErrorKind::Internal, "logits output is a scalar");
  const size_t vocab = static_cast<size_t>(shape.back());
  const size_t rows = vocab ? info.GetElementCount() / vocab : 0;
  const size_t seq = shape.size() >= 2 ? static_cast<size_t>(shape[shape.size() - 2]) : rows;
  if (rows == 0 || seq == 0) throw Error(ErrorKind::Internal, "logits output is empty");
  const size_t offset = (seq - 1) * vocab;  // batch row 0, last position
  switch (info.GetElementType()) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      return {logits.GetTensorData<float>() + offset, vocab};
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: {
      const auto* src = logits.GetTensorData<Ort::Float16_t>() + offset;
      scratch.resize(vocab);
      for (size_t i = 0; i < vocab; ++i) scratch[i] = src[i].ToFloat();
      return scratch;
    }
    default:
      throw Error(ErrorKind::Internal,
                  std::string("unsupported logits element type ") + ort::element_type_name(info.GetElementType()));
  }
}

KvCache::KvCache(const KvLayout& layout, std::vector<KvShape> shapes) : layout_(layout), shapes_(std::move(shapes)) {
  for (int i = 0; i < layout.layers; ++i) {
    past_names_.push_back(layout.past_key(i));
    past_names_.push_back(layout.past_value(i));
    present_names_.push_back(layout.present_key(i));
    present_names_.push_back(layout.present_value(i));
  }
  for (size_t i = 0; i < past_names_.size(); ++i) {
    const KvShape& s = shapes_[i / 2];
    pasts_.push_back(make_tensor(layout.type, {1, s.kv_heads, 0, s.head_dim}));
  }
}

void KvCache::bind_pasts(RunInputs& inputs) const {
  for (size_t i = 0; i < past_names_.size(); ++i) inputs.add_ref(past_names_[i], pasts_[i]);
}

void KvCache::request_presents(std::vector<std::string>& output_names) {
  output_names.insert(output_names.end(), present_names_.begin(), present_names_.end());
}

void KvCache::take_presents(std::vector<Ort::Value>& outputs, size_t first) {
  for (size_t i = 0; i < pasts_.size(); ++i) pasts_[i] = std::move(outputs[first + i]);
}

KvCache KvCache::clone(size_t n) const {
  KvCache copy(layout_, shapes_);
  for (size_t i = 0; i < pasts_.size(); ++i) {
    const auto shape = pasts_[i].GetTensorTypeAndShapeInfo().GetShape();
    const size_t length = static_cast<size_t>(shape[2]);
    if (n >= length) {
      copy.pasts_[i] = copy_tensor(pasts_[i]);
      continue;
    }
    const KvShape& s = shapes_[i / 2];
    Ort::Value out = make_tensor(layout_.type, {1, s.kv_heads, static_cast<int64_t>(n), s.head_dim});
    const size_t row = static_cast<size_t>(s.head_dim) * ort::element_size(layout_.type);
    const auto* src = static_cast<const char*>(pasts_[i].GetTensorRawData());
    auto* dst = static_cast<char*>(out.GetTensorMutableRawData());
    for (int64_t h = 0; h < s.kv_heads; ++h) std::memcpy(dst + h * n * row, src + h * length * row, n * row);
    copy.pasts_[i] = std::move(out);
  }
  return copy;
}

}  // namespace oc::models
