#include "ort/runtime.h"

#include <onnxruntime_session_options_config_keys.h>
#include <sched.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <utility>

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

int default_intra_op_threads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  // Physical cores among the CPUs this process may use: hyperthread siblings share a core id.
  std::set<std::pair<int, int>> cores;
  int cpus = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    ++cpus;
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    int package = -1, core = -1;
    std::ifstream(base + "physical_package_id") >> package;
    std::ifstream(base + "core_id") >> core;
    cores.insert(core < 0 ? std::pair{-1, cpu} : std::pair{package, core});
  }
  return cores.empty() ? cpus : static_cast<int>(cores.size());
}

int intra_op_threads(const SessionConfig& config) {
  return config.intra_op_threads > 0 ? config.intra_op_threads : default_intra_op_threads();
}

Ort::SessionOptions make_session_options(const SessionConfig& config) {
  env();  // ONNX Runtime logs through the environment's logger while options are set
  Ort::SessionOptions options;
  // ONNX Runtime's own default can be a single thread inside virtual machines: count the cores.
  const int threads = intra_op_threads(config);
  if (threads > 0) options.SetIntraOpNumThreads(threads);
  if (config.inter_op_threads > 0) options.SetInterOpNumThreads(config.inter_op_threads);
  if (!config.enable_mem_pattern) options.DisableMemPattern();
  if (!config.cpu_mem_arena) options.DisableCpuMemArena();
  // Intra-op threads block when they have no work (SessionConfig::spin), and any spinning stops as
  // soon as the last run returns: an idle server uses no CPU.
  std::map<std::string, std::string> entries = {
      {kOrtSessionOptionsConfigAllowIntraOpSpinning, config.spin ? "1" : "0"},
      {kOrtSessionOptionsConfigForceSpinningStop, "1"},
  };
  for (const auto& [key, value] : config.config_entries) entries[key] = value;  // later ones win
  for (const auto& [key, value] : entries) options.AddConfigEntry(key.c_str(), value.c_str());
  options.SetGraphOptimizationLevel(config.graph_optimization_level >= 99  ? ORT_ENABLE_ALL
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
