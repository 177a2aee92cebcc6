// `onnx-chat generate --model DIR (--messages FILE | --prompt TEXT)`: one generation without a
// server, through the same engine. Prints the text, or with --json the prompt and generated ids
// (used by the reference parity tests).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/template_json.h"
#include "commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "engine/engine.h"
#include "model_setup.h"
#include "models/family.h"
#include "pipeline/events.h"
#include "pipeline/pipeline.h"
#include "template/model_templates.h"

namespace oc::app {
namespace {

// The media a messages file names: {"messages": [...], "images": [PATH...], "audio": [PATH...]}
// (paths relative to the file), in the order of the messages' image and audio parts; each located
// as its entry of "images" or "audio".
struct FileMedia {
  std::vector<pipeline::ContentPart> parts;
  std::vector<Location> locations;
  std::vector<std::string> paths;
};

FileMedia read_media(const std::string& file) {
  FileMedia media;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(file));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::InvalidRequest, "messages file " + file + ": invalid JSON: " + e.what());
  }
  if (!doc.is_object()) return media;
  const auto base = std::filesystem::absolute(file).parent_path();
  for (const auto& [key, modality] :
       {std::pair{"images", models::Modality::Image}, {"audio", models::Modality::Audio}}) {
    if (!doc.contains(key)) continue;
    int n = 0;
    for (const auto& p : doc[key]) {
      std::filesystem::path path = p.get<std::string>();
      if (path.is_relative()) path = base / path;
      media.parts.push_back(media_from_file(path, modality));
      media.paths.push_back(path.string());
      media.locations.push_back(Location{-1, n++, key});
    }
  }
  // Images and audio are matched to their placeholders per modality, so their relative order is free.
  return media;
}

std::string render_messages(const models::Model& model, const std::string& file) {
  tmpl::Value input;
  try {
    input = tmpl::value_from_json_text(read_file(file));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::InvalidRequest, "messages file " + file + ": invalid JSON: " + e.what());
  }
  tmpl::Value messages = input, tools = nullptr;
  if (input.is_object()) {
    messages = input.get("messages");
    if (const tmpl::Value* t = input.find("tools")) tools = *t;
  }
  if (!messages.is_array())
    throw Error(ErrorKind::InvalidRequest, file + ": expected a messages array (or {\"messages\": [...]})");
  const tmpl::ChatTemplate* t = model.chat_template(!tools.is_null());
  if (!t) throw Error(ErrorKind::InvalidRequest, model.id() + " has no chat template: use --prompt");
  try {
    return t->render(tmpl::chat_context(model.templates(), messages, true, tools));
  } catch (const tmpl::TemplateError& e) {
    throw Error(ErrorKind::InvalidRequest, std::string("chat template: ") + e.what());
  }
}

int run_generate(Options& o) {
  if (o.model.empty()) throw Error(ErrorKind::InvalidRequest, "--model is required");
  if (o.messages_file.empty() == o.prompt.empty())
    throw Error(ErrorKind::InvalidRequest, "give exactly one of --messages FILE and --prompt TEXT");
  models::LoadOptions lo;
  lo.preset = o.preset;
  lo.session = session_config(o);
  std::shared_ptr<models::Model> model = models::load_model(o.model, lo);
  const std::string text = o.prompt.empty() ? render_messages(*model, o.messages_file) : o.prompt;
  const pipeline::Pipeline pipe(
      std::make_shared<engine::Engine>(model, engine::EngineConfig{.max_queued = 1, .max_running = 1}));
  const FileMedia media = o.messages_file.empty() ? FileMedia{} : read_media(o.messages_file);
  std::vector<pipeline::LocatedPart> located;
  for (size_t i = 0; i < media.parts.size(); ++i) located.push_back({&media.parts[i], media.locations[i]});
  pipeline::Prepared prepared;
  try {
    prepared = pipe.rendered(text, located);
  } catch (const Error& e) {
    for (size_t i = 0; i < media.parts.size(); ++i)
      if (!e.location().empty() && media.locations[i] == e.location()) throw about_file(e, media.paths[i]);
    throw;
  }
  engine::GenerationRequest req;
  req.id = "generate";
  req.max_tokens = o.max_tokens;
  req.sampling.temperature = static_cast<float>(o.temperature);
  if (o.seed >= 0) req.sampling.seed = static_cast<uint64_t>(o.seed);
  const std::vector<int32_t> prompt_ids = prepared.prompt.ids;
  auto handle = pipe.submit(std::move(prepared), std::move(req));
  std::vector<int32_t> ids;
  std::string out;
  std::string finish = "stop";
  pipeline::EventHandler events;
  events.delta = [&](engine::Event& e) {
    for (const auto& t : e.tokens) ids.push_back(t.id);
    out += e.text;
    if (!o.json) {
      std::cout << e.text;
      std::cout.flush();
    }
    return true;
  };
  events.finish = [&](engine::Event& e) {
    for (const auto& t : e.tokens) ids.push_back(t.id);
    finish = engine::finish_reason_name(e.finish_reason);
    return true;
  };
  const engine::Event done = *pipeline::read_events(handle, events);
  if (!o.json) {
    std::cout << "\n";
    return 0;
  }
  nlohmann::ordered_json j;
  j["model"] = model->id();
  j["prompt"] = text;
  j["prompt_ids"] = prompt_ids;
  j["ids"] = ids;
  j["text"] = out;
  j["finish_reason"] = finish;
  j["usage"] = {{"prompt_tokens", done.usage.prompt_tokens},
                {"completion_tokens", done.usage.completion_tokens},
                {"image_tokens", done.usage.image_tokens},
                {"audio_tokens", done.usage.audio_tokens}};
  j["timings"] = {{"prompt_ms", done.timings.prompt_ms},
                  {"encode_image_ms", done.timings.encode_image_ms},
                  {"encode_audio_ms", done.timings.encode_audio_ms},
                  {"media_encoded", done.timings.media_encoded},
                  {"decode_tokens_per_s", done.timings.decode_tokens_per_s}};
  std::cout << j.dump() << "\n";
  return 0;
}

const RegisterCommand reg{{"generate", "generate from one prompt without a server (greedy by default)",
                           [](CLI::App& cmd, Options& o) -> std::function<int()> {
                             add_options(
                                 cmd, o,
                                 {"model", "preset", "provider", "device-id", "threads", "spin", "matmul-precision",
                                  "messages", "prompt", "max-tokens", "temperature", "seed", "json", "log-level"});
                             return [&o] { return run_generate(o); };
                           }}};

}  // namespace
}  // namespace oc::app
