#include "models/variants.h"

#include <algorithm>

#include "common/strings.h"

namespace oc::models {

const std::vector<Dtype>& dtypes() {
  // Longest suffixes first so that "_q4f16" is not read as "_q4".
  static const std::vector<Dtype> list = {
      {"q4f16", "_q4f16"}, {"quantized", "_quantized"},
      {"uint8", "_uint8"}, {"int8", "_int8"},
      {"bnb4", "_bnb4"},   {"fp16", "_fp16"},
      {"q4", "_q4"},       {"q2", "_q2"},
      {"q1", "_q1"},       {"fp32", ""},
  };
  return list;
}

std::optional<Dtype> dtype_by_name(std::string_view name) {
  std::string n = to_lower(name);
  if (n == "q8") n = "quantized";
  for (const auto& d : dtypes())
    if (d.name == n) return d;
  return std::nullopt;
}

std::optional<ComponentFile> parse_component_file(std::string_view file_name) {
  auto slash = file_name.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  if (!ends_with(base, ".onnx")) return std::nullopt;
  base.remove_suffix(5);
  for (const auto& d : dtypes()) {
    if (d.suffix.empty()) continue;
    if (ends_with(base, d.suffix) && base.size() > d.suffix.size())
      return ComponentFile{std::string(base.substr(0, base.size() - d.suffix.size())), std::string(d.name)};
  }
  if (base.empty()) return std::nullopt;
  return ComponentFile{std::string(base), "fp32"};
}

std::vector<std::string> external_data_files(std::string_view onnx_path, const std::vector<std::string>& listing) {
  std::vector<std::string> out;
  const std::string data = std::string(onnx_path) + "_data";
  const std::string dot_data = std::string(onnx_path) + ".data";
  for (const auto& f : listing) {
    if (f == data || f == dot_data) {
      out.push_back(f);
      continue;
    }
    if (starts_with(f, data + "_")) {
      std::string_view rest = std::string_view(f).substr(data.size() + 1);
      if (!rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
        out.push_back(f);
    }
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return out;
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> list = {
      {"Q4_MIXED", "quantized", "q4", "fp16", "quantized"},
      {"QUANTIZED", "quantized", "quantized", "quantized", "quantized"},
      {"FP16", "fp16", "fp16", "fp16", "fp16"},
      {"FP32", "fp32", "fp32", "fp32", "fp32"},
  };
  return list;
}

const Preset* preset_by_name(std::string_view name) {
  for (const auto& p : presets())
    if (iequals(p.name, name)) return &p;
  return nullptr;
}

const Preset& default_preset() { return presets().front(); }

std::string component_role(std::string_view component) {
  if (component == "embed_tokens") return "embed";
  if (component == "decoder_model_merged" || component == "model" || component == "decoder_model") return "decoder";
  if (component == "vision_encoder") return "vision";
  if (component == "audio_encoder") return "audio";
  return std::string(component);
}

std::optional<std::string> choose_dtype(std::string_view wanted, const std::vector<std::string>& present) {
  auto has = [&](std::string_view d) { return std::find(present.begin(), present.end(), d) != present.end(); };
  std::string w = to_lower(wanted);
  if (w == "q8") w = "quantized";
  if (has(w)) return w;
  // Nearest first: same precision family, then the more faithful, then anything.
  static const std::vector<std::pair<std::string, std::vector<std::string>>> order = {
      {"q4", {"q4f16", "bnb4", "quantized", "int8", "uint8", "fp16", "fp32"}},
      {"q4f16", {"q4", "bnb4", "fp16", "quantized", "int8", "uint8", "fp32"}},
      {"bnb4", {"q4", "q4f16", "quantized", "int8", "uint8", "fp16", "fp32"}},
      {"quantized", {"int8", "uint8", "q4", "q4f16", "fp16", "fp32"}},
      {"int8", {"quantized", "uint8", "q4", "fp16", "fp32"}},
      {"uint8", {"quantized", "int8", "q4", "fp16", "fp32"}},
      {"fp16", {"fp32", "q4f16", "quantized", "q4", "int8", "uint8"}},
      {"fp32", {"fp16", "quantized", "q4", "q4f16", "int8", "uint8"}},
  };
  for (const auto& [key, fallbacks] : order) {
    if (key != w) continue;
    for (const auto& f : fallbacks)
      if (has(f)) return f;
  }
  if (!present.empty()) return present.front();
  return std::nullopt;
}

}  // namespace oc::models
