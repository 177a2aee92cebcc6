#include "models/model_files.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/strings.h"

namespace oc::models {

struct JsonFile::Impl {
  nlohmann::json j;
  bool present = false;
  const nlohmann::json* find(std::string_view path) const {
    const nlohmann::json* cur = &j;
    for (const auto& part : split(path, '.')) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
    return cur->is_null() ? nullptr : cur;
  }
};

JsonFile::JsonFile() : impl_(std::make_unique<Impl>()) {}
JsonFile::JsonFile(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  auto text = try_read_file(path);
  if (!text) return;
  try {
    impl_->j = nlohmann::json::parse(*text);
    impl_->present = true;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::ModelLoad, path.string() + ": invalid JSON: " + e.what());
  }
}
JsonFile::~JsonFile() = default;
JsonFile::JsonFile(JsonFile&&) noexcept = default;
JsonFile& JsonFile::operator=(JsonFile&&) noexcept = default;

bool JsonFile::present() const { return impl_->present; }

std::optional<double> JsonFile::number(std::string_view path) const {
  auto* v = impl_->find(path);
  if (v && v->is_number()) return v->get<double>();
  return std::nullopt;
}

std::optional<int64_t> JsonFile::integer(std::string_view path) const {
  auto* v = impl_->find(path);
  if (v && v->is_number_integer()) return v->get<int64_t>();
  return std::nullopt;
}

std::optional<bool> JsonFile::boolean(std::string_view path) const {
  auto* v = impl_->find(path);
  if (v && v->is_boolean()) return v->get<bool>();
  return std::nullopt;
}

std::optional<std::string> JsonFile::string(std::string_view path) const {
  auto* v = impl_->find(path);
  if (v && v->is_string()) return v->get<std::string>();
  return std::nullopt;
}

std::vector<int64_t> JsonFile::integers(std::string_view path) const {
  std::vector<int64_t> out;
  auto* v = impl_->find(path);
  if (!v) return out;
  if (v->is_number_integer()) out.push_back(v->get<int64_t>());
  if (v->is_array())
    for (const auto& x : *v)
      if (x.is_number_integer()) out.push_back(x.get<int64_t>());
  return out;
}

std::vector<std::string> JsonFile::strings(std::string_view path) const {
  std::vector<std::string> out;
  auto* v = impl_->find(path);
  if (!v) return out;
  if (v->is_string()) out.push_back(v->get<std::string>());
  if (v->is_array())
    for (const auto& x : *v)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

GenerationDefaults read_generation_defaults(const std::filesystem::path& dir) {
  GenerationDefaults d;
  JsonFile gen(dir / "generation_config.json");
  JsonFile cfg(dir / "config.json");
  auto eos = gen.integers("eos_token_id");
  if (eos.empty()) eos = cfg.integers("eos_token_id");
  if (eos.empty()) eos = cfg.integers("text_config.eos_token_id");
  for (auto id : eos) d.eos_ids.push_back(static_cast<TokenId>(id));
  d.do_sample = gen.boolean("do_sample");
  if (auto v = gen.number("temperature")) d.temperature = static_cast<float>(*v);
  if (auto v = gen.integer("top_k")) d.top_k = static_cast<int>(*v);
  if (auto v = gen.number("top_p")) d.top_p = static_cast<float>(*v);
  if (auto v = gen.number("min_p")) d.min_p = static_cast<float>(*v);
  if (auto v = gen.number("repetition_penalty")) d.repetition_penalty = static_cast<float>(*v);
  if (auto v = gen.integer("max_new_tokens")) d.max_new_tokens = static_cast<int>(*v);
  return d;
}

TemplateDefaults read_template_defaults(const std::filesystem::path& dir, const tok::Tokenizer& tokenizer) {
  TemplateDefaults t;
  const auto& sp = tokenizer.special_tokens();
  t.bos_token = sp.bos_text;
  t.eos_token = sp.eos_text;
  t.pad_token = sp.pad_text;
  t.unk_token = sp.unk_text;
  JsonFile cfg(dir / "tokenizer_config.json");
  auto read = [&](const char* key, std::string& out) {
    if (auto s = cfg.string(key))
      out = *s;
    else if (auto c = cfg.string(std::string(key) + ".content"))
      out = *c;
  };
  read("bos_token", t.bos_token);
  read("eos_token", t.eos_token);
  read("pad_token", t.pad_token);
  read("unk_token", t.unk_token);
  return t;
}

}  // namespace oc::models
