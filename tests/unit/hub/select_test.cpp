#include "hub/select.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"

namespace {

const std::vector<std::string> kListing = {
    ".gitattributes",
    "README.md",
    "chat_template.jinja",
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "onnx/audio_encoder.onnx",
    "onnx/audio_encoder.onnx_data",
    "onnx/audio_encoder_quantized.onnx",
    "onnx/decoder_model_merged.onnx",
    "onnx/decoder_model_merged.onnx_data",
    "onnx/decoder_model_merged.onnx_data_1",
    "onnx/decoder_model_merged_fp16.onnx",
    "onnx/decoder_model_merged_fp16.onnx_data",
    "onnx/decoder_model_merged_q4.onnx",
    "onnx/decoder_model_merged_q4.onnx_data",
    "onnx/embed_tokens.onnx",
    "onnx/embed_tokens.onnx_data",
    "onnx/embed_tokens_quantized.onnx",
    "onnx/embed_tokens_quantized.onnx_data",
    "onnx/vision_encoder.onnx",
    "onnx/vision_encoder_fp16.onnx",
    "onnx/vision_encoder_quantized.onnx",
};

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(Select, Q4MixedTextOnly) {
  auto sel = oc::hub::select_files(kListing, *oc::models::preset_by_name("Q4_MIXED"), {"text"});
  std::vector<std::string> expected = {
      "chat_template.jinja",
      "config.json",
      "generation_config.json",
      "onnx/decoder_model_merged_q4.onnx",
      "onnx/decoder_model_merged_q4.onnx_data",
      "onnx/embed_tokens_quantized.onnx",
      "onnx/embed_tokens_quantized.onnx_data",
      "preprocessor_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
  };
  EXPECT_EQ(sel.files, expected);
  ASSERT_EQ(sel.components.size(), 2u);
  EXPECT_EQ(sel.components[0].component, "decoder_model_merged");
  EXPECT_EQ(sel.components[0].dtype, "q4");
  EXPECT_EQ(sel.components[1].role, "embed");
  EXPECT_TRUE(sel.missing_modalities.empty());
}

TEST(Select, ModalitiesAndFallback) {
  auto sel = oc::hub::select_files(kListing, *oc::models::preset_by_name("FP16"), {"text", "image", "audio"});
  EXPECT_TRUE(has(sel.files, "onnx/vision_encoder_fp16.onnx"));
  // No fp16 audio encoder and no fp16 embed: fall back to fp32, with all its external data.
  EXPECT_TRUE(has(sel.files, "onnx/audio_encoder.onnx"));
  EXPECT_TRUE(has(sel.files, "onnx/audio_encoder.onnx_data"));
  EXPECT_TRUE(has(sel.files, "onnx/embed_tokens.onnx_data"));
  EXPECT_TRUE(has(sel.files, "onnx/decoder_model_merged_fp16.onnx_data"));
  EXPECT_FALSE(has(sel.files, "onnx/decoder_model_merged.onnx"));
  auto fp32 = oc::hub::select_files(kListing, *oc::models::preset_by_name("FP32"), {"text"});
  EXPECT_TRUE(has(fp32.files, "onnx/decoder_model_merged.onnx_data_1"));
  EXPECT_FALSE(has(fp32.files, "onnx/vision_encoder.onnx"));
}

TEST(Select, MissingModality) {
  std::vector<std::string> listing = {"config.json", "onnx/model.onnx", "onnx/model_q4.onnx"};
  auto sel = oc::hub::select_files(listing, oc::models::default_preset(), {"text", "audio"});
  EXPECT_EQ(sel.missing_modalities, std::vector<std::string>{"audio"});
  EXPECT_EQ(sel.files, (std::vector<std::string>{"config.json", "onnx/model_q4.onnx"}));
}

TEST(Select, MergedDecoderReplacesSplitOnes) {
  std::vector<std::string> listing = {"onnx/decoder_model.onnx", "onnx/decoder_with_past_model.onnx",
                                      "onnx/decoder_model_merged.onnx"};
  auto sel = oc::hub::select_files(listing, oc::models::default_preset(), {"text"});
  EXPECT_EQ(sel.files, std::vector<std::string>{"onnx/decoder_model_merged.onnx"});
}

TEST(Select, Modalities) {
  EXPECT_EQ(oc::hub::parse_modalities(""), std::vector<std::string>{"text"});
  EXPECT_EQ(oc::hub::parse_modalities("text,image"), (std::vector<std::string>{"text", "image"}));
  EXPECT_EQ(oc::hub::parse_modalities("all"), (std::vector<std::string>{"text", "image", "audio"}));
  EXPECT_THROW(oc::hub::parse_modalities("smell"), oc::Error);
}

TEST(Select, PresetComplete) {
  std::vector<std::string> snapshot = {"config.json", "onnx/decoder_model_merged_q4.onnx",
                                       "onnx/embed_tokens_quantized.onnx"};
  EXPECT_TRUE(oc::hub::preset_complete(snapshot, *oc::models::preset_by_name("Q4_MIXED"), "text"));
  EXPECT_FALSE(oc::hub::preset_complete(snapshot, *oc::models::preset_by_name("FP16"), "text"));
  EXPECT_FALSE(oc::hub::preset_complete(snapshot, *oc::models::preset_by_name("Q4_MIXED"), "image"));
}

// HuggingFaceTB/SmolVLM-256M-Instruct: its own onnx/ folder beside the PyTorch weights, with
// the bnb4/int8/uint8 variants and the template in chat_template.json.
TEST(Select, SmolVlmRepoWithItsOwnOnnxFolder) {
  std::vector<std::string> listing = {"README.md",
                                      "added_tokens.json",
                                      "chat_template.json",
                                      "config.json",
                                      "generation_config.json",
                                      "merges.txt",
                                      "model.safetensors",
                                      "preprocessor_config.json",
                                      "processor_config.json",
                                      "special_tokens_map.json",
                                      "tokenizer.json",
                                      "tokenizer_config.json",
                                      "vocab.json"};
  for (const char* c : {"decoder_model_merged", "embed_tokens", "vision_encoder"})
    for (const char* s : {"", "_bnb4", "_fp16", "_int8", "_q4", "_q4f16", "_quantized", "_uint8"})
      listing.push_back(std::string("onnx/") + c + s + ".onnx");
  auto sel = oc::hub::select_files(listing, *oc::models::preset_by_name("Q4_MIXED"), {"text", "image"});
  ASSERT_EQ(sel.components.size(), 3u);
  EXPECT_TRUE(has(sel.files, "onnx/decoder_model_merged_q4.onnx"));
  EXPECT_TRUE(has(sel.files, "onnx/embed_tokens_quantized.onnx"));
  EXPECT_TRUE(has(sel.files, "onnx/vision_encoder_fp16.onnx"));
  EXPECT_TRUE(has(sel.files, "chat_template.json"));
  EXPECT_TRUE(has(sel.files, "processor_config.json"));
  EXPECT_FALSE(has(sel.files, "model.safetensors"));
  EXPECT_FALSE(has(sel.files, "onnx/decoder_model_merged_int8.onnx"));
  EXPECT_TRUE(sel.missing_modalities.empty());
}
