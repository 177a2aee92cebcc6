// Which files of a repo (or of a folder) a preset needs: per component the preset's dtype (with the
// fallback of models::choose_dtype), the .onnx plus its external data files, and the configs,
// tokenizer and template files. Pure functions over a listing of relative paths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "models/variants.h"

namespace oc::hub {

// The modalities a chat needs: "text" always; "image" loads the vision encoder, "audio" the audio one.
// Parses "text,image" / "all"; throws oc::Error(InvalidRequest) for an unknown name.
std::vector<std::string> parse_modalities(std::string_view csv);
// The modality a component role serves: vision -> image, audio -> audio, anything else -> text.
std::string role_modality(std::string_view role);
// The preset's dtype for a role (embed, decoder, vision, audio; other roles take the decoder's).
std::string preset_dtype(const models::Preset& preset, std::string_view role);

struct SelectedComponent {
  std::string component;          // "decoder_model_merged"
  std::string role;               // "decoder"
  std::string wanted;             // the preset's dtype for the role
  std::string dtype;              // the dtype chosen among those present
  std::string onnx;               // "onnx/decoder_model_merged_q4.onnx"
  std::vector<std::string> data;  // its external data files
};

struct Selection {
  std::vector<SelectedComponent> components;
  std::vector<std::string> files;               // everything to fetch, sorted
  std::vector<std::string> missing_modalities;  // asked for, but the repo has no encoder for them
};

Selection select_files(const std::vector<std::string>& listing, const models::Preset& preset,
                       const std::vector<std::string>& modalities);

// True when every component serving `modality` is present in exactly the preset's dtype (and at
// least one such component exists): what `onnx-chat list` reports as "preset present".
bool preset_complete(const std::vector<std::string>& listing, const models::Preset& preset, std::string_view modality);

// Root-level configuration, tokenizer and template files that every preset takes.
bool is_config_file(std::string_view path);

}  // namespace oc::hub
