#include "engine/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fake_model.h"

using namespace oc::engine;
using namespace std::chrono_literals;
using oc::test::fake_id;
using oc::test::FakeModel;

namespace {

struct Collected {
  std::vector<std::string> text;  // per choice
  std::vector<std::vector<TokenId>> ids;
  std::vector<FinishReason> reasons;
  std::vector<std::string> stop_strings;
  Usage usage;
  bool done = false;
  bool error = false;
  oc::ErrorKind error_kind = oc::ErrorKind::Internal;
};

Collected collect(RequestHandle& h, int n = 1, std::chrono::milliseconds timeout = 10s) {
  Collected c;
  c.text.resize(n);
  c.ids.resize(n);
  c.reasons.resize(n, FinishReason::Stop);
  c.stop_strings.resize(n);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto e = h.next(100ms);
    if (!e) continue;
    if (e->kind == Event::Kind::Delta) {
      c.text[e->index] += e->text;
      for (auto& t : e->tokens) c.ids[e->index].push_back(t.id);
    } else if (e->kind == Event::Kind::Finish) {
      c.reasons[e->index] = e->finish_reason;
      c.stop_strings[e->index] = e->stop_string;
      for (auto& t : e->tokens) c.ids[e->index].push_back(t.id);
    } else if (e->kind == Event::Kind::Done) {
      c.usage = e->usage;
      c.done = true;
      break;
    } else {
      c.error = true;
      c.error_kind = e->error_kind;
      break;
    }
  }
  return c;
}

GenerationRequest request(std::vector<TokenId> prompt, int max_tokens) {
  GenerationRequest r;
  r.id = "test";
  r.prompt.ids = std::move(prompt);
  r.max_tokens = max_tokens;
  return r;
}

std::vector<TokenId> ids(std::initializer_list<const char*> pieces) {
  std::vector<TokenId> out;
  for (auto p : pieces) out.push_back(fake_id(p));
  return out;
}

}  // namespace

TEST(Engine, GreedyFollowsTheScriptAndStopsAtLength) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a", "b", "c"});
  Engine engine(model, {.max_queued = 4, .max_running = 1, .prefill_chunk = 2});
  auto h = engine.submit(request(ids({"<bos>", "x", "y", "z", "w"}), 5));
  auto c = collect(h);
  ASSERT_TRUE(c.done);
  EXPECT_EQ(c.text[0], "abcab");
  EXPECT_EQ(c.reasons[0], FinishReason::Length);
  EXPECT_EQ(c.usage.prompt_tokens, 5);
  EXPECT_EQ(c.usage.completion_tokens, 5);
  EXPECT_TRUE(h.finished());
  EXPECT_FALSE(h.next(10ms).has_value());
  // 5 prompt tokens in chunks of 2 = 3 runs, then 4 decode runs (the 5th token is not fed).
  EXPECT_EQ(model->behaviour.forwards.load(), 3 + 4);
}

TEST(Engine, EosEndsWithStopAndIsNotInTheText) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"h", "i", "<eos>"});
  Engine engine(model);
  auto h = engine.submit(request(ids({"<bos>", "q"}), 50));
  auto c = collect(h);
  EXPECT_EQ(c.text[0], "hi");
  EXPECT_EQ(c.reasons[0], FinishReason::Stop);
  EXPECT_EQ(c.ids[0], ids({"h", "i", "<eos>"}));
  EXPECT_EQ(c.usage.completion_tokens, 3);
}

TEST(Engine, StopStringAcrossTokensIsNotLeaked) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"Hel", "lo", " Wor", "ld", "a"});
  Engine engine(model);
  auto r = request(ids({"<bos>", "q"}), 50);
  r.stop = {"lo Wo"};
  auto h = engine.submit(std::move(r));
  auto c = collect(h);
  EXPECT_EQ(c.text[0], "Hel");
  EXPECT_EQ(c.reasons[0], FinishReason::Stop);
  EXPECT_EQ(c.stop_strings[0], "lo Wo");
}

TEST(Engine, HeldTextIsReleasedAtTheEnd) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a", "l"});
  Engine engine(model);
  auto r = request(ids({"<bos>"}), 4);
  r.stop = {"lx"};
  auto h = engine.submit(std::move(r));
  auto c = collect(h);
  EXPECT_EQ(c.text[0], "alal");
  EXPECT_EQ(c.reasons[0], FinishReason::Length);
}

TEST(Engine, SeveralChoicesWithASeedAreReproducible) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a"});  // logits: 10 at 'a', 0 elsewhere; temperature 5 spreads it
  Engine engine(model);
  auto run = [&] {
    auto r = request(ids({"<bos>", "q"}), 8);
    r.n = 3;
    r.sampling.temperature = 5.0f;
    r.sampling.seed = 1234;
    auto h = engine.submit(std::move(r));
    return collect(h, 3);
  };
  auto a = run();
  auto b = run();
  ASSERT_TRUE(a.done);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.usage.completion_tokens, 24);
  EXPECT_NE(a.ids[0], a.ids[1]);
}

TEST(Engine, LogprobsArrivePerToken) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a"});
  Engine engine(model);
  auto r = request(ids({"<bos>"}), 2);
  r.logprobs = true;
  r.top_logprobs = 2;
  auto h = engine.submit(std::move(r));
  int seen = 0;
  while (auto e = h.next(2s)) {
    if (e->kind != Event::Kind::Delta) continue;
    for (auto& t : e->tokens) {
      EXPECT_EQ(t.text, "a");
      EXPECT_LT(t.logprob, 0.0f);
      EXPECT_GT(t.logprob, -0.01f);
      ASSERT_EQ(t.top.size(), 2u);
      EXPECT_EQ(t.top[0].id, fake_id("a"));
      seen++;
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST(Engine, ContextLengthIsEnforcedAtSubmit) {
  auto model = std::make_shared<FakeModel>(8);
  Engine engine(model);
  try {
    engine.submit(request(ids({"<bos>", "a", "b", "c", "d", "e"}), 5));
    FAIL() << "expected an error";
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::InvalidRequest);
    EXPECT_EQ(e.code(), "context_length_exceeded");
  }
  EXPECT_THROW(engine.submit(request(std::vector<TokenId>(8, 3), 1)), oc::Error);
  // Without max_tokens the rest of the context is the limit.
  model->behaviour.script = ids({"a"});
  auto r = request(ids({"<bos>", "a", "b"}), 1);
  r.max_tokens.reset();
  auto h = engine.submit(std::move(r));
  auto c = collect(h);
  EXPECT_EQ(c.usage.completion_tokens, 5);
  EXPECT_EQ(c.reasons[0], FinishReason::Length);
}

TEST(Engine, InvalidParametersNameTheField) {
  auto model = std::make_shared<FakeModel>();
  Engine engine(model);
  auto r = request(ids({"<bos>"}), 2);
  r.sampling.top_p = 1.5f;
  try {
    engine.submit(std::move(r));
    FAIL();
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.param(), "top_p");
  }
  EXPECT_THROW(engine.submit(request({}, 2)), oc::Error);
  EXPECT_THROW(engine.submit(request({9999}, 2)), oc::Error);
}

TEST(Engine, FullQueueIsOverloaded) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a"});
  model->behaviour.block_prefill = true;
  Engine engine(model, {.max_queued = 1, .max_running = 1});
  auto running = engine.submit(request(ids({"<bos>"}), 2));
  auto queued = engine.submit(request(ids({"<bos>"}), 2));
  try {
    engine.submit(request(ids({"<bos>"}), 2));
    FAIL() << "expected Overloaded";
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::Overloaded);
  }
  EXPECT_EQ(engine.stats().requests_rejected, 1u);
  running.cancel();
  queued.cancel();
}

TEST(Engine, CancelDuringPrefillFreesWithinOneSecond) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a"});
  model->behaviour.block_prefill = true;
  Engine engine(model, {.max_queued = 0, .max_running = 1});
  auto h = engine.submit(request(ids({"<bos>", "a"}), 2));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(engine.stats().running, 1u);
  EXPECT_EQ(model->behaviour.live_sequences.load(), 1);
  const auto t0 = std::chrono::steady_clock::now();
  h.cancel();
  auto c = collect(h);
  EXPECT_TRUE(c.done);
  EXPECT_EQ(c.reasons[0], FinishReason::Cancelled);
  while (engine.stats().running != 0 && std::chrono::steady_clock::now() - t0 < 2s) std::this_thread::sleep_for(1ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(model->behaviour.live_sequences.load(), 0);
  // The slot is free: a new request is admitted.
  model->behaviour.block_prefill = false;
  auto h2 = engine.submit(request(ids({"<bos>"}), 2));
  EXPECT_TRUE(collect(h2).done);
}

TEST(Engine, DroppingTheHandleCancelsDuringDecode) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a"});
  model->behaviour.step_delay = 5ms;
  Engine engine(model, {.max_queued = 0, .max_running = 1});
  {
    auto h = engine.submit(request(ids({"<bos>"}), 100000 > 200 ? 200 : 2));
    auto e = h.next(2s);  // first token
    ASSERT_TRUE(e.has_value());
  }
  const auto t0 = std::chrono::steady_clock::now();
  while (engine.stats().running != 0 && std::chrono::steady_clock::now() - t0 < 2s) std::this_thread::sleep_for(1ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(engine.stats().requests_cancelled, 1u);
  EXPECT_EQ(model->behaviour.live_sequences.load(), 0);
}

TEST(Engine, CancelWhileQueued) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.block_prefill = true;
  Engine engine(model, {.max_queued = 2, .max_running = 1});
  auto first = engine.submit(request(ids({"<bos>"}), 2));
  auto second = engine.submit(request(ids({"<bos>"}), 2));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(engine.stats().queued, 1u);
  second.cancel();
  auto c = collect(second, 1, 2s);
  EXPECT_TRUE(c.done);
  EXPECT_EQ(c.reasons[0], FinishReason::Cancelled);
  first.cancel();
}

TEST(Engine, InterleavesRunningRequests) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a", "b"});
  Engine engine(model, {.max_queued = 8, .max_running = 3});
  std::vector<RequestHandle> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(engine.submit(request(ids({"<bos>", "q"}), 6)));
  for (auto& h : hs) {
    auto c = collect(h);
    EXPECT_EQ(c.text[0], "ababab");
  }
  auto s = engine.stats();
  EXPECT_EQ(s.requests_finished, 5u);
  EXPECT_EQ(s.completion_tokens_total, 30u);
}

TEST(Engine, ShutdownFinishesInflightWhenAsked) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"a"});
  model->behaviour.step_delay = 2ms;
  auto engine = std::make_unique<Engine>(model);
  auto h = engine->submit(request(ids({"<bos>"}), 10));
  engine->shutdown(true);
  auto c = collect(h);
  EXPECT_EQ(c.text[0], "aaaaaaaaaa");
  EXPECT_THROW(engine->submit(request(ids({"<bos>"}), 1)), oc::Error);
}

TEST(Engine, APromptStartingWithAFinishedOnePrefillsOnlyTheRest) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"x", "y", "z"});
  Engine engine(model, {.max_queued = 4, .max_running = 1});
  const auto first = ids({"a", "b", "c", "d", "e"});
  auto h1 = engine.submit(request(first, 3));
  auto c1 = collect(h1);
  ASSERT_TRUE(c1.done);
  EXPECT_EQ(c1.usage.cached_tokens, 0);
  // The cache holds the prompt and the generated tokens fed back (the last sampled one is not).
  auto second = first;
  second.insert(second.end(), c1.ids[0].begin(), c1.ids[0].end());
  second.push_back(fake_id("q"));
  const int forwards_before = model->behaviour.forwards;
  auto h2 = engine.submit(request(second, 2));
  auto c2 = collect(h2);
  ASSERT_TRUE(c2.done);
  EXPECT_EQ(c2.usage.cached_tokens, 7);
  EXPECT_EQ(c2.usage.prompt_tokens, 9);
  // One prefill run for the 2 new tokens, then one decode step.
  EXPECT_EQ(model->behaviour.forwards - forwards_before, 2);
  EXPECT_EQ(engine.stats().prefix_cache_hits, 1u);
  EXPECT_EQ(engine.stats().prefix_tokens_reused, 7u);
  // An unrelated prompt reuses nothing.
  auto h3 = engine.submit(request(ids({"q", "r", "s"}), 1));
  EXPECT_EQ(collect(h3).usage.cached_tokens, 0);
}

TEST(Engine, TheKvBudgetAdmitsWhatFitsAndRefusesWhatNeverCan) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"x"});
  model->behaviour.step_delay = 20ms;
  model->bytes_per_token = 1000;
  // Each request below needs (4 prompt + 6 new) tokens: 10 kB; the budget holds one.
  Engine engine(model, {.max_queued = 4, .max_running = 4, .kv_budget_bytes = 15000, .prefix_cache = false});
  auto h1 = engine.submit(request(ids({"a", "b", "c", "d"}), 6));
  auto h2 = engine.submit(request(ids({"e", "f", "g", "h"}), 6));
  std::this_thread::sleep_for(60ms);
  auto s = engine.stats();
  EXPECT_EQ(s.running, 1u);
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.kv_budget_bytes, 15000u);
  EXPECT_TRUE(collect(h1).done);
  EXPECT_TRUE(collect(h2).done);
  // The loop frees a request's rows at the end of the step that sent its last event.
  for (int i = 0; i < 100 && engine.stats().running > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine.stats().running, 0u);
  EXPECT_EQ(engine.stats().kv_bytes_in_use, 0u);
  try {
    engine.submit(request(ids({"a", "b", "c", "d"}), 100));
    FAIL() << "a request larger than the whole budget is refused";
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::InvalidRequest);
    EXPECT_EQ(e.code(), "context_length_exceeded");
  }
}

TEST(Engine, ARequestPastItsDeadlineEndsWithAnError) {
  auto model = std::make_shared<FakeModel>();
  model->behaviour.script = ids({"x"});
  model->behaviour.step_delay = 20ms;
  Engine engine(model, {.max_queued = 4, .max_running = 1, .request_timeout = 100ms});
  auto h = engine.submit(request(ids({"a", "b"}), 200));
  auto c = collect(h);
  EXPECT_TRUE(c.error);
  EXPECT_EQ(c.error_kind, oc::ErrorKind::Unavailable);
  // The error is sent before the step that sent it frees the request's rows.
  for (int i = 0; i < 100 && engine.stats().running > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine.stats().running, 0u);
}
