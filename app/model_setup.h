// Loading a model and starting its engine from the options (shared by serve and run).
#pragma once

#include <memory>

#include "engine/engine.h"
#include "options.h"

namespace oc::app {

// --model as a local folder (hub repo ids: the hub layer resolves them to a folder first).
// Throws oc::Error.
std::shared_ptr<engine::Engine> load_engine(const Options& options);

}  // namespace oc::app
