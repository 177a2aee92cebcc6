#include "model_setup.h"

#include <chrono>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "models/family.h"

namespace oc::app {

std::shared_ptr<engine::Engine> load_engine(const Options& o) {
  if (o.model.empty())
    throw Error(ErrorKind::InvalidRequest, "no model given: pass --model FOLDER (or ONNX_CHAT_MODEL)");
  std::filesystem::path dir(o.model);
  if (!std::filesystem::is_directory(dir)) throw Error(ErrorKind::ModelLoad, "model folder not found: " + o.model);
  models::LoadOptions lo;
  lo.preset = o.preset;
  lo.session.provider = o.provider;
  lo.session.device_id = o.device_id;
  lo.session.intra_op_threads = o.threads;
  auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<models::Model> model = models::load_model(dir, lo);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& info = model->info();
  log::info("loaded " + info.id + " (" + info.family + ", preset " + info.preset + ") in " + std::to_string(s) + " s");
  for (const auto& c : info.components)
    if (!c.note.empty()) log::warn(c.name + ": " + c.note);
  engine::EngineConfig cfg;
  cfg.max_queued = o.queue_size;
  cfg.max_running = o.parallel > 0 ? o.parallel : 1;
  cfg.max_context = o.context > 0 ? static_cast<size_t>(o.context) : 0;
  return std::make_shared<engine::Engine>(std::move(model), cfg);
}

}  // namespace oc::app
