// Tokenizer encode and decode on client text and ids, with two small tokenizers of the two common
// kinds (byte-level BPE with a regex pre-tokenizer; SentencePiece-style BPE with byte fallback).
// Checks what the engine relies on: ids in range, decode and the streaming decoder agree, every
// streamed delta is valid UTF-8.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

using namespace oc;
using json = nlohmann::json;

namespace {

json byte_level_bpe() {
  // GPT-2's byte -> character table, then a few merges.
  json vocab = json::object();
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    std::string ch = utf8::encode(printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++));
    vocab[ch] = b;
  }
  const char* merges[] = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s", "r e", "Ġ w"};
  int id = 256;
  json m = json::array();
  for (const char* x : merges) {
    std::string s(x);
    const size_t sp = s.find(' ');
    vocab[s.substr(0, sp) + s.substr(sp + 1)] = id++;
    m.push_back(s);
  }
  json t;
  t["added_tokens"] = json::array({{{"id", id}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}},
                                   {{"id", id + 1}, {"content", "<tool>"}, {"special", false}, {"lstrip", true}}});
  t["normalizer"] = {{"type", "NFC"}};
  t["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  t["post_processor"] = {{"type", "ByteLevel"}, {"trim_offsets", false}};
  t["decoder"] = {{"type", "ByteLevel"}};
  t["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}};
  return t;
}

json sentencepiece_bpe() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  char name[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  int id = 259;
  for (const char* p : {"\xE2\x96\x81", "a", "b", "c", "e", "h", "t", "\xE2\x96\x81t", "he", "\xE2\x96\x81the"})
    vocab[p] = id++;
  json t;
  t["added_tokens"] = json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                                   {{"id", 1}, {"content", "<s>"}, {"special", true}},
                                   {{"id", 2}, {"content", "</s>"}, {"special", true}}});
  t["normalizer"] = {
      {"type", "Sequence"},
      {"normalizers",
       json::array({{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                    {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}})}};
  t["pre_tokenizer"] = nullptr;
  t["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                 {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                         {"pair", json::array()},
                         {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}};
  t["decoder"] = {
      {"type", "Sequence"},
      {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                                {{"type", "ByteFallback"}},
                                {{"type", "Fuse"}},
                                {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
  t["model"] = {
      {"type", "BPE"},        {"vocab", vocab},        {"merges", {"\xE2\x96\x81 t", "h e", "\xE2\x96\x81t he"}},
      {"unk_token", "<unk>"}, {"byte_fallback", true}, {"fuse_unk", true}};
  return t;
}

std::vector<std::unique_ptr<tok::Tokenizer>> g_tokenizers;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto dir = std::filesystem::temp_directory_path() / ("oc-fuzz-tok-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int i = 0;
  for (const json& t : {byte_level_bpe(), sentencepiece_bpe()}) {
    const auto path = dir / ("tokenizer" + std::to_string(i++) + ".json");
    std::ofstream(path) << t.dump();
    g_tokenizers.push_back(tok::Tokenizer::from_files(path));
  }
  std::filesystem::remove_all(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const tok::Tokenizer& t = *g_tokenizers[data[0] & 1];
  const bool special = data[0] & 2;
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  fuzz::expect_clean_errors([&] {
    const std::vector<tok::TokenId> ids = t.encode(text, special);
    for (tok::TokenId id : ids) fuzz::check(id >= 0 && static_cast<size_t>(id) < t.vocab_size(), "id out of range");
    t.decode(ids, !special);
  });
  // The same bytes as token ids (some out of range): decode and the streaming decoder agree. At
  // most kStreamIds of them: a stream of ids that keep its window open (replacement characters,
  // trailing spaces) decodes it again at every push, which on the longest inputs kept the fuzzer
  // near 200 executions/s without reaching anything new.
  constexpr size_t kStreamIds = 256;
  std::vector<tok::TokenId> ids(std::min((size - 1) / 2, kStreamIds));
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<tok::TokenId>((data[1 + 2 * i] | (data[2 + 2 * i] << 8)) % (t.vocab_size() + 4));
  fuzz::expect_clean_errors([&] {
    const std::string whole = t.decode(ids, !special);
    tok::StreamDecoder stream(t, !special);
    std::string streamed;
    for (tok::TokenId id : ids) {
      const std::string delta = stream.push(id);
      fuzz::check(utf8::is_valid(delta), "a streamed delta is not valid UTF-8");
      streamed += delta;
    }
    streamed += stream.flush();
    if (streamed != whole) {
      std::fprintf(stderr, "fuzz: decode():  ");
      for (unsigned char c : whole) std::fprintf(stderr, "%02x", c);
      std::fprintf(stderr, "\nfuzz: streamed: ");
      for (unsigned char c : streamed) std::fprintf(stderr, "%02x", c);
      std::fprintf(stderr, "\n");
    }
    fuzz::check(streamed == whole, "streamed text differs from decode()");
  });
  return 0;
}
