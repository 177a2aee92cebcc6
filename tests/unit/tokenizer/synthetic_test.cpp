// Parity with the reference on small hand-made tokenizers (tests/golden/tokenizer/synthetic.json,
// written by gen.mjs from synthetic.mjs): one per family of components the npm tokenizers do not
// exercise (WordPiece, Unigram, Metaspace, BPE suffix, Bert*, Split behaviours, CTC, lstrip/rstrip...).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <fstream>

#include "golden_util.h"
#include "tokenizer/tokenizer.h"

namespace oc::tok {
namespace {

using nlohmann::json;

const json& synthetic() {
  static const json s = testing::read_json_file(testing::golden_dir() / "synthetic.json");
  return s;
}

std::unique_ptr<Tokenizer> load(const json& entry) {
  auto dir = std::filesystem::temp_directory_path() /
             ("oc_tok_" + entry["name"].get<std::string>() + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << entry["tokenizer"].dump();
  std::ofstream(dir / "tokenizer_config.json") << entry["config"].dump();
  auto t = Tokenizer::from_dir(dir);
  std::filesystem::remove_all(dir);
  return t;
}

class Synthetic : public ::testing::TestWithParam<size_t> {};

TEST_P(Synthetic, MatchesReference) {
  const json& entry = synthetic()[GetParam()];
  const std::string name = entry["name"];
  auto tok = load(entry);
  for (const auto& c : entry["cases"]) {
    const std::string text = c["text"];
    SCOPED_TRACE(name + " " + json(text).dump());
    if (c.contains("error")) {  // the reference throws: we only must not crash
      (void)tok->encode(text, true);
      continue;
    }
    auto ids = tok->encode(text, true);
    EXPECT_EQ(ids, c["ids"].get<std::vector<TokenId>>());
    EXPECT_EQ(tok->encode(text, false), c["ids_plain"].get<std::vector<TokenId>>());
    EXPECT_EQ(tok->decode(ids, false), c["decoded"].get<std::string>());
    EXPECT_EQ(tok->decode(ids, true), c["decoded_skip"].get<std::string>());
    for (bool skip : {false, true}) {
      StreamDecoder stream(*tok, skip);
      std::string all;
      for (TokenId id : ids) {
        std::string d = stream.push(id);
        EXPECT_TRUE(testing::valid_utf8(d));
        all += d;
      }
      all += stream.flush();
      EXPECT_EQ(all, c[skip ? "decoded_skip" : "decoded"].get<std::string>()) << "stream, skip=" << skip;
    }
  }
}

std::string synthetic_name(const ::testing::TestParamInfo<size_t>& p) {
  std::string n = synthetic()[p.param]["name"];
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Golden, Synthetic, ::testing::Range<size_t>(0, 7), synthetic_name);

TEST(SyntheticFile, HasSevenTokenizers) { EXPECT_EQ(synthetic().size(), 7u); }

}  // namespace
}  // namespace oc::tok
