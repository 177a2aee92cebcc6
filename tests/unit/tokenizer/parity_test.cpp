// Parity with the reference (transformers.js) on the corpus of tests/golden/tokenizer: encode ids
// (with and without special tokens), decode, decode skipping special tokens, and the streaming
// decoder (every delta valid UTF-8, deltas + flush == decode). Tokenizers come from the npm
// packages under tests/node_modules; the test is skipped when they are not installed.
#include <gtest/gtest.h>

#include <chrono>

#include "golden_util.h"
#include "tokenizer/tokenizer.h"

namespace oc::tok {
namespace {

using nlohmann::json;
using testing::golden_dir;
using testing::npm_tokenizer_dir;
using testing::read_json_file;
using testing::valid_utf8;

const json& corpus() {
  static const json c = read_json_file(golden_dir() / "corpus.json");
  return c;
}

std::string show(const std::vector<TokenId>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < 40; ++i) {
    if (i) s += ' ';
    s += std::to_string(ids[i]);
  }
  if (ids.size() > 40) s += " ...";
  return s;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, MatchesReference) {
  const std::string name = GetParam();
  auto dir = npm_tokenizer_dir(name);
  if (!std::filesystem::exists(dir / "tokenizer.json")) GTEST_SKIP() << "npm tokenizer not installed: " << dir;
  auto t0 = std::chrono::steady_clock::now();
  auto tok = Tokenizer::from_dir(dir);
  auto t1 = std::chrono::steady_clock::now();
  std::cout << name << ": loaded in " << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms\n";
  json golden = read_json_file(golden_dir() / "golden" / (name + ".json.gz"));
  const json& texts = corpus();
  ASSERT_EQ(golden["ids"].size(), texts.size());
  int failures = 0;
  auto fail = [&](size_t i, const std::string& what) {
    if (++failures <= 15)
      ADD_FAILURE() << name << " #" << i << " [" << texts[i]["category"].get<std::string>() << "] "
                    << json(texts[i]["text"]).dump() << ": " << what;
  };
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i]["text"];
    auto expected = golden["ids"][i].get<std::vector<TokenId>>();
    auto ids = tok->encode(text, true);
    if (ids != expected) {
      fail(i, "encode\n  got      " + show(ids) + "\n  expected " + show(expected));
      continue;
    }
    const json& plain = golden["ids_plain"][i];
    std::vector<TokenId> expected_plain =
        plain.is_number() ? std::vector<TokenId>(expected.begin() + plain.get<long>(), expected.end())
                          : plain.get<std::vector<TokenId>>();
    auto got_plain = tok->encode(text, false);
    if (got_plain != expected_plain)
      fail(i, "encode without special tokens\n  got      " + show(got_plain) + "\n  expected " + show(expected_plain));
    const json& dec = golden["decoded"][i];
    std::string expected_text = dec.is_string() ? dec.get<std::string>() + text : dec["text"].get<std::string>();
    std::string decoded = tok->decode(ids, false);
    if (decoded != expected_text)
      fail(i, "decode: got " + json(decoded).dump() + " expected " + json(expected_text).dump());
    const json& skip = golden["decoded_skip"][i];
    std::string expected_skip = skip.is_null() ? expected_text : skip.get<std::string>();
    std::string decoded_skip = tok->decode(ids, true);
    if (decoded_skip != expected_skip)
      fail(i,
           "decode(skip_special_tokens): got " + json(decoded_skip).dump() + " expected " + json(expected_skip).dump());
    for (bool skip_special : {false, true}) {
      StreamDecoder stream(*tok, skip_special);
      std::string all;
      bool valid = true;
      for (TokenId id : ids) {
        std::string delta = stream.push(id);
        valid = valid && valid_utf8(delta);
        all += delta;
      }
      std::string last = stream.flush();
      valid = valid && valid_utf8(last);
      all += last;
      if (!valid) fail(i, "stream: a delta is not valid UTF-8");
      std::string want = skip_special ? expected_skip : expected_text;
      if (all != want) fail(i, "stream: got " + json(all).dump() + " expected " + json(want).dump());
    }
  }
  std::cout << name << ": " << texts.size() << " strings, " << failures << " failures, "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() << " s\n";
}

std::string param_name(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

INSTANTIATE_TEST_SUITE_P(Npm, Parity, ::testing::Values("gemma3", "llama3", "qwen3", "gpt4o", "deepseek_v3", "llama2"),
                         param_name);

}  // namespace
}  // namespace oc::tok
