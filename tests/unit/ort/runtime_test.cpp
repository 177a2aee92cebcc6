#include "ort/runtime.h"

#include <gtest/gtest.h>
#include <onnxruntime_session_options_config_keys.h>

#include <thread>

TEST(Runtime, DefaultThreadsCountAvailableCores) {
  int n = oc::ort::default_intra_op_threads();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, static_cast<int>(std::thread::hardware_concurrency()));
}

TEST(Runtime, SpinningIsOptInAndStopsAfterEachRun) {
  oc::ort::SessionConfig config;
  Ort::SessionOptions off = oc::ort::make_session_options(config);
  EXPECT_EQ(off.GetConfigEntry(kOrtSessionOptionsConfigAllowIntraOpSpinning), "0");
  config.spin = true;
  Ort::SessionOptions on = oc::ort::make_session_options(config);
  EXPECT_EQ(on.GetConfigEntry(kOrtSessionOptionsConfigAllowIntraOpSpinning), "1");
  EXPECT_EQ(on.GetConfigEntry(kOrtSessionOptionsConfigForceSpinningStop), "1");
}

TEST(Runtime, ReportsVersionAndCpuProvider) {
  EXPECT_EQ(oc::ort::runtime_version().rfind("1.", 0), 0u);
  auto providers = oc::ort::available_providers();
  EXPECT_NE(std::find(providers.begin(), providers.end(), "CPUExecutionProvider"), providers.end());
}
