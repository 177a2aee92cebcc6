#include "common/error.h"
#include "models/family.h"

namespace oc::models {

std::unique_ptr<Model> load_gemma3n(const FamilyProbe& probe, const LoadOptions&) {
  throw Error(ErrorKind::ModelLoad, "gemma3n loading is not implemented yet: " + probe.dir.string());
}

}  // namespace oc::models
