#include "api/webui.h"

#include <gtest/gtest.h>

TEST(WebUi, EmbedsTheChatPage) {
  auto html = oc::api::web_ui_html();
  EXPECT_NE(html.find("<title>onnx-chat</title>"), std::string_view::npos);
  EXPECT_NE(html.find("/v1/chat/completions"), std::string_view::npos);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
}
