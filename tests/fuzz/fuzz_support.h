// Shared by the libFuzzer targets: what a parser may answer to bad input, and what is a bug.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "common/error.h"

namespace oc::fuzz {

// Runs `f`. An oc::Error a client would get as a 4xx (or a model-file error, for the parsers of
// model files) is a correct answer to bad input; any other exception, or an oc::Error that maps to
// a server error, is a bug: abort, so that libFuzzer saves the input.
template <typename F>
void expect_clean_errors(F&& f, bool model_file = false) {
  try {
    f();
  } catch (const Error& e) {
    const bool client = e.kind() != ErrorKind::Internal && e.kind() != ErrorKind::ModelLoad;
    if (client || (model_file && e.kind() == ErrorKind::ModelLoad)) return;
    std::fprintf(stderr, "fuzz: server-side oc::Error for input-driven failure: %s\n", e.what());
    std::abort();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: unexpected exception escaped: %s\n", e.what());
    std::abort();
  }
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Aborts with a message when `ok` is false (an invariant of the parser under test).
inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what);
  std::abort();
}

}  // namespace oc::fuzz
