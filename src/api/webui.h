// The web chat page served at GET /, embedded in the binary at build time from webui/index.html.
#pragma once

#include <string_view>

namespace oc::api {

std::string_view web_ui_html();

}  // namespace oc::api
