// Unit tests of the tokenizer's pieces: UTF-8 helpers, regex translation, BPE merge order, load
// errors naming the unsupported component, streaming decode of byte-fallback sequences, threads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/utf8.h"
#include "golden_util.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace oc::tok {
namespace {

using nlohmann::json;

// ---- helpers ----
std::filesystem::path write_tokenizer(const json& tj, const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() / ("oc_tok_unit_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tj.dump();
  return dir;
}

json byte_fallback_tokenizer() {
  json vocab = json::object();
  int id = 0;
  vocab["<unk>"] = id++;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = id++;
  }
  for (const char* s : {"\xE2\x96\x81", "a", "b", "c", "ab", "bc"}) vocab[s] = id++;
  return json{
      {"model",
       {{"type", "BPE"},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true},
        {"vocab", vocab},
        {"merges", json::array({json::array({"a", "b"}), json::array({"b", "c"})})}}},
      {"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}}})},
      {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}},
      {"pre_tokenizer", nullptr},
      {"post_processor", nullptr},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                                  {{"type", "ByteFallback"}},
                                  {{"type", "Fuse"}}})}}}};
}

std::unique_ptr<Tokenizer> load(const json& tj, const std::string& tag) {
  auto dir = write_tokenizer(tj, tag);
  auto t = Tokenizer::from_dir(dir);
  std::filesystem::remove_all(dir);
  return t;
}

std::string load_error(const json& tj, const std::string& tag) {
  auto dir = write_tokenizer(tj, tag);
  std::string message;
  try {
    Tokenizer::from_dir(dir);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
    message = e.what();
  }
  std::filesystem::remove_all(dir);
  return message;
}

// ---- UTF-8 ----
TEST(Unicode, DecodeLossyFollowsWhatwg) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(oc::utf8::decode_lossy("abc"), "abc");
  EXPECT_EQ(oc::utf8::decode_lossy("\xF0\x9F\x98"), r);          // truncated sequence: one replacement
  EXPECT_EQ(oc::utf8::decode_lossy("\xE0\x80\x80"), r + r + r);  // overlong: every byte
  EXPECT_EQ(oc::utf8::decode_lossy("\xED\xA0\x80"), r + r + r);  // surrogate
  EXPECT_EQ(oc::utf8::decode_lossy("\xC3"
                                   "a"),
            r + "a");                                             // bad continuation is reprocessed
  EXPECT_EQ(oc::utf8::decode_lossy("\xEF\xBB\xBFx", true), "x");  // BOM stripped on request
  EXPECT_EQ(oc::utf8::decode_lossy("\xEF\xBB\xBFx", false), "\xEF\xBB\xBFx");
  EXPECT_TRUE(oc::utf8::is_valid("h\xC3\xA9llo"));
  EXPECT_FALSE(oc::utf8::is_valid("\xC3"));
}

TEST(Unicode, JavaScriptStringOperations) {
  EXPECT_EQ(uni::js_lower("HELLO \xCE\xA3\xCE\x9F\xCE\xA6\xCE\x9F\xCE\xA3"),
            "hello \xCF\x83\xCE\xBF\xCF\x86\xCE\xBF\xCF\x82");
  EXPECT_EQ(uni::js_lower("\xC4\xB0"), "i\xCC\x87");
  EXPECT_EQ(uni::js_trim("\xE2\x80\x83 x\t\xEF\xBB\xBF"), "x");
  EXPECT_EQ(uni::normalize("e\xCC\x81", "NFC"), "\xC3\xA9");
  EXPECT_EQ(uni::normalize("\xEF\xAC\x81", "NFKC"), "fi");
}

// ---- regex translation ----
TEST(RegexTranslation, CaseInsensitiveGroupsFoldOnlyAscii) {
  Regex re(onig_to_pcre("(?i:'s|'t)"), "test");
  EXPECT_EQ(re.find_all("'S 's 'T").size(), 3u);
  EXPECT_EQ(re.find_all("'\xC5\xBF").size(), 0u);  // long s does not fold to s
}

TEST(RegexTranslation, IntervalFollowedByPlusRepeatsTheInterval) {
  Regex re(onig_to_pcre("\\p{N}{1,3}+"), "test");
  auto m = re.find_all("12345x");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].end - m[0].start, 5u);
}

TEST(RegexTranslation, WhitespaceIsUnicodeWhiteSpace) {
  Regex re(onig_to_pcre("\\s+"), "test");
  EXPECT_EQ(re.find_all("a\xC2\x85"
                        "b")
                .size(),
            1u);  // U+0085 is White_Space
  EXPECT_EQ(re.find_all("a\xEF\xBB\xBF"
                        "b")
                .size(),
            0u);  // U+FEFF is not
}

TEST(RegexTranslation, EmptyMatchesAdvanceOneCodePoint) {
  Regex re("x*", "test");
  EXPECT_EQ(re.find_all("\xC3\xA9x").size(), 3u);  // "", "x", "" at the end
}

TEST(RegexTranslation, UnsupportedSyntaxIsAnError) {
  EXPECT_THROW(onig_to_pcre("[[:bogus:]]"), Error);
  EXPECT_THROW(onig_to_pcre("[abc"), Error);
}

// ---- BPE ----
TEST(Bpe, MergesLowestRankFirstLeftmostOnTies) {
  auto t = load(byte_fallback_tokenizer(), "bpe");
  auto id = [&](const char* s) { return *t->token_to_id(s); };
  EXPECT_EQ(t->encode("abc", false), (std::vector<TokenId>{id("ab"), id("c")}));  // "a b" ranks before "b c"
  EXPECT_EQ(t->encode("bcab", false), (std::vector<TokenId>{id("bc"), id("ab")}));
  // characters outside the vocabulary fall back to their UTF-8 bytes
  EXPECT_EQ(t->encode("\xC3\xA9", false), (std::vector<TokenId>{id("<0xC3>"), id("<0xA9>")}));
  EXPECT_EQ(t->decode(t->encode("a \xF0\x9F\x98\x80 b\xC3\xA9", false), false), "a \xF0\x9F\x98\x80 b\xC3\xA9");
}

TEST(StreamDecoder, ByteFallbackDeltasAreWholeCharacters) {
  auto t = load(byte_fallback_tokenizer(), "stream");
  const std::string text = "a\xF0\x9F\x98\x80\xE4\xBD\xA0 b";
  auto ids = t->encode(text, false);
  StreamDecoder s(*t, false);
  std::vector<std::string> deltas;
  for (TokenId id : ids) deltas.push_back(s.push(id));
  deltas.push_back(s.flush());
  std::string all;
  for (const auto& d : deltas) {
    EXPECT_TRUE(testing::valid_utf8(d)) << d;
    all += d;
  }
  EXPECT_EQ(all, t->decode(ids, false));
  EXPECT_EQ(all, text);
  // the emoji arrives in one delta, not split over its four byte tokens
  EXPECT_NE(std::find(deltas.begin(), deltas.end(), "\xF0\x9F\x98\x80"), deltas.end());
}

TEST(StreamDecoder, CleanUpThatTheNextTokenUndoesIsHeldBack) {
  // Clean-up turns "W ' " into "W'", and "W ' ," into "W ',": the quote waits for the next token.
  auto t = load(byte_fallback_tokenizer(), "cleanup");
  for (const std::string text : {"W ' ,", "W ' x", "a ' b ' ,", "it ' s ok"}) {
    const auto ids = t->encode(text, false);
    StreamDecoder s(*t, false);
    std::string all;
    for (TokenId id : ids) all += s.push(id);
    all += s.flush();
    EXPECT_EQ(all, t->decode(ids, false)) << text;
  }
}

TEST(StreamDecoder, UnknownIdsAndEmptyStreams) {
  auto t = load(byte_fallback_tokenizer(), "stream2");
  StreamDecoder empty(*t, true);
  EXPECT_EQ(empty.flush(), "");
  StreamDecoder s(*t, false);
  std::string all = s.push(999999) + s.push(-5) + s.flush();
  EXPECT_EQ(all, t->decode(std::vector<TokenId>{999999, -5}, false));
}

TEST(Tokenizer, ConcurrentEncodesAgree) {
  auto t = load(byte_fallback_tokenizer(), "threads");
  const std::string text = "abc bca cab \xC3\xA9\xC3\xA9 abcabc";
  // The ids each input gets alone, then the same inputs from four threads at once: the same ids.
  std::vector<std::vector<TokenId>> expected;
  for (int i = 0; i < 7; ++i) expected.push_back(t->encode(text + std::to_string(i), true));
  ASSERT_NE(expected[0], expected[1]);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (t->encode(text + std::to_string(i % 7), true) != expected[i % 7]) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(Tokenizer, InvalidUtf8InputIsReplacedNotFatal) {
  auto t = load(byte_fallback_tokenizer(), "invalid");
  auto ids = t->encode(
      "a\xFF"
      "b",
      false);
  EXPECT_EQ(t->decode(ids, false),
            "a\xEF\xBF\xBD"
            "b");
}

// ---- load errors ----
TEST(LoadErrors, UnsupportedComponentsAreNamed) {
  json tj = byte_fallback_tokenizer();
  tj["normalizer"] = {{"type", "Frobnicate"}};
  EXPECT_NE(load_error(tj, "e1").find("normalizer type Frobnicate"), std::string::npos);
  tj = byte_fallback_tokenizer();
  tj["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
  EXPECT_NE(load_error(tj, "e2").find("pre_tokenizer type UnicodeScripts"), std::string::npos);
  tj = byte_fallback_tokenizer();
  tj["decoder"] = {{"type", "Mystery"}};
  EXPECT_NE(load_error(tj, "e3").find("decoder type Mystery"), std::string::npos);
  tj = byte_fallback_tokenizer();
  tj["post_processor"] = {{"type", "Nope"}};
  EXPECT_NE(load_error(tj, "e4").find("post_processor type Nope"), std::string::npos);
  tj = byte_fallback_tokenizer();
  tj["model"]["type"] = "WordLevel";
  EXPECT_NE(load_error(tj, "e5").find("model type WordLevel"), std::string::npos);
  tj = byte_fallback_tokenizer();
  tj["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "[[:bogus:]]"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(load_error(tj, "e6").find("regex"), std::string::npos);
  // A Unigram unk_id outside its vocab (found by the tokenizer_json fuzzer: encode() gave it out).
  tj = {{"model",
         {{"type", "Unigram"},
          {"unk_id", 2},
          {"vocab", json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0})})}}}};
  EXPECT_NE(load_error(tj, "e7").find("unk_id 2 outside its vocab of 2"), std::string::npos);
  tj["model"]["unk_id"] = -1;
  EXPECT_NE(load_error(tj, "e8").find("unk_id -1"), std::string::npos);
  tj["model"]["unk_id"] = 0;
  EXPECT_EQ(load(tj, "e9")->encode("ab", false), (std::vector<TokenId>{1, 0}));
  // A vocab or added-token id past any real vocabulary (found by the tokenizer_json fuzzer: an id
  // of 2^28 resized the id table to 8 GB).
  tj = byte_fallback_tokenizer();
  tj["model"]["vocab"]["zz"] = 268435456;
  EXPECT_NE(load_error(tj, "e10").find("vocab id 268435456 (ids above 4194303 are not supported)"), std::string::npos);
  tj = byte_fallback_tokenizer();
  tj["added_tokens"] = json::array({{{"id", 4194304}, {"content", "<big>"}, {"special", true}}});
  EXPECT_NE(load_error(tj, "e11").find("added token id 4194304"), std::string::npos);
  tj["added_tokens"][0]["id"] = 4194303;
  EXPECT_EQ(load(tj, "e12")->encode("<big>", false), (std::vector<TokenId>{4194303}));
}

TEST(LoadErrors, MissingAndMalformedFiles) {
  EXPECT_THROW(Tokenizer::from_dir("/nonexistent/onnx-chat-tokenizer"), Error);
  auto dir = std::filesystem::temp_directory_path() / ("oc_tok_bad_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << "{\"model\": {";
  try {
    Tokenizer::from_dir(dir);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(Tokenizer, SpecialTokensFromConfig) {
  auto dir = write_tokenizer(byte_fallback_tokenizer(), "config");
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"bos_token": {"__type": "AddedToken", "content": "a"}, "eos_token": "b", "add_bos_token": true})";
  auto t = Tokenizer::from_dir(dir);
  std::filesystem::remove_all(dir);
  const auto& sp = t->special_tokens();
  EXPECT_EQ(sp.bos, t->token_to_id("a"));
  EXPECT_EQ(sp.eos_text, "b");
  EXPECT_EQ(sp.pad, t->token_to_id("b"));  // pad falls back to eos, as the reference does
  EXPECT_EQ(sp.unk, t->token_to_id("<unk>"));
  EXPECT_TRUE(sp.add_bos);
  EXPECT_TRUE(t->is_special(0));
  EXPECT_FALSE(t->is_special(1));
  EXPECT_EQ(t->id_to_token(1), "<0x00>");
  EXPECT_EQ(t->id_to_token(-1), "");
  EXPECT_EQ(t->vocab_size(), 263u);
}

}  // namespace
}  // namespace oc::tok
