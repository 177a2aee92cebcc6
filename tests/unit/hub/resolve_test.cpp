#include "hub/resolve.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "hub/cache.h"

namespace fs = std::filesystem;

namespace {

void touch(const fs::path& p, const std::string& text = "x") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

oc::hub::HubConfig offline_config(const fs::path& cache) {
  oc::hub::HubConfig c;
  c.cache_dir = cache;
  c.endpoint = "http://127.0.0.1:9";
  c.offline = true;
  return c;
}

}  // namespace

TEST(Resolve, LocalFolderWithPreset) {
  fs::path dir = fs::temp_directory_path() / "oc_hub_resolve_local";
  fs::remove_all(dir);
  for (const char* f : {"config.json", "tokenizer.json", "onnx/embed_tokens.onnx", "onnx/embed_tokens_fp16.onnx",
                        "onnx/decoder_model_merged.onnx", "onnx/decoder_model_merged.onnx_data",
                        "onnx/decoder_model_merged_fp16.onnx", "onnx/vision_encoder_fp16.onnx"})
    touch(dir / f);
  auto m = oc::hub::resolve_model((dir / "FP16").string());
  EXPECT_EQ(m.source, oc::hub::ResolvedModel::Source::LocalFolder);
  EXPECT_EQ(m.folder, dir);
  EXPECT_EQ(m.preset, "FP16");
  ASSERT_EQ(m.components.size(), 2u);
  EXPECT_EQ(m.components[0].onnx, dir / "onnx/decoder_model_merged_fp16.onnx");
  EXPECT_TRUE(m.components[0].data.empty());
  oc::hub::ResolveOptions o;
  o.preset = "fp32";
  o.modalities = {"text", "image", "audio"};
  auto f = oc::hub::resolve_model(dir.string(), o);
  EXPECT_EQ(f.components[0].data, std::vector<fs::path>{dir / "onnx/decoder_model_merged.onnx_data"});
  EXPECT_EQ(f.components.size(), 3u);  // + vision (fp16 as the fallback of fp32)
  EXPECT_EQ(f.warnings.size(), 1u);    // no audio encoder
  fs::remove_all(dir);
}

TEST(Resolve, OfflineFromTheCache) {
  fs::path cache = fs::temp_directory_path() / "oc_hub_resolve_cache";
  fs::remove_all(cache);
  oc::hub::RepoCache rc(cache, "org/model");
  const std::string commit(40, 'c');
  touch(rc.blob("b1"));
  touch(rc.blob("b2"));
  touch(rc.blob("b3"));
  rc.link(commit, "config.json", "b1");
  rc.link(commit, "onnx/embed_tokens_quantized.onnx", "b2");
  rc.link(commit, "onnx/decoder_model_merged_q4f16.onnx", "b3");
  rc.write_ref("main", commit);

  oc::hub::ResolveOptions o;
  o.config = offline_config(cache);
  auto m = oc::hub::resolve_model("org/model/Q4_MIXED", o);
  EXPECT_EQ(m.source, oc::hub::ResolvedModel::Source::Cache);
  EXPECT_EQ(m.commit, commit);
  EXPECT_EQ(m.folder, rc.snapshot(commit));
  ASSERT_EQ(m.components.size(), 2u);
  EXPECT_EQ(m.components[0].dtype, "q4f16");  // q4 is not cached: the nearest variant, with a warning
  EXPECT_EQ(m.warnings.size(), 1u);
  auto bare = oc::hub::resolve_model("model", o);  // a cached repo by its bare name
  EXPECT_EQ(bare.repo_id, "org/model");

  try {
    oc::hub::resolve_model("org/other", o);
    FAIL() << "expected an error";
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::NotFound);
    EXPECT_EQ(e.code(), "not_cached");
  }
  fs::remove_all(cache);
}
