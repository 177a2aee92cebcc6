// The model-folder loader (which template, which special tokens), the render context, the JSON
// conversion (key order as JavaScript sees it) and Value's object access.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/template_json.h"
#include "common/error.h"
#include "template/chat_template.h"
#include "template/model_templates.h"

namespace {

namespace fs = std::filesystem;
using oc::tmpl::Value;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("oc_tmpl_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

TEST(ModelTemplates, TokenizerConfigStringTemplateAndSpecialTokens) {
  TempDir d;
  d.write("tokenizer_config.json", R"({
    "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
    "eos_token": "</s>", "pad_token": null, "unk_token": "", "chat_template": "{{ bos_token }}{{ messages[0].content }}"
  })");
  auto m = oc::tmpl::load_model_templates(d.path);
  ASSERT_NE(m.select(false), nullptr);
  EXPECT_EQ(*m.select(false), "{{ bos_token }}{{ messages[0].content }}");
  ASSERT_EQ(m.special_tokens.size(), 2u);
  EXPECT_EQ(m.special_tokens[0], (std::pair<std::string, std::string>{"bos_token", "<s>"}));
  EXPECT_EQ(m.special_tokens[1], (std::pair<std::string, std::string>{"eos_token", "</s>"}));
}

TEST(ModelTemplates, JinjaFileWinsOverTokenizerConfig) {
  TempDir d;
  d.write("tokenizer_config.json", R"({"chat_template": "from config", "eos_token": "<e>"})");
  d.write("chat_template.jinja", "from jinja file");
  auto m = oc::tmpl::load_model_templates(d.path);
  EXPECT_EQ(*m.select(false), "from jinja file");
  EXPECT_EQ(m.special_tokens.size(), 1u);
}

TEST(ModelTemplates, NamedTemplatesSelectLikeTransformersJs) {
  TempDir d;
  d.write("tokenizer_config.json", R"({"chat_template": [
    {"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}, {"name": "rag", "template": "R"}]})");
  auto m = oc::tmpl::load_model_templates(d.path);
  EXPECT_EQ(*m.select(false), "D");
  EXPECT_EQ(*m.select(true), "T");
  EXPECT_EQ(*m.select(false, "rag"), "R");
  EXPECT_EQ(m.select(false, "nope"), nullptr);
  EXPECT_NE(m.selection_error("nope").find("rag"), std::string::npos);
}

TEST(ModelTemplates, NoTemplateAndBadFiles) {
  TempDir d;
  auto m = oc::tmpl::load_model_templates(d.path);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.select(false), nullptr);
  d.write("tokenizer_config.json", "{not json");
  EXPECT_THROW(oc::tmpl::load_model_templates(d.path), oc::Error);
  d.write("tokenizer_config.json", R"({"chat_template": [{"name": "x"}]})");
  EXPECT_THROW(oc::tmpl::load_model_templates(d.path), oc::Error);
}

TEST(ChatContext, KeysInTransformersJsOrderAndKwargsReplaceInPlace) {
  oc::tmpl::ModelTemplates m;
  m.special_tokens = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
  Value ctx = oc::tmpl::chat_context(m, Value(oc::tmpl::Array{}), true, Value(), Value(),
                                     {{"bos_token", Value("<B>")}, {"enable_thinking", Value(false)}});
  std::vector<std::string> keys;
  for (const auto& [k, v] : ctx.as_object()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"messages", "add_generation_prompt", "tools", "documents", "bos_token",
                                            "eos_token", "enable_thinking"}));
  EXPECT_EQ(ctx.get("bos_token").as_string(), "<B>");
  EXPECT_TRUE(ctx.get("tools").is_null());
  oc::tmpl::ChatTemplate t("{{ tools is none }} {{ documents is defined }} {{ add_generation_prompt }}");
  EXPECT_EQ(t.render(ctx), "true true true");
}

TEST(TemplateJson, KeepsKeyOrderWithIntegerKeysFirst) {
  Value v = oc::tmpl::value_from_json_text(R"({"b": 1, "10": 2, "a": 3, "2": 4, "01": 5})");
  std::vector<std::string> keys;
  for (const auto& [k, x] : v.as_object()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"2", "10", "b", "a", "01"}));
  oc::tmpl::ChatTemplate t("{{ x | tojson }}");
  EXPECT_EQ(t.render(Value(oc::tmpl::Object{{"x", v}})), R"({"2": 4, "10": 2, "b": 1, "a": 3, "01": 5})");
}

TEST(TemplateJson, NumbersAreJavaScriptNumbers) {
  Value v = oc::tmpl::value_from_json_text(R"([1.0, 1.5, -0, 18446744073709551615, true, null, "s"])");
  const auto& a = v.as_array();
  EXPECT_TRUE(a[0].is_int());
  EXPECT_TRUE(a[1].is_double());
  EXPECT_TRUE(a[3].is_double());
  oc::tmpl::ChatTemplate t("{% for x in v %}{{ x }} {% endfor %}");
  EXPECT_EQ(t.render(Value(oc::tmpl::Object{{"v", v}})), "1 1.5 0 18446744073709552000 true  s ");
  EXPECT_EQ(oc::tmpl::value_to_json(v).dump(), R"([1,1.5,0,1.8446744073709552e+19,true,null,"s"])");
}

TEST(TemplateJson, UnorderedJsonStillConverts) {
  nlohmann::json j = {{"z", 1}, {"a", {1, 2}}};
  Value v = oc::tmpl::value_from_json(j);
  EXPECT_EQ(v.get("z").as_int(), 1);
  EXPECT_EQ(v.get("a").as_array().size(), 2u);
}

TEST(TemplateValue, FindGetSet) {
  Value v;
  EXPECT_EQ(v.find("a"), nullptr);
  EXPECT_TRUE(v.get("a").is_undefined());
  v.set("a", 1);
  v.set("b", "x");
  v.set("a", 2);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 2u);
  EXPECT_EQ(v.as_object()[0].first, "a");
  EXPECT_EQ(v.get("a").as_int(), 2);
  EXPECT_EQ(v.find("b")->as_string(), "x");
}

TEST(TemplateValue, RenderingDoesNotChangeTheContext) {
  Value msgs = oc::tmpl::value_from_json_text(R"([{"role": "user", "content": "x"}])");
  Value ctx(oc::tmpl::Object{{"messages", msgs}});
  oc::tmpl::ChatTemplate t("{% set ns = namespace(m=messages) %}{% set ns.m = 1 %}{{ messages[0].content }}");
  EXPECT_EQ(t.render(ctx), "x");
  EXPECT_EQ(ctx.get("messages").as_array()[0].get("content").as_string(), "x");
}

TEST(TemplateValue, TemplatesAreReusableAndMovable) {
  oc::tmpl::ChatTemplate a("{{ n }}");
  oc::tmpl::ChatTemplate b(std::move(a));
  EXPECT_EQ(b.render(Value(oc::tmpl::Object{{"n", Value(1)}})), "1");
  EXPECT_EQ(b.render(Value(oc::tmpl::Object{{"n", Value(2.5)}})), "2.5");
}

}  // namespace

namespace {

TEST(TemplateJson, DeepJsonIsRefused) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THROW(oc::tmpl::value_from_json_text(deep), oc::Error);
  std::string ok = std::string(150, '[') + std::string(150, ']');
  EXPECT_NO_THROW(oc::tmpl::value_from_json_text(ok));
}

}  // namespace
