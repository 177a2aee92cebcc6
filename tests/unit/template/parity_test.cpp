// Parity with the reference: every model template of tests/golden/templates/golden.json renders
// every conversation of conversations.json byte-identically to @huggingface/jinja (or fails with
// the same message). The context is built the way the server builds it (chat_context).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/template_json.h"
#include "template/chat_template.h"
#include "template/model_templates.h"

namespace {

using ojson = nlohmann::ordered_json;
using oc::tmpl::Value;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Golden {
  ojson golden;
  std::string conversations_text;
  Golden() {
    std::string dir = std::string(ONNX_CHAT_SOURCE_DIR) + "/tests/golden/templates/";
    golden = ojson::parse(read_text(dir + "golden.json"));
    conversations_text = read_text(dir + "conversations.json");
  }
};

const Golden& golden() {
  static Golden g;
  return g;
}

std::string first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t from = i > 40 ? i - 40 : 0;
  return "at byte " + std::to_string(i) + ":\n  got:      " + ojson(a.substr(from, 100)).dump() +
         "\n  expected: " + ojson(b.substr(from, 100)).dump();
}

class TemplateParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TemplateParity, RendersLikeTheReference) {
  setenv("TZ", "UTC", 1);
  tzset();
  const auto& g = golden();
  const ojson* model = nullptr;
  for (const auto& m : g.golden["models"])
    if (m["name"] == GetParam()) model = &m;
  ASSERT_NE(model, nullptr);

  oc::tmpl::ModelTemplates mt;
  mt.single = (*model)["template"].get<std::string>();
  for (auto it = (*model)["special_tokens"].begin(); it != (*model)["special_tokens"].end(); ++it)
    mt.special_tokens.emplace_back(it.key(), it.value().get<std::string>());
  oc::tmpl::ChatTemplate tmpl(*mt.select(false));

  auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(g.golden["clock_utc_ms"].get<int64_t>()));
  Value conversations = oc::tmpl::value_from_json_text(g.conversations_text).get("conversations");
  const ojson& expected = g.golden["expected"][GetParam()];
  int checked = 0;
  for (const Value& conv : conversations.as_array()) {
    std::string name = conv.get("name").as_string();
    Value agp = conv.get("add_generation_prompt");
    oc::tmpl::Object kwargs;
    if (const Value* k = conv.find("kwargs")) kwargs = k->as_object();
    Value ctx = oc::tmpl::chat_context(mt, conv.get("messages"), agp.is_undefined() ? true : agp.as_bool(),
                                       conv.get("tools"), conv.get("documents"), kwargs);
    const ojson& want = expected[name];
    std::string got, error;
    try {
      got = tmpl.render(ctx, {}, when);
    } catch (const oc::tmpl::TemplateError& e) {
      error = e.what();
    }
    if (want.contains("error")) {
      EXPECT_EQ(error, want["error"].get<std::string>())
          << GetParam() << " / " << name << " should fail like the reference";
    } else {
      EXPECT_EQ(error, "") << GetParam() << " / " << name;
      std::string w = want["output"].get<std::string>();
      EXPECT_TRUE(got == w) << GetParam() << " / " << name << " differs " << first_difference(got, w);
    }
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : golden().golden["models"]) names.push_back(m["name"].get<std::string>());
  return names;
}

INSTANTIATE_TEST_SUITE_P(RealModels, TemplateParity, ::testing::ValuesIn(model_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
