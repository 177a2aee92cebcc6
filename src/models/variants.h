// ONNX component files and their quantized variants: file-name suffixes, presets, and the choice of
// one variant per component. Pure functions over file names, shared by local discovery and the hub.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oc::models {

// A dtype of an exported component and its file-name suffix: fp32 "", fp16 "_fp16", q8 "_quantized",
// int8 "_int8", uint8 "_uint8", q4 "_q4", q4f16 "_q4f16", bnb4 "_bnb4", q2/q1 (newer exports).
struct Dtype {
  std::string_view name;
  std::string_view suffix;
};
const std::vector<Dtype>& dtypes();
std::optional<Dtype> dtype_by_name(std::string_view name);

// "onnx/decoder_model_merged_q4.onnx" -> {component "decoder_model_merged", dtype "q4"}; nullopt
// for a name that is not a component file.
struct ComponentFile {
  std::string component;
  std::string dtype;
};
std::optional<ComponentFile> parse_component_file(std::string_view file_name);

// The files that make up one variant besides the .onnx: external data "<name>.onnx_data",
// "<name>.onnx_data_1", ... (and "<name>.onnx.data" of older exports), matched from a listing.
std::vector<std::string> external_data_files(std::string_view onnx_path, const std::vector<std::string>& listing);

// Presets choose a dtype per component role; missing variants fall back in preference order.
struct Preset {
  std::string name;                           // "Q4_MIXED"
  std::string embed, decoder, vision, audio;  // dtype names
};
const std::vector<Preset>& presets();
const Preset* preset_by_name(std::string_view name);  // case-insensitive
const Preset& default_preset();

// Component name -> role: "embed_tokens" -> "embed", "decoder_model_merged"/"model" -> "decoder",
// "vision_encoder" -> "vision", "audio_encoder" -> "audio"; others keep their own name.
std::string component_role(std::string_view component);

// Picks the variant to load among those present: the wanted dtype, else the nearest one
// (by a fixed fallback order per wanted dtype). nullopt when none is present.
std::optional<std::string> choose_dtype(std::string_view wanted, const std::vector<std::string>& present);

}  // namespace oc::models
