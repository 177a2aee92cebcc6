// RAII over ONNX Runtime: the process-wide environment, session options, and execution providers.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <string>
#include <utility>
#include <vector>

#include "ort/matmul_precision.h"

namespace oc::ort {

// The ONNX Runtime version the process runs on (from the loaded library, not the headers).
std::string runtime_version();
// Execution providers the loaded library was built with ("CPUExecutionProvider", ...).
std::vector<std::string> available_providers();

// The single Ort::Env of the process, created on first use.
Ort::Env& env();

struct SessionConfig {
  int intra_op_threads = 0;  // 0: one per physical core available to the process
  int inter_op_threads = 1;
  std::string provider = "cpu";  // "cpu", "cuda", ...
  int device_id = 0;
  // ONNX Runtime's memory patterns plan one block per set of input shapes and keep every plan for
  // the life of the session: a decoder sees new shapes at every step (the cache grows by a token,
  // batches change), so the plans pile up (the 12-minute soak's RSS grew 4.5 % with them). Off.
  bool enable_mem_pattern = false;
  // ONNX Runtime's CPU arena keeps every block it ever grew to for the life of the session, so a
  // server's memory only steps up with each new peak of load. Off: intermediate tensors come from
  // the process allocator, which gives them back.
  bool cpu_mem_arena = false;
  // Intra-op threads spin waiting for work inside a run (never after it returned). Off by default:
  // on cores shared with another process, spinning threads take the time the working ones need
  // (the Gemma 3 4B q4 decoder with one core busy elsewhere: 4.9-6.0 tok/s spinning, 7.8-8.8
  // not); on cores of its own the same decoder gains 10-20 % (--spin, README).
  bool spin = false;
  int graph_optimization_level = 99;  // ORT_ENABLE_ALL
  // 4-bit MatMulNBits compute (matmul_precision.h). The library keeps the graph as exported unless
  // asked; the onnx-chat binary defaults to auto (--matmul-precision).
  MatmulPrecision matmul_precision = MatmulPrecision::Exact;
  // More ONNX Runtime session config entries; they replace the defaults above of the same key
  // (benchmarks try settings with them).
  std::vector<std::pair<std::string, std::string>> config_entries;
};

Ort::SessionOptions make_session_options(const SessionConfig& config);
// The intra-op thread count used when SessionConfig::intra_op_threads is 0: the physical cores
// among the CPUs this process may run on.
int default_intra_op_threads();
// The intra-op threads a session made with `config` runs: its count, or the default when 0.
int intra_op_threads(const SessionConfig& config);

}  // namespace oc::ort
