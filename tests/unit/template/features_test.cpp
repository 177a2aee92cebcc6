// One small template per language feature (tests/golden/templates/features.json, rendered by the
// reference): outputs and runtime error messages must match exactly. For parse errors the
// reference gives no position and sometimes no useful message, so only the failure must match.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/template_json.h"
#include "template/chat_template.h"

namespace {

using ojson = nlohmann::ordered_json;

const ojson& features() {
  static const ojson f = [] {
    std::ifstream in(std::string(ONNX_CHAT_SOURCE_DIR) + "/tests/golden/templates/features.json", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ojson::parse(ss.str());
  }();
  return f;
}

class Feature : public ::testing::TestWithParam<size_t> {};

TEST_P(Feature, MatchesReference) {
  setenv("TZ", "UTC", 1);
  tzset();
  const ojson& c = features()["cases"][GetParam()];
  auto when =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(features()["clock_utc_ms"].get<int64_t>()));
  std::string output, error;
  bool failed = false;
  try {
    oc::tmpl::ChatTemplate t(c["template"].get<std::string>());
    output = t.render(oc::tmpl::value_from_json(c["context"]), {}, when);
  } catch (const oc::tmpl::TemplateError& e) {
    failed = true;
    error = e.what();
  }
  if (c.contains("parse_error")) {
    EXPECT_TRUE(failed) << "should not parse";
  } else if (c.contains("error")) {
    EXPECT_TRUE(failed) << "should fail with: " << c["error"].get<std::string>() << "\n  rendered: " << output;
    EXPECT_EQ(error, c["error"].get<std::string>());
  } else {
    EXPECT_FALSE(failed) << error;
    EXPECT_EQ(output, c["output"].get<std::string>());
  }
}

std::vector<size_t> indices() {
  std::vector<size_t> v(features()["cases"].size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}

INSTANTIATE_TEST_SUITE_P(Reference, Feature, ::testing::ValuesIn(indices()),
                         [](const ::testing::TestParamInfo<size_t>& param) {
                           return features()["cases"][param.param]["name"].get<std::string>();
                         });

}  // namespace
