#include "ort/runtime.h"

#include <mutex>

#include "common/error.h"
#include "common/strings.h"

namespace oc::ort {

std::string runtime_version() { return OrtGetApiBase()->GetVersionString(); }

std::vector<std::string> available_providers() { return Ort::GetAvailableProviders(); }

Ort::Env& env() {
  static std::once_flag once;
  static Ort::Env* instance = nullptr;
  std::call_once(once, [] { instance = new Ort::Env(ORT_LOGGING_LEVEL_ERROR, "onnx-chat"); });
  return *instance;
}

Ort::SessionOptions make_session_options(const SessionConfig& config) {
  Ort::SessionOptions options;
  if (config.intra_op_threads > 0) options.SetIntraOpNumThreads(config.intra_op_threads);
  if (config.inter_op_threads > 0) options.SetInterOpNumThreads(config.inter_op_threads);
  if (!config.enable_mem_pattern) options.DisableMemPattern();
  options.SetGraphOptimizationLevel(config.graph_optimization_level >= 99 ? ORT_ENABLE_ALL
                                    : config.graph_optimization_level >= 2 ? ORT_ENABLE_EXTENDED
                                    : config.graph_optimization_level >= 1 ? ORT_ENABLE_BASIC
                                                                           : ORT_DISABLE_ALL);
  const std::string provider = to_lower(config.provider);
  if (provider == "cpu" || provider.empty()) return options;
  if (provider == "cuda") {
    OrtCUDAProviderOptionsV2* cuda = nullptr;
    Ort::ThrowOnError(Ort::GetApi().CreateCUDAProviderOptions(&cuda));
    std::unique_ptr<OrtCUDAProviderOptionsV2, void (*)(OrtCUDAProviderOptionsV2*)> guard(
        cuda, Ort::GetApi().ReleaseCUDAProviderOptions);
    std::string device = std::to_string(config.device_id);
    const char* keys[] = {"device_id"};
    const char* values[] = {device.c_str()};
    Ort::ThrowOnError(Ort::GetApi().UpdateCUDAProviderOptions(cuda, keys, values, 1));
    options.AppendExecutionProvider_CUDA_V2(*cuda);
    return options;
  }
  // Any other provider by its ONNX Runtime name (e.g. "XnnpackExecutionProvider" -> "XNNPACK").
  options.AppendExecutionProvider(config.provider, {});
  return options;
}

}  // namespace oc::ort
