#include "hub/model_ref.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"

using oc::hub::ModelRef;
using oc::hub::parse_model_ref;

TEST(ModelRef, RepoId) {
  auto r = parse_model_ref("onnx-community/gemma-3n-E2B-it-ONNX");
  EXPECT_EQ(r.kind, ModelRef::Kind::Repo);
  EXPECT_EQ(r.repo_id, "onnx-community/gemma-3n-E2B-it-ONNX");
  EXPECT_EQ(r.revision, "");
  EXPECT_EQ(r.preset, "");
}

TEST(ModelRef, PresetAndRevision) {
  auto a = parse_model_ref("onnx-community/gemma-3n-E2B-it-ONNX/Q4_MIXED");
  EXPECT_EQ(a.repo_id, "onnx-community/gemma-3n-E2B-it-ONNX");
  EXPECT_EQ(a.preset, "Q4_MIXED");
  auto b = parse_model_ref("org/name@v1.0/fp16");
  EXPECT_EQ(b.repo_id, "org/name");
  EXPECT_EQ(b.revision, "v1.0");
  EXPECT_EQ(b.preset, "FP16");
  auto c = parse_model_ref("org/name/quantized@main");
  EXPECT_EQ(c.repo_id, "org/name");
  EXPECT_EQ(c.revision, "main");
  EXPECT_EQ(c.preset, "QUANTIZED");
  auto d = parse_model_ref("org/name@refs/pr/1");
  EXPECT_EQ(d.revision, "refs/pr/1");
  EXPECT_EQ(d.preset, "");
  auto e = parse_model_ref("org/name@refs/pr/1/FP32");
  EXPECT_EQ(e.revision, "refs/pr/1");
  EXPECT_EQ(e.preset, "FP32");
  auto f = parse_model_ref("gpt2");
  EXPECT_EQ(f.repo_id, "gpt2");
  EXPECT_EQ(oc::hub::to_string(e), "org/name@refs/pr/1/FP32");
}

TEST(ModelRef, Invalid) {
  for (const char* bad : {"", "org/name/NOPE", "org//name", "org/na me", "a--b/c", "org/name@", "-org/name",
                          "./definitely/not/here", "/nope/nope/nope", "org/name/Q4_MIXED/FP16"}) {
    EXPECT_THROW(parse_model_ref(bad), oc::Error) << bad;
  }
}

TEST(ModelRef, LocalFolder) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "oc_hub_model_ref_test";
  fs::create_directories(dir);
  auto a = parse_model_ref(dir.string());
  EXPECT_EQ(a.kind, ModelRef::Kind::LocalFolder);
  EXPECT_EQ(a.folder, dir);
  auto b = parse_model_ref(dir.string() + "/fp16");
  EXPECT_EQ(b.kind, ModelRef::Kind::LocalFolder);
  EXPECT_EQ(b.folder, dir);
  EXPECT_EQ(b.preset, "FP16");
  fs::remove_all(dir);
}

TEST(ModelRef, CommitHash) {
  EXPECT_TRUE(oc::hub::is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(oc::hub::is_commit_hash("main"));
  EXPECT_FALSE(oc::hub::is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
}
