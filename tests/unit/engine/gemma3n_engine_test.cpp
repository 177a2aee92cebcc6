// The engine on a real (fixture) Gemma-3n model: seeded sampling is reproducible, n > 1 choices
// share one prefill, chunked prefill gives the same greedy tokens. Skipped without
// $ONNX_CHAT_FIXTURES.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "engine/engine.h"
#include "models/family.h"

using namespace oc::engine;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<oc::models::Model> tiny() {
  const char* root = std::getenv("ONNX_CHAT_FIXTURES");
  if (!root) return nullptr;
  std::filesystem::path dir = std::filesystem::path(root) / "gemma3n-tiny";
  if (!std::filesystem::exists(dir / "config.json")) return nullptr;
  return oc::models::load_model(dir);
}

std::vector<std::vector<TokenId>> run(Engine& e, GenerationRequest r) {
  std::vector<std::vector<TokenId>> ids(static_cast<size_t>(r.n));
  auto h = e.submit(std::move(r));
  while (auto ev = h.next(30s)) {
    if (ev->kind == Event::Kind::Error) ADD_FAILURE() << ev->message;
    if (ev->kind == Event::Kind::Delta || ev->kind == Event::Kind::Finish)
      for (auto& t : ev->tokens) ids[ev->index].push_back(t.id);
  }
  return ids;
}

}  // namespace

TEST(EngineOnGemma3n, SeededSamplingAndChoices) {
  auto model = tiny();
  if (!model) GTEST_SKIP() << "set ONNX_CHAT_FIXTURES";
  Engine engine(model, {.max_queued = 4, .max_running = 2, .prefill_chunk = 4});
  GenerationRequest r;
  r.prompt = model->process("<bos><start_of_turn>user\nWrite a long story.<end_of_turn>\n<start_of_turn>model\n");
  r.max_tokens = 12;
  r.n = 3;
  r.sampling.temperature = 1.0f;
  r.sampling.seed = 7;
  auto a = run(engine, r);
  auto b = run(engine, r);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_FALSE(a[0].empty());

  // Greedy: chunked prefill (4) equals a single prefill run.
  Engine one(model, {.max_queued = 4, .max_running = 1, .prefill_chunk = 4096});
  GenerationRequest g = r;
  g.n = 1;
  g.sampling = {};
  g.sampling.temperature = 0;
  EXPECT_EQ(run(engine, g), run(one, g));
}
