#include "inspect_checks.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/engine.h"
#include "model_setup.h"
#include "models/family.h"
#include "pipeline/conversation.h"

namespace oc::app {
namespace {

using ordered_json = nlohmann::ordered_json;

struct Check {
  std::string name;
  std::string result;  // what was seen
  bool ok = true;
  bool ran = true;
};

// A 64x48 24-bit BMP (a gradient): a valid image without any image library.
std::string small_bmp() {
  const uint32_t w = 64, h = 48, row = w * 3, size = 54 + row * h;
  std::string b = "BM";
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) b += static_cast<char>((v >> (8 * i)) & 255);
  };
  auto u16 = [&](uint16_t v) {
    b += static_cast<char>(v & 255);
    b += static_cast<char>(v >> 8);
  };
  u32(size), u32(0), u32(54), u32(40), u32(w), u32(h), u16(1), u16(24), u32(0), u32(row * h);
  for (int i = 0; i < 4; ++i) u32(0);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      b += static_cast<char>(x * 4);
      b += static_cast<char>(y * 5);
      b += static_cast<char>(128);
    }
  return b;
}

tmpl::Value user_turn(const char* part_type, const char* text) {
  tmpl::Array parts;
  if (part_type) parts.push_back(tmpl::Object{{"type", part_type}});
  parts.push_back(tmpl::Object{{"type", "text"}, {"text", text}});
  return tmpl::Array{tmpl::Object{{"role", "user"}, {"content", std::move(parts)}}};
}

// Runs the encoder of one media input through the model's own processor and sequence: begin()
// checks the encoder's rows against the placeholder count.
Check encoder_rows(models::Model& model, models::Modality m, models::MediaInput input, const std::string& what) {
  Check c;
  c.name = what;
  if (!model.supports(m)) {
    c.ran = false;
    c.result = "skipped: the model takes no " + std::string(models::modality_name(m)) + " input";
    return c;
  }
  try {
    models::MediaInput list[] = {std::move(input)};
    const bool image = m == models::Modality::Image;
    auto prompt =
        model.process(pipeline::render_chat_prompt(model, user_turn(image ? "image" : "audio", "Describe.")), list);
    models::RunControl control;
    auto seq = model.new_sequence();
    const auto stats = seq->begin(prompt, control);
    size_t rows = 0;
    for (const auto& s : prompt.media) rows += s.length;
    c.result = std::to_string(rows) + " rows, as the processor's placeholders expect (" +
               std::to_string(static_cast<int>(image ? stats.image_ms : stats.audio_ms)) + " ms)";
  } catch (const std::exception& e) {
    c.ok = false;
    c.result = e.what();
  }
  return c;
}

}  // namespace

int run_inspect_checks(const std::string& path, const Options& options) {
  models::LoadOptions lo;
  lo.preset = options.preset;
  lo.session = session_config(options);
  lo.media.encoder_cache_bytes = 0;
  std::shared_ptr<models::Model> model = models::load_model(path, lo);
  std::vector<Check> checks;

  models::MediaInput img;
  img.modality = models::Modality::Image;
  img.data = small_bmp();
  checks.push_back(encoder_rows(*model, models::Modality::Image, img, "vision_encoder rows for one image"));

  models::MediaInput clip;
  clip.modality = models::Modality::Audio;
  clip.sample_rate = 16000;
  clip.samples.resize(5 * 16000);
  for (size_t i = 0; i < clip.samples.size(); ++i) clip.samples[i] = 0.3f * std::sin(2 * M_PI * 440.0 * i / 16000);
  checks.push_back(encoder_rows(*model, models::Modality::Audio, clip, "audio_encoder rows for a 5 s clip"));

  // The logits of a short prompt: their size and largest magnitude (a soft-capped head stays
  // below its cap, e.g. 30 for Gemma).
  const std::string text = pipeline::render_chat_prompt(*model, user_turn(nullptr, "Hello!"));
  {
    Check c;
    c.name = "logits of a short prompt";
    models::RunControl control;
    auto prompt = model->process(text);
    auto seq = model->new_sequence();
    seq->begin(prompt, control);
    auto row = seq->forward(prompt.ids, control);
    float mx = 0;
    bool finite = true;
    for (float v : row) {
      finite &= std::isfinite(v);
      mx = std::max(mx, std::fabs(v));
    }
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%zu values, max |logit| %.3f%s", row.size(), mx, finite ? "" : ", NOT FINITE");
    c.result = buf;
    c.ok = finite && row.size() == model->logits_size();
    checks.push_back(c);
  }

  // A greedy reply: does it end with one of the EOS ids?
  {
    Check c;
    c.name = "greedy reply to \"Hello!\" (64 tokens at most)";
    engine::Engine eng(model, {.max_queued = 1, .max_running = 1});
    engine::GenerationRequest req;
    req.id = "inspect";
    req.prompt = model->process(text);
    req.max_tokens = 64;
    req.sampling.temperature = 0;
    auto h = eng.submit(std::move(req));
    std::vector<int32_t> ids;
    std::string out;
    engine::FinishReason finish = engine::FinishReason::Stop;
    while (auto e = h.next(std::chrono::minutes(10))) {
      if (e->kind == engine::Event::Kind::Delta) {
        out += e->text;
        for (const auto& t : e->tokens) ids.push_back(t.id);
      } else if (e->kind == engine::Event::Kind::Finish) {
        finish = e->finish_reason;
        for (const auto& t : e->tokens) ids.push_back(t.id);
      } else if (e->kind == engine::Event::Kind::Error) {
        throw Error(e->error_kind, e->message);
      }
    }
    const auto& eos = model->generation_defaults().eos_ids;
    const bool ended = finish == engine::FinishReason::Stop && !ids.empty() &&
                       std::find(eos.begin(), eos.end(), ids.back()) != eos.end();
    c.result = std::to_string(ids.size()) + " tokens, " +
               (ended ? "ended by EOS id " + std::to_string(ids.back()) : std::string("no EOS within the limit")) +
               ": " + ordered_json(out).dump();
    c.ok = ended;
    checks.push_back(c);
    eng.shutdown(false);
  }

  bool all_ok = true;
  for (const auto& c : checks) all_ok &= c.ok;
  if (options.json) {
    ordered_json arr = ordered_json::array();
    for (const auto& c : checks) arr.push_back({{"check", c.name}, {"ran", c.ran}, {"ok", c.ok}, {"result", c.result}});
    std::cout << ordered_json{{"model", model->id()}, {"checks", arr}}.dump(2) << "\n";
  } else {
    std::printf("checks on %s (preset %s):\n", model->id().c_str(), model->info().preset.c_str());
    for (const auto& c : checks)
      std::printf("  [%s] %s: %s\n", !c.ran ? "skip" : c.ok ? " ok " : "FAIL", c.name.c_str(), c.result.c_str());
  }
  return all_ok ? 0 : 1;
}

}  // namespace oc::app
