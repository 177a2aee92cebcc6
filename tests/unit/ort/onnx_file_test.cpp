// The weight-free ONNX reader, on a model encoded here byte by byte, and on the real export's graphs
// when the shared folder is beside the checkout.
#include "ort/onnx_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "ort/protobuf_builder.h"

namespace {

namespace fs = std::filesystem;
using oc::test::Pb;

Pb dim_value(int64_t v) { return Pb().num(1, static_cast<uint64_t>(v)); }
Pb dim_param(const std::string& s) { return Pb().str(2, s); }

Pb value_info(const std::string& name, int elem, std::vector<Pb> dims) {
  Pb shape;
  for (auto& d : dims) shape.msg(1, d);
  Pb tensor = Pb().num(1, elem).msg(2, shape);
  return Pb().str(1, name).msg(2, Pb().msg(1, tensor));
}

std::string tiny_model() {
  Pb weight;  // initializer stored externally
  weight.num(1, 4).num(2, 1).str(8, "w");
  weight.msg(13, Pb().str(1, "location").str(2, "tiny.onnx_data"));
  weight.msg(13, Pb().str(1, "offset").str(2, "0"));
  weight.num(14, 1);
  Pb inline_weight;
  inline_weight.num(1, 2).num(2, 1).str(8, "b").str(9, std::string(8, '\0'));
  Pb node = Pb().str(1, "x").str(1, "w").str(2, "y").str(4, "MatMulNBits").str(7, "com.microsoft");
  Pb node2 = Pb().str(1, "y").str(2, "z").str(4, "Relu");
  Pb graph;
  graph.msg(1, node).msg(1, node2).str(2, "g").msg(5, weight).msg(5, inline_weight);
  graph.msg(11, value_info("x", 1, {dim_param("batch_size"), dim_value(4)}));
  graph.msg(11, value_info("w", 1, {dim_value(4)}));  // an initializer listed as input (old IR)
  graph.msg(12, value_info("z", 10, {dim_param("batch_size"), Pb()}));
  Pb model;
  model.num(1, 8)
      .str(2, "onnx-chat-test")
      .msg(8, Pb().str(1, "").num(2, 17))
      .msg(8, Pb().str(1, "com.microsoft").num(2, 1));
  model.msg(7, graph);
  return model.bytes;
}

fs::path write_temp(const std::string& name, const std::string& bytes) {
  fs::path p = fs::temp_directory_path() / ("oc_onnx_file_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

}  // namespace

TEST(OnnxFile, ReadsInputsOutputsOpsAndExternalData) {
  auto path = write_temp("tiny.onnx", tiny_model());
  auto info = oc::ort::read_onnx_file(path);
  fs::remove(path);
  EXPECT_EQ(info.ir_version, 8);
  EXPECT_EQ(info.producer, "onnx-chat-test");
  EXPECT_EQ(info.opsets.at(""), 17);
  EXPECT_EQ(info.opsets.at("com.microsoft"), 1);
  ASSERT_EQ(info.inputs.size(), 1u) << "initializers are not inputs";
  EXPECT_EQ(info.inputs[0].name, "x");
  EXPECT_EQ(info.inputs[0].type, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
  EXPECT_EQ(info.inputs[0].shape_str(), "[batch_size,4]");
  ASSERT_EQ(info.outputs.size(), 1u);
  EXPECT_EQ(info.outputs[0].type, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
  EXPECT_EQ(info.outputs[0].shape_str(), "[batch_size,?]");
  EXPECT_TRUE(info.has_op("com.microsoft.MatMulNBits"));
  EXPECT_EQ(info.op_counts.at("Relu"), 1);
  EXPECT_EQ(info.external_data, std::vector<std::string>{"tiny.onnx_data"});
  EXPECT_EQ(info.initializer_count, 2);
  EXPECT_EQ(info.inline_weight_bytes, 8u);
}

TEST(OnnxFile, RejectsMissingEmptyAndGarbageFiles) {
  EXPECT_THROW(oc::ort::read_onnx_file("/nonexistent/model.onnx"), oc::Error);
  auto empty = write_temp("empty.onnx", "");
  EXPECT_THROW(oc::ort::read_onnx_file(empty), oc::Error);
  fs::remove(empty);
  auto garbage = write_temp("garbage.onnx", std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11));
  EXPECT_THROW(oc::ort::read_onnx_file(garbage), oc::Error);
  fs::remove(garbage);
  auto truncated = tiny_model();
  truncated.resize(truncated.size() / 2);
  auto tpath = write_temp("truncated.onnx", truncated);
  EXPECT_THROW(oc::ort::read_onnx_file(tpath), oc::Error);
  fs::remove(tpath);
}

TEST(OnnxFile, ReadsTheRealGemma3Export) {
  fs::path shared = std::getenv("ONNX_CHAT_SHARED") ? fs::path(std::getenv("ONNX_CHAT_SHARED"))
                                                    : fs::path(ONNX_CHAT_SOURCE_DIR) / ".." / "shared";
  fs::path q4 = shared / "real-graphs/gemma-3-4b-it/onnx/decoder_model_merged_q4.onnx";
  if (!fs::exists(q4)) GTEST_SKIP() << "real graphs not present beside the checkout";
  auto info = oc::ort::read_onnx_file(q4);
  ASSERT_NE(info.input("attention_mask"), nullptr);
  ASSERT_NE(info.input("num_logits_to_keep"), nullptr);
  EXPECT_EQ(info.input("position_ids"), nullptr);
  EXPECT_EQ(info.input("past_key_values.33.value")->shape_str(), "[batch_size,4,past_sequence_length,256]");
  EXPECT_EQ(info.output("logits")->shape_str(), "[batch_size,num_logits_to_keep,262208]");
  EXPECT_TRUE(info.has_op("com.microsoft.MatMulNBits"));
  EXPECT_TRUE(info.has_op("com.microsoft.GroupQueryAttention"));
  EXPECT_FALSE(info.external_data.empty());
}
