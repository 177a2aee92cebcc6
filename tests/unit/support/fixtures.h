// The fixture models for unit tests: $ONNX_CHAT_FIXTURES/<name> (written by `make fixtures`).
// Tests that need one skip when it is absent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace oc::test {

// The fixture's folder, or an empty path when $ONNX_CHAT_FIXTURES is unset or lacks it.
inline std::filesystem::path fixture_dir(const char* name) {
  const char* root = std::getenv("ONNX_CHAT_FIXTURES");
  if (!root) return {};
  std::filesystem::path dir = std::filesystem::path(root) / name;
  return std::filesystem::exists(dir / "config.json") ? dir : std::filesystem::path();
}

}  // namespace oc::test

// Declares `var` as the fixture's folder, or skips the test.
#define REQUIRE_FIXTURE(var, name)                               \
  const std::filesystem::path var = oc::test::fixture_dir(name); \
  if (var.empty()) GTEST_SKIP() << "set ONNX_CHAT_FIXTURES (" name " missing)"
