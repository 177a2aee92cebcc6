// The family registry and the gemma3n family on the fixture models (skipped without
// $ONNX_CHAT_FIXTURES).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "models/family.h"
#include "support/fixtures.h"

using namespace oc::models;
namespace fs = std::filesystem;

namespace {

float max_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

size_t argmax(std::span<const float> v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

}  // namespace

TEST(FamilyRegistry, Gemma3nIsBuiltIn) {
  bool found = false;
  for (const auto& f : families()) found |= f.name == "gemma3n";
  EXPECT_TRUE(found);
  FamilyProbe p;
  p.model_type = "gemma3n";
  p.files = {"config.json", "onnx/decoder_model_merged_q4.onnx", "onnx/embed_tokens.onnx"};
  ASSERT_NE(find_family(p), nullptr);
  EXPECT_EQ(find_family(p)->name, "gemma3n");
  // A plain decoder folder is the generic decoder_only family's, whatever its model_type.
  p.files = {"config.json", "onnx/model.onnx"};
  ASSERT_NE(find_family(p), nullptr);
  EXPECT_EQ(find_family(p)->name, "decoder_only");
  p.model_type = "llama";
  EXPECT_EQ(find_family(p)->name, "decoder_only");
  p.files = {"config.json", "onnx/vision_encoder.onnx"};
  EXPECT_EQ(find_family(p), nullptr);
}

TEST(FamilyRegistry, RegisteredFamilyWinsByScore) {
  Family f;
  f.name = "test-family";
  f.match = [](const FamilyProbe& p) { return p.model_type == "test-type" ? 5 : 0; };
  f.load = [](const FamilyProbe&, const LoadOptions&) -> std::unique_ptr<Model> {
    throw oc::Error(oc::ErrorKind::ModelLoad, "test family loads nothing");
  };
  register_family(f);
  FamilyProbe p;
  p.model_type = "test-type";
  ASSERT_NE(find_family(p), nullptr);
  EXPECT_EQ(find_family(p)->name, "test-family");
}

TEST(FamilyRegistry, UnknownFolderNamesTheModelType) {
  fs::path dir = fs::temp_directory_path() / "oc-family-test";
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"model_type": "mystery"})";
  try {
    load_model(dir);
    FAIL();
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::ModelLoad);
    EXPECT_NE(std::string(e.what()).find("mystery"), std::string::npos);
  }
  EXPECT_THROW(load_model(dir / "absent"), oc::Error);
  fs::remove_all(dir);
}

TEST(Gemma3n, LoadsTextComponentsFromMetadata) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  LoadOptions o;
  o.preset = "FP32";
  auto m = load_model(dir, o);
  EXPECT_EQ(m->info().family, "gemma3n");
  EXPECT_EQ(m->id(), "gemma3n-tiny");
  EXPECT_EQ(m->context_length(), 32768u);
  EXPECT_EQ(m->logits_size(), 1032u);
  EXPECT_EQ(m->generation_defaults().eos_ids, (std::vector<TokenId>{1, 106}));
  EXPECT_EQ(m->generation_defaults().top_k.value_or(0), 64);
  ASSERT_NE(m->chat_template(), nullptr);
  EXPECT_EQ(m->template_defaults().bos_token, "<bos>");
  EXPECT_TRUE(m->supports(Modality::Image));
  EXPECT_FALSE(m->loaded(Modality::Image));
  int loaded = 0;
  for (const auto& c : m->info().components) loaded += c.loaded;
  EXPECT_EQ(loaded, 2);
  auto p = m->process("<bos><start_of_turn>user\nhi<end_of_turn>\n");
  EXPECT_EQ(p.ids.front(), 2);
  EXPECT_THROW(m->process("<image_soft_token>"), oc::Error);
}

TEST(Gemma3n, ChunkedPrefillAndForkMatchOneRun) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  LoadOptions o;
  o.preset = "FP32";
  auto m = load_model(dir, o);
  auto prompt =
      m->process("<bos><start_of_turn>user\nTell me a story about a robot.<end_of_turn>\n<start_of_turn>model\n");
  ASSERT_GT(prompt.ids.size(), 8u);
  RunControl control;

  auto whole = m->new_sequence();
  whole->begin(prompt, control);
  auto a = whole->forward(prompt.ids, control);
  std::vector<float> one(a.begin(), a.end());

  auto chunked = m->new_sequence();
  chunked->begin(prompt, control);
  std::span<const float> b;
  for (size_t i = 0; i < prompt.ids.size(); i += 3)
    b = chunked->forward(std::span<const TokenId>(prompt.ids).subspan(i, std::min<size_t>(3, prompt.ids.size() - i)),
                         control);
  EXPECT_LT(max_diff(one, b), 1e-4f);
  EXPECT_EQ(chunked->length(), prompt.ids.size());

  // A fork continues exactly like the original.
  auto fork = chunked->fork();
  TokenId next[1] = {static_cast<TokenId>(argmax(one))};
  auto x = chunked->forward(next, control);
  std::vector<float> from_original(x.begin(), x.end());
  auto y = fork->forward(next, control);
  EXPECT_EQ(max_diff(from_original, y), 0.0f);
  auto z = whole->forward(next, control);
  EXPECT_LT(max_diff(from_original, z), 1e-4f);
}

TEST(Gemma3n, Float16CacheVariantAgrees) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  LoadOptions fp32, f16;
  fp32.preset = "FP32";
  f16.dtypes["decoder_model_merged"] = "q4f16";  // float16 KV cache and logits
  auto a = load_model(dir, fp32);
  auto b = load_model(dir, f16);
  std::string decoder_dtype;
  for (const auto& c : b->info().components)
    if (c.name == "decoder_model_merged") decoder_dtype = c.dtype;
  EXPECT_EQ(decoder_dtype, "q4f16");
  auto prompt = a->process("<bos><start_of_turn>user\nhello<end_of_turn>\n<start_of_turn>model\n");
  RunControl control;
  auto sa = a->new_sequence();
  auto sb = b->new_sequence();
  sa->begin(prompt, control);
  sb->begin(prompt, control);
  std::vector<float> la;
  auto r = sa->forward(prompt.ids, control);
  la.assign(r.begin(), r.end());
  auto lb = sb->forward(prompt.ids, control);
  EXPECT_LT(max_diff(la, lb), 0.1f);
  TokenId next[1] = {static_cast<TokenId>(argmax(la))};
  r = sa->forward(next, control);
  la.assign(r.begin(), r.end());
  lb = sb->forward(next, control);
  EXPECT_LT(max_diff(la, lb), 0.1f);
}

TEST(Gemma3n, TerminatedRunIsCancelled) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  auto m = load_model(dir);
  auto seq = m->new_sequence();
  RunControl control;
  auto prompt = m->process("<bos>hi");
  seq->begin(prompt, control);
  control.terminate();
  try {
    seq->forward(prompt.ids, control);
    FAIL();
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::Cancelled);
  }
}
