#include "ort/session.h"

#include <onnxruntime_session_options_config_keys.h>

#include "common/error.h"
#include "common/log.h"
#include "ort/onnx_file.h"
#include "ort/q4_matmul.h"
#include "ort/q4_matmul_op.h"

namespace oc::ort {

std::string Dim::str() const {
  if (fixed()) return std::to_string(value);
  return symbol.empty() ? "?" : symbol;
}

std::string TensorInfo::shape_str() const {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += shape[i].str();
  }
  return out + "]";
}

const char* element_type_name(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      return "bfloat16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
      return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
      return "int16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
      return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
      return "uint16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
      return "uint32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
      return "uint64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      return "bool";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING:
      return "string";
    default:
      return "unknown";
  }
}

size_t element_size(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
      return 8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
      return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
      return 2;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      return 1;
    default:
      return 0;
  }
}

namespace {

TensorInfo read_info(const std::string& name, const Ort::TypeInfo& type_info) {
  TensorInfo info;
  info.name = name;
  if (type_info.GetONNXType() != ONNX_TYPE_TENSOR) {
    info.is_tensor = false;
    return info;
  }
  auto tensor = type_info.GetTensorTypeAndShapeInfo();
  info.type = tensor.GetElementType();
  auto dims = tensor.GetShape();
  std::vector<const char*> symbols(dims.size(), nullptr);
  if (!dims.empty()) tensor.GetSymbolicDimensions(symbols.data(), symbols.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    Dim d;
    d.value = dims[i];
    if (d.value < 0 && symbols[i] && *symbols[i]) d.symbol = symbols[i];
    info.shape.push_back(std::move(d));
  }
  return info;
}

}  // namespace

SessionIo read_session_io(Ort::Session& session) {
  SessionIo io;
  Ort::AllocatorWithDefaultOptions alloc;
  for (size_t i = 0; i < session.GetInputCount(); ++i) {
    auto name = session.GetInputNameAllocated(i, alloc);
    io.inputs.push_back(read_info(name.get(), session.GetInputTypeInfo(i)));
  }
  for (size_t i = 0; i < session.GetOutputCount(); ++i) {
    auto name = session.GetOutputNameAllocated(i, alloc);
    io.outputs.push_back(read_info(name.get(), session.GetOutputTypeInfo(i)));
  }
  return io;
}

Session::Session(const std::filesystem::path& path, const SessionConfig& config, const GraphRewrite& rewrite)
    : path_(path), session_(nullptr) {
  try {
    auto options = make_session_options(config);
    // The graph file is small (weights live in external files): read it to see what the precision
    // and the caller's rewrite change, and hand ONNX Runtime rewritten bytes only when one does.
    MappedFile file(path);
    matmul_plan_ =
        plan_matmul_precision(read_onnx_bytes(file.bytes(), path.string()), config.matmul_precision, config.provider);
    std::optional<std::string> edited;
    if (matmul_plan_.changed > 0) edited = set_matmul_accuracy_level(file.bytes(), *matmul_plan_.level);
    if (matmul_plan_.packed_kernel) {
      if (auto more = pack_q4_matmuls(edited ? std::string_view(*edited) : file.bytes(), path.parent_path(), packed_))
        edited = std::move(more);
      if (packed_.nodes > 0) {
        add_q4_matmul_domain(options);
        size_t bytes = 0;
        for (const auto& w : packed_.weights) bytes += w->bytes();
        log::debug(path.filename().string() + ": " + std::to_string(packed_.nodes) + " of " +
                   std::to_string(matmul_plan_.nodes) + " 4-bit matmuls on onnx-chat's AVX-512 VNNI kernel, as " +
                   std::to_string(packed_.matrices()) + " matrices (" + std::to_string(bytes >> 20) + " MiB packed)");
      }
    }
    if (rewrite)
      if (auto more = rewrite(edited ? std::string_view(*edited) : file.bytes())) edited = std::move(more);
    if (edited) {
      // External weight files are found beside the graph, as when loading from the path.
      options.AddConfigEntry(kOrtSessionOptionsModelExternalInitializersFileFolderPath, path.parent_path().c_str());
      session_ = Ort::Session(env(), edited->data(), edited->size(), options);
    } else {
      session_ = Ort::Session(env(), path.c_str(), options);
    }
  } catch (const Ort::Exception& e) {
    throw Error(ErrorKind::ModelLoad, "cannot load " + path.string() + ": " + e.what());
  } catch (const Error&) {
    throw;
  } catch (const std::runtime_error& e) {  // malformed protobuf met by the rewrite
    throw Error(ErrorKind::ModelLoad, "cannot load " + path.string() + ": " + e.what());
  }
  auto io = read_session_io(session_);
  inputs_ = std::move(io.inputs);
  outputs_ = std::move(io.outputs);
}

const TensorInfo* Session::input(std::string_view name) const {
  for (const auto& t : inputs_)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo* Session::output(std::string_view name) const {
  for (const auto& t : outputs_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace oc::ort
