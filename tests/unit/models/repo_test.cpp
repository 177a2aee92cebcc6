#include "models/repo.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace fs = std::filesystem;

namespace {

struct TempRepo {
  fs::path dir;
  TempRepo() {
    dir = fs::temp_directory_path() / ("oc_repo_test_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "onnx");
  }
  ~TempRepo() { fs::remove_all(dir); }
  void write(const std::string& rel, const std::string& content) {
    fs::create_directories((dir / rel).parent_path());
    std::ofstream(dir / rel, std::ios::binary) << content;
  }
};

}  // namespace

TEST(Repo, DiscoversComponentsVariantsAndSizes) {
  TempRepo r;
  r.write("config.json", R"({"model_type":"gemma3n","text_config":{"model_type":"gemma3n_text"}})");
  r.write("tokenizer.json", "{}");
  r.write("onnx/decoder_model_merged.onnx", "1234");
  r.write("onnx/decoder_model_merged.onnx_data", "123456");
  r.write("onnx/decoder_model_merged.onnx_data_1", "12");
  r.write("onnx/decoder_model_merged_q4.onnx", "12");
  r.write("onnx/embed_tokens_quantized.onnx", "1");
  auto repo = oc::models::discover_repo(r.dir);
  EXPECT_EQ(repo.model_type, "gemma3n");
  EXPECT_EQ(repo.text_model_type, "gemma3n_text");
  EXPECT_TRUE(repo.has_file("tokenizer.json"));
  EXPECT_FALSE(repo.has_file("chat_template.jinja"));
  const auto* dec = repo.component("decoder_model_merged");
  ASSERT_NE(dec, nullptr);
  EXPECT_EQ(dec->role, "decoder");
  ASSERT_EQ(dec->variants.size(), 2u);
  EXPECT_EQ(dec->variants[0].dtype, "fp32");
  EXPECT_EQ(dec->variants[0].data.size(), 2u);
  EXPECT_EQ(dec->variants[0].bytes, 12u);
  EXPECT_EQ(dec->variants[1].dtype, "q4");

  auto choice = oc::models::choose_variants(repo, "Q4_MIXED");
  EXPECT_EQ(choice.chosen.at("decoder_model_merged")->dtype, "q4");
  EXPECT_EQ(choice.chosen.at("embed_tokens")->dtype, "quantized");
  EXPECT_TRUE(choice.notes.empty());
  auto fp16 = oc::models::choose_variants(repo, "fp16");
  EXPECT_EQ(fp16.chosen.at("decoder_model_merged")->dtype, "fp32");
  EXPECT_EQ(fp16.notes.size(), 2u);
  EXPECT_THROW(oc::models::choose_variants(repo, "Q3_WHATEVER"), oc::Error);
}

TEST(Repo, RejectsFoldersThatAreNotModels) {
  TempRepo r;
  EXPECT_THROW(oc::models::discover_repo(r.dir / "missing"), oc::Error);
  try {
    oc::models::discover_repo(r.dir);
    FAIL();
  } catch (const oc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no config.json"), std::string::npos);
  }
  r.write("config.json", "{}");
  EXPECT_THROW(oc::models::discover_repo(r.dir), oc::Error);  // no onnx files
  r.write("config.json", "{not json");
  r.write("onnx/model.onnx", "x");
  EXPECT_THROW(oc::models::discover_repo(r.dir), oc::Error);
}
