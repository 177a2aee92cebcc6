#include "models/variants.h"

#include <gtest/gtest.h>

using namespace oc::models;

TEST(Variants, ParsesComponentFileNames) {
  auto f = parse_component_file("onnx/decoder_model_merged_q4f16.onnx");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->component, "decoder_model_merged");
  EXPECT_EQ(f->dtype, "q4f16");
  f = parse_component_file("onnx/decoder_model_merged_q4.onnx");
  EXPECT_EQ(f->dtype, "q4");
  f = parse_component_file("onnx/embed_tokens_quantized.onnx");
  EXPECT_EQ(f->component, "embed_tokens");
  EXPECT_EQ(f->dtype, "quantized");
  f = parse_component_file("onnx/model.onnx");
  EXPECT_EQ(f->component, "model");
  EXPECT_EQ(f->dtype, "fp32");
  EXPECT_FALSE(parse_component_file("onnx/model.onnx_data"));
  EXPECT_FALSE(parse_component_file("config.json"));
}

TEST(Variants, FindsExternalDataInOrder) {
  std::vector<std::string> listing = {"onnx/a.onnx",        "onnx/a.onnx_data_10", "onnx/a.onnx_data",
                                      "onnx/a.onnx_data_2", "onnx/a.onnx_data_1",  "onnx/ab.onnx_data",
                                      "onnx/a.onnx_data_x"};
  EXPECT_EQ(external_data_files("onnx/a.onnx", listing),
            (std::vector<std::string>{"onnx/a.onnx_data", "onnx/a.onnx_data_1", "onnx/a.onnx_data_2",
                                      "onnx/a.onnx_data_10"}));
}

TEST(Variants, PresetsAndFallback) {
  ASSERT_NE(preset_by_name("q4_mixed"), nullptr);
  EXPECT_EQ(preset_by_name("Q4_MIXED")->decoder, "q4");
  EXPECT_EQ(preset_by_name("nope"), nullptr);
  EXPECT_EQ(choose_dtype("q4", {"fp32", "fp16", "q4"}), "q4");
  EXPECT_EQ(choose_dtype("q4", {"fp32", "q4f16"}), "q4f16");
  EXPECT_EQ(choose_dtype("fp16", {"fp32", "q4"}), "fp32");
  EXPECT_EQ(choose_dtype("q8", {"quantized"}), "quantized");
  EXPECT_FALSE(choose_dtype("fp32", {}));
  EXPECT_EQ(component_role("decoder_model_merged"), "decoder");
}
