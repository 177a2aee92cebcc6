// The family registry. Each folder src/models/<family>/ defines
//   void oc::models::register_family_<family>();
// which calls register_family(); the build generates the list of those functions from the folder
// names (so static linking keeps them), and generic code never names a family or a model type.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/image.h"
#include "models/model.h"
#include "ort/runtime.h"

namespace oc::models {

// What a family looks at to decide whether it serves a folder.
struct FamilyProbe {
  std::filesystem::path dir;
  std::string model_type;          // config.json "model_type" ("" when absent)
  std::string text_model_type;     // config.json "text_config.model_type" ("" when absent)
  std::vector<std::string> files;  // every regular file under dir, relative, '/'-separated, sorted
  bool has(std::string_view relative_path) const;
  // Components present under onnx/ ("decoder_model_merged", "embed_tokens", ...).
  std::vector<std::string> components() const;
};

// Limits and caching of image and audio input (the option table's --max-image-pixels,
// --max-audio-seconds, --encoder-cache-mb).
struct MediaOptions {
  media::ImageLimits image;
  media::AudioLimits audio;                 // max_seconds: the longest clip a request may send (split into windows)
  size_t encoder_cache_bytes = 512u << 20;  // encoder outputs kept for reuse across requests; 0: off
};

struct LoadOptions {
  std::string id;                             // model id to report; default: the folder name
  std::string preset;                         // Q4_MIXED (default), QUANTIZED, FP16, FP32
  std::map<std::string, std::string> dtypes;  // per-component override: "decoder_model_merged" -> "q4f16"
  ort::SessionConfig session;
  bool load_all_modalities = false;  // load encoders at once instead of on first use
  MediaOptions media;
};

struct Family {
  std::string name;  // "gemma3n"
  // > 0 when the family can serve the folder; the highest score wins. 0: not this family.
  std::function<int(const FamilyProbe&)> match;
  std::function<std::unique_ptr<Model>(const FamilyProbe&, const LoadOptions&)> load;
};

void register_family(Family family);
// Every registered family (built-in families are registered on first call).
const std::vector<Family>& families();

// Reads config.json and lists the folder. Throws oc::Error(ModelLoad) when dir is not a folder.
FamilyProbe probe_dir(const std::filesystem::path& dir);
// The best-matching family, or nullptr.
const Family* find_family(const FamilyProbe& probe);
// probe_dir + find_family + load. Throws oc::Error(ModelLoad) naming the model_type when no
// family serves the folder.
std::unique_ptr<Model> load_model(const std::filesystem::path& dir, const LoadOptions& options = {});

}  // namespace oc::models
