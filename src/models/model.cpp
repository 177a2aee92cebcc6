#include "models/model.h"

#include "common/error.h"
#include "common/strings.h"
#include "models/family.h"
#include "models/model_files.h"
#include "models/repo.h"
#include "models/variants.h"
#include "ort/matmul_precision.h"
#include "ort/onnx_file.h"

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

const tmpl::ChatTemplate* Model::chat_template(bool has_tools, std::string_view name) const {
  auto find = [&](std::string_view n) -> const tmpl::ChatTemplate* {
    for (const auto& [k, t] : chat_templates_)
      if (k == n) return t.get();
    return nullptr;
  };
  if (!name.empty()) return find(name);
  if (has_tools)
    if (auto* t = find("tool_use")) return t;
  if (auto* t = find("default")) return t;
  return chat_templates_.size() == 1 ? chat_templates_.front().second.get() : nullptr;
}

void Model::parse_templates() {
  chat_templates_.clear();
  auto parse = [&](const std::string& name, const std::string& source) {
    try {
      chat_templates_.emplace_back(name, std::make_shared<const tmpl::ChatTemplate>(source));
    } catch (const tmpl::TemplateError& e) {
      throw Error(ErrorKind::ModelLoad, info_.dir.string() + ": chat template '" + name + "' (" + templates_.origin +
                                            ") does not parse: " + e.what());
    }
  };
  if (!templates_.single.empty()) parse("default", templates_.single);
  for (const auto& [name, source] : templates_.named) parse(name, source);
}

void Model::load_common(const FamilyProbe& probe, const LoadOptions& options, const std::string& family,
                        size_t context_length) {
  const auto& dir = probe.dir;
  info_.id = options.id.empty() ? dir.filename().string() : options.id;
  if (info_.id.empty()) info_.id = dir.parent_path().filename().string();
  info_.family = family;
  info_.model_type = probe.model_type;
  info_.preset = options.preset.empty() ? default_preset().name : options.preset;
  info_.matmul_precision = ort::matmul_precision_name(options.session.matmul_precision);
  info_.provider = options.session.provider;
  info_.dir = dir;
  info_.context_length = context_length;
  tokenizer_ = tok::Tokenizer::from_dir(dir);
  templates_ = tmpl::load_model_templates(dir);
  parse_templates();
  template_defaults_ = read_template_defaults(dir, *tokenizer_);
  generation_defaults_ = read_generation_defaults(dir);
  if (generation_defaults_.eos_ids.empty() && tokenizer_->special_tokens().eos)
    generation_defaults_.eos_ids.push_back(*tokenizer_->special_tokens().eos);
}

void Model::add_component(const std::string& name, const Variant& variant, bool loaded,
                          const std::vector<std::string>& notes) {
  LoadedComponent c;
  c.name = name;
  c.dtype = variant.dtype;
  c.path = variant.onnx;
  c.bytes = variant.bytes;
  c.loaded = loaded;
  // What the session makes of the graph: the same plan ort::Session follows (a weight-free read;
  // an unreadable graph of a component loaded later fails when its session is created).
  const auto precision = ort::parse_matmul_precision(info_.matmul_precision).value_or(ort::MatmulPrecision::Exact);
  try {
    c.matmul_precision =
        ort::plan_matmul_precision(ort::read_onnx_file(variant.onnx), precision, info_.provider).effective;
  } catch (const Error&) {
  }
  for (const auto& note : notes)
    if (starts_with(note, name + ":")) c.note = note;
  info_.components.push_back(std::move(c));
}

std::vector<EncodeStats> Model::begin_all(std::span<Sequence* const> seqs, std::span<const Prompt* const> prompts,
                                          RunControl& control) {
  std::vector<EncodeStats> out;
  for (size_t i = 0; i < seqs.size(); ++i) out.push_back(seqs[i]->begin(*prompts[i], control));
  return out;
}

}  // namespace oc::models
