// Reading the JSON files of a model folder for the families (config.json, generation_config.json,
// tokenizer_config.json, chat templates). No JSON library in this header.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/model.h"

namespace oc::models {

// A parsed JSON file, read by dotted paths ("text_config.head_dim"). A missing file is empty.
class JsonFile {
 public:
  JsonFile();
  // Throws oc::Error(ModelLoad) naming the file when it exists but is not valid JSON.
  explicit JsonFile(const std::filesystem::path& path);
  ~JsonFile();
  JsonFile(JsonFile&&) noexcept;
  JsonFile& operator=(JsonFile&&) noexcept;

  bool present() const;
  std::optional<double> number(std::string_view path) const;
  std::optional<int64_t> integer(std::string_view path) const;
  std::optional<bool> boolean(std::string_view path) const;
  std::optional<std::string> string(std::string_view path) const;
  // An integer or a list of integers.
  std::vector<int64_t> integers(std::string_view path) const;
  // A string or a list of strings.
  std::vector<std::string> strings(std::string_view path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// generation_config.json, with config.json's eos_token_id (top level or text_config) as fallback.
GenerationDefaults read_generation_defaults(const std::filesystem::path& dir);

// Special-token strings for the template context: tokenizer_config.json's bos/eos/pad/unk tokens
// (a string or {"content": ...}), else the tokenizer's.
TemplateDefaults read_template_defaults(const std::filesystem::path& dir, const tok::Tokenizer& tokenizer);

}  // namespace oc::models
