// Subcommands register themselves here, one file each (cmd_*.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "options.h"

namespace oc::app {

struct Command {
  std::string name;
  std::string help;
  // Adds the command's flags; returns the function that runs it (exit code).
  std::function<std::function<int()>(CLI::App& cmd, Options& options)> setup;
};

std::vector<Command>& commands();

struct RegisterCommand {
  explicit RegisterCommand(Command c) { commands().push_back(std::move(c)); }
};

}  // namespace oc::app
