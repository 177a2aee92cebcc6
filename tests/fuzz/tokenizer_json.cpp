// tokenizer.json loading (a model file): malformed or hostile files fail with oc::Error(ModelLoad)
// naming the problem, never a crash; a file that loads also encodes and decodes.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

using namespace oc;

namespace {
std::filesystem::path g_path;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_path = std::filesystem::temp_directory_path() / ("oc-fuzz-tokenizer-" + std::to_string(::getpid()) + ".json");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(g_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  fuzz::expect_clean_errors(
      [&] {
        auto t = tok::Tokenizer::from_files(g_path);
        const std::vector<tok::TokenId> ids = t->encode("Hello world! \xC3\xA9t\xC3\xA9 123 <s>", true);
        for (tok::TokenId id : ids)
          fuzz::check(id >= 0 && static_cast<size_t>(id) < t->vocab_size(), "id out of range");
        t->decode(ids, false);
        const std::vector<tok::TokenId> all = {0, 1, 2, 3, static_cast<tok::TokenId>(t->vocab_size()) - 1};
        t->decode(all, true);
      },
      /*model_file=*/true);
  return 0;
}
