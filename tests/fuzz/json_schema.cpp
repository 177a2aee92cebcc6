// Client JSON Schemas (response_format, tool parameters) -> grammar -> matcher. A schema is either
// compiled or refused with a client error; a compiled grammar, walked token by token through its
// masks within a budget, ends complete on JSON text that parses.
#include "grammar/json_schema.h"

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.h"
#include "grammar/matcher.h"
#include "support/byte_tokenizer.h"

using namespace oc;

namespace {

constexpr size_t kFuzzMaxStates = 1024;

const test::ByteTokenizer& vocabulary() {
  static const test::ByteTokenizer v({"{\"", "\":", "\",\"", "true", "false", "null", "\"}", "12", "-0.5e+3"});
  return v;
}

// Walks the grammar: at each step an allowed token picked by `seed`, until the end token or the
// end of the budget (max_tokens: the output must be complete by then, whether or not the end token
// fits).
void walk(const grammar::Constraint& c, uint64_t seed) {
  constexpr int64_t kSlack = 8;
  const int64_t min_length = c.min_length();
  if (min_length > 128) return;  // long minimum outputs: compiled is enough here
  const auto& v = vocabulary();
  auto m = c.new_matcher();
  std::string out;
  std::vector<uint32_t> words;
  for (int remaining = static_cast<int>(min_length + kSlack); remaining > 0; --remaining) {
    fuzz::check(m->mask(remaining, v.vocab_size(), words), "no token allowed before the output was complete");
    // The set bits word by word: a test per id here was a third of the target's time (the
    // coverage instrumentation traces every comparison).
    std::vector<tok::TokenId> allowed;
    for (size_t w = 0; w < words.size(); ++w)
      for (uint32_t bits = words[w]; bits; bits &= bits - 1) {
        const size_t id = w * 32 + static_cast<size_t>(__builtin_ctz(bits));
        fuzz::check(id < v.vocab_size(), "a mask bit past the vocabulary");
        allowed.push_back(static_cast<tok::TokenId>(id));
      }
    fuzz::check(!allowed.empty(), "an empty mask");
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const tok::TokenId id = allowed[(seed >> 33) % allowed.size()];
    fuzz::check(m->allows(id, remaining), "a token of the mask is not allowed");
    if (id == v.eos()) break;
    m->accept(id);
    out += v.id_to_token(id);
  }
  fuzz::check(m->complete(), "the output is not complete at the end token or the end of its budget");
  if (!nlohmann::json::accept(out)) std::fprintf(stderr, "fuzz: output: %s\n", out.c_str());
  fuzz::check(nlohmann::json::accept(out), "a grammar output is not JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // requests bound their size; keeps each run short
  const std::string_view schema = fuzz::as_text(data, size);
  uint64_t seed = 1469598103934665603ULL;
  for (size_t i = 0; i < size; ++i) seed = (seed ^ data[i]) * 1099511628211ULL;
  fuzz::expect_clean_errors([&] {
    grammar::GrammarBuilder b;
    const int32_t root = b.rule_of({{grammar::add_json_schema(b, schema)}});
    auto g = std::make_shared<const grammar::Grammar>(b.finish(root));
    // A lower state bound than the server's: the server's walks a worst-case pattern in about 15 s
    // under ASan, which would keep the fuzzer near 10 executions/s. Past the bound is the same
    // Unsupported error path.
    const grammar::Constraint c(g, grammar::TokenTable::of(vocabulary()), {vocabulary().eos()}, kFuzzMaxStates);
    walk(c, seed);
  });
  return 0;
}
