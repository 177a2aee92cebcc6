#include "models/model.h"

namespace oc::models {

const char* modality_name(Modality m) {
  switch (m) {
    case Modality::Text:
      return "text";
    case Modality::Image:
      return "image";
    case Modality::Audio:
      return "audio";
  }
  return "unknown";
}

size_t Prompt::tokens_of(Modality m) const {
  size_t n = 0;
  for (const auto& s : media)
    if (s.modality == m) n += s.length;
  return n;
}

}  // namespace oc::models
