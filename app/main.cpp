// onnx-chat: the command-line entry. Parses the subcommand and hands over; nothing else.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "common/error.h"
#include "common/log_fields.h"
#include "ort/runtime.h"

namespace oc::app {
std::vector<Command>& commands() {
  static std::vector<Command> list;
  return list;
}
}  // namespace oc::app

int main(int argc, char** argv) {
  using namespace oc::app;
  CLI::App app{"onnx-chat: an OpenAI-compatible server for ONNX chat models"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("-V,--version", version, "print the version and the ONNX Runtime it runs on");
  Options options;

  auto& list = commands();
  std::sort(list.begin(), list.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& c : list) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    runners.emplace_back(sub, c.setup(*sub, options));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (version) {
    std::printf("onnx-chat %s (ONNX Runtime %s)\n", ONNX_CHAT_VERSION, oc::ort::runtime_version().c_str());
    return 0;
  }
  oc::log::Level level;
  if (oc::log::parse_level(options.log_level, level)) oc::log::set_level(level);
  oc::log::Format format;
  if (oc::log::parse_format(options.log_format, format)) oc::log::set_format(format);
  for (auto& [sub, run] : runners) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const oc::Error& e) {
      std::fprintf(stderr, "onnx-chat %s: %s\n", sub->get_name().c_str(), e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "onnx-chat %s: unexpected error: %s\n", sub->get_name().c_str(), e.what());
      return 2;
    }
  }
  std::cout << app.help();
  return 0;
}
