#include "model_setup.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/sysinfo.h"
#include "hub/progress.h"
#include "hub/resolve.h"
#include "hub/select.h"
#include "models/family.h"
#include "ort/runtime.h"

namespace oc::app {

std::string no_model_message() {
  return "no model given: pass --model with a model folder or a hub repo id (or set ONNX_CHAT_MODEL), e.g. "
         "--model onnx-community/gemma-3n-E2B-it-ONNX; `make run` serves that one";
}

hub::ResolveOptions resolve_options(const Options& o) {
  hub::ResolveOptions ro;
  ro.preset = o.preset;
  ro.revision = o.revision;
  ro.modalities = hub::parse_modalities(o.modalities);
  ro.cache_dir = o.cache_dir;
  ro.verify = o.verify;
  ro.workers = o.download_workers;
  ro.retries = o.download_retries;
  ro.progress = hub::stderr_progress();
  return ro;
}

ort::SessionConfig session_config(const Options& o) {
  ort::SessionConfig s;
  s.provider = o.provider;
  s.device_id = o.device_id;
  s.intra_op_threads = o.threads;
  s.spin = o.spin;
  // The option row only lets the five names through.
  s.matmul_precision = ort::parse_matmul_precision(o.matmul_precision).value_or(ort::MatmulPrecision::Auto);
  return s;
}

models::MediaOptions media_options(const Options& o) {
  if (o.max_media_mb <= 0 || o.max_audio_seconds <= 0 || o.encoder_cache_mb < 0 || o.max_image_pixels == 0)
    throw Error(ErrorKind::InvalidRequest,
                "--max-media-mb, --max-audio-seconds and --max-image-pixels must be positive, --encoder-cache-mb "
                "zero or more");
  models::MediaOptions m;
  const auto bytes = static_cast<uint64_t>(o.max_media_mb * 1048576.0);
  m.image.max_pixels = o.max_image_pixels;
  m.image.max_bytes = bytes;
  m.audio.max_seconds = o.max_audio_seconds;
  m.audio.max_bytes = bytes;
  m.encoder_cache_bytes = static_cast<size_t>(o.encoder_cache_mb * 1048576.0);
  return m;
}

LoadedEngine load_engine(const Options& o, hub::ProgressFn progress) {
  if (o.model.empty()) throw Error(ErrorKind::InvalidRequest, no_model_message());
  hub::ResolveOptions ro = resolve_options(o);
  if (progress) ro.progress = std::move(progress);
  hub::ResolvedModel resolved = hub::resolve_model(o.model, ro);
  if (resolved.source != hub::ResolvedModel::Source::LocalFolder)
    log::info("model " + resolved.repo_id + "@" + resolved.revision + " (" + hub::source_name(resolved.source) +
              "): " + resolved.folder.string());

  models::LoadOptions lo;
  lo.preset = resolved.preset.empty() ? o.preset : resolved.preset;
  if (!resolved.repo_id.empty()) {
    // A snapshot folder is named by its commit: the model's id is the repo's name.
    auto slash = resolved.repo_id.rfind('/');
    lo.id = slash == std::string::npos ? resolved.repo_id : resolved.repo_id.substr(slash + 1);
  }
  lo.session = session_config(o);
  lo.media = media_options(o);
  auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<models::Model> model = models::load_model(resolved.folder, lo);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& info = model->info();
  log::info("loaded " + info.id + " (" + info.family + ", preset " + info.preset + ") in " + std::to_string(s) + " s");
  log::info("intra-op threads per session: " + std::to_string(ort::intra_op_threads(lo.session)) +
            (lo.session.spin ? ", spinning while a run lasts" : ", no spinning"));
  for (const auto& c : info.components)
    if (!c.note.empty()) log::warn(c.name + ": " + c.note);
  engine::EngineConfig cfg;
  cfg.max_queued = o.queue_size;
  cfg.max_running = o.parallel > 0 ? o.parallel : 1;
  cfg.max_context = o.context > 0 ? static_cast<size_t>(o.context) : 0;
  cfg.step_tokens = o.step_tokens;
  cfg.prefill_chunk = o.prefill_chunk;
  cfg.prefix_cache = !o.no_prefix_cache;
  cfg.request_timeout = std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, o.request_timeout) * 1000));
  cfg.kv_budget_bytes = o.kv_budget_mb >= 0 ? static_cast<size_t>(o.kv_budget_mb * 1048576.0) : available_memory() / 2;
  if (cfg.kv_budget_bytes > 0) log::info("KV cache budget " + human_bytes(cfg.kv_budget_bytes));
  return {std::make_shared<engine::Engine>(std::move(model), cfg), resolved.repo_id};
}

pipeline::MediaPolicy media_policy(const Options& o) {
  const models::MediaOptions m = media_options(o);
  pipeline::MediaPolicy p;
  p.image = m.image;
  p.audio = m.audio;
  return p;
}

pipeline::ContentPart media_from_file(const std::filesystem::path& path, models::Modality modality) {
  auto data = try_read_file(path);
  if (!data) throw Error(ErrorKind::InvalidRequest, "cannot read " + path.string());
  pipeline::ContentPart part;
  part.type = modality;
  part.source.kind = pipeline::MediaSource::Kind::Bytes;
  part.source.data = std::move(*data);
  part.source.format = path.has_extension() ? path.extension().string().substr(1) : std::string();
  return part;
}

Error about_file(const Error& e, const std::string& path) {
  return Error(e.kind(), path + ": " + e.what(), e.param(), e.code());
}

}  // namespace oc::app
