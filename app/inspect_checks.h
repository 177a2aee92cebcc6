// `onnx-chat inspect DIR --check`: loads the model and runs the checks the export's contract leaves
// open (shared/spec: "verify"): encoder rows per image and per 5 s clip against the processor's
// placeholder counts, the size of the logits, and whether a short greedy reply ends in an EOS id.
#pragma once

#include <string>

#include "options.h"

namespace oc::app {

// Prints the checks (text, or JSON with options.json); returns 0 when every check that ran passed.
int run_inspect_checks(const std::string& path, const Options& options);

}  // namespace oc::app
