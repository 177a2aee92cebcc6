// The API server over real HTTP (loopback, raw sockets) with the engine on a scripted model: JSON
// and SSE shapes, error mapping, disconnects and stop. No ONNX model involved.
#include "api/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/http_test_client.h"

using namespace oc;
using namespace oc::test;
using json = nlohmann::json;

namespace {

// Renders the messages' contents; raises the template error a real template gives for roles that
// do not alternate.
const char* kAlternatingTemplate =
    "{{ bos_token }}{% for m in messages %}"
    "{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}"
    "{{ m['content'] }}\n{% endfor %}";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model = std::make_shared<TemplatedFakeModel>(256, kAlternatingTemplate);
    model->behaviour.script = {fake_id("Hel"), fake_id("lo"), fake_id(" Wor"), fake_id("ld"), 1};
    engine::EngineConfig cfg;
    cfg.max_running = 1;
    cfg.max_queued = 2;
    api::ServerOptions o;
    o.max_body_bytes = 4096;
    o.api_key = api_key;
    running = std::make_unique<RunningServer>(model, cfg, o);
    eng = running->engine;
    port = running->port;
  }
  void TearDown() override { running.reset(); }

  std::string chat_body(const std::string& extra = "") {
    return R"({"model":"fake","messages":[{"role":"user","content":"hi"}])" + extra + "}";
  }

  std::string api_key;
  std::shared_ptr<TemplatedFakeModel> model;
  std::unique_ptr<RunningServer> running;
  std::shared_ptr<engine::Engine> eng;
  int port = 0;
};

TEST_F(ServerTest, HealthReadyMetrics) {
  Reply h = http(port, "GET", "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["status"], "ok");
  EXPECT_EQ(http(port, "GET", "/ready").status, 200);
  Reply m = http(port, "GET", "/metrics");
  EXPECT_NE(m.body.find("onnx_chat_running_requests 0"), std::string::npos) << m.body;
}

TEST_F(ServerTest, ChatNonStreaming) {
  Reply r = http(port, "POST", "/v1/chat/completions", chat_body(R"(,"return_token_ids":true)"));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "fake");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello World");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["choices"][0]["token_ids"].size(), 5u);  // the EOS included
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
  EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + 5);
  EXPECT_TRUE(j["timings"].is_object());
  EXPECT_EQ(j["prompt_token_ids"].size(), j["usage"]["prompt_tokens"].get<size_t>());
}

TEST_F(ServerTest, ChatStreaming) {
  Reply r = http(port, "POST", "/v1/chat/completions",
                 chat_body(R"(,"stream":true,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("text/event-stream"), std::string::npos);
  auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 4u) << r.body;
  EXPECT_EQ(events.back(), "[DONE]");
  json first = json::parse(events.front());
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(first["usage"].is_null());
  std::string text;
  int finishes = 0;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json c = json::parse(events[i]);
    if (c["choices"].empty()) continue;
    if (c["choices"][0]["delta"].contains("content")) text += c["choices"][0]["delta"]["content"].get<std::string>();
    if (!c["choices"][0]["finish_reason"].is_null()) ++finishes;
  }
  EXPECT_EQ(text, "Hello World");
  EXPECT_EQ(finishes, 1);
  json usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 5);
}

TEST_F(ServerTest, Completions) {
  Reply r = http(port, "POST", "/v1/completions", R"({"model":"fake","prompt":"hi","max_tokens":3})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "Hello Wor");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
}

TEST_F(ServerTest, ErrorsAreOpenAiShaped) {
  auto check = [&](const Reply& r, int status, const char* param) {
    EXPECT_EQ(r.status, status) << r.body;
    json j = json::parse(r.body);
    ASSERT_TRUE(j["error"].is_object()) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string());
    EXPECT_TRUE(j["error"]["type"].is_string());
    if (param) {
      EXPECT_EQ(j["error"]["param"], param) << r.body;
    }
  };
  check(http(port, "POST", "/v1/chat/completions", "{oops"), 400, nullptr);
  check(http(port, "POST", "/v1/chat/completions", chat_body(R"(,"temperature":"x")")), 400, "temperature");
  check(http(port, "POST", "/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"a"}]})"),
        404, "model");
  check(http(port, "POST", "/v1/chat/completions", chat_body(R"(,"foo":1)")), 400, "foo");
  check(http(port, "POST", "/v1/chat/completions", R"({"model":"fake","messages":[]})"), 400, "messages");
  check(http(port, "POST", "/v1/chat/completions",
             R"({"model":"fake","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]})"),
        400, "messages");
  check(http(port, "POST", "/v1/chat/completions", chat_body(R"(,"max_tokens":100000)")), 400, "max_tokens");
  check(http(port, "POST", "/v1/chat/completions", chat_body(R"(,"user":")" + std::string(5000, 'x') + "\"")), 413,
        nullptr);
  check(http(port, "GET", "/v1/nothing"), 404, nullptr);
  // still serving
  EXPECT_EQ(http(port, "POST", "/v1/chat/completions", chat_body()).status, 200);
}

// The SSE framing, byte for byte: the body is exactly `data: <compact JSON>\n\n` per event, then
// `data: [DONE]\n\n`, nothing else (no comments, no CR, no event names); the first and the last
// chunk are compared whole (with the id and the creation time, which vary, fixed).
TEST_F(ServerTest, StreamFramingIsByteExact) {
  Reply r = http(port, "POST", "/v1/chat/completions", chat_body(R"(,"stream":true,"max_tokens":2)"));
  ASSERT_EQ(r.status, 200) << r.body;
  std::string rebuilt;
  std::vector<std::string> chunks;
  for (const std::string& payload : sse_data(r.body)) {
    if (payload == "[DONE]") {
      rebuilt += "data: [DONE]\n\n";
      continue;
    }
    json c = json::parse(payload);
    EXPECT_EQ(c.dump(), payload) << "not compact JSON";
    c["id"] = "ID";
    c["created"] = 0;
    chunks.push_back(c.dump());
    rebuilt += "data: " + payload + "\n\n";
  }
  EXPECT_EQ(r.body, rebuilt);
  ASSERT_EQ(r.body.size() >= 14 ? r.body.substr(r.body.size() - 14) : "", "data: [DONE]\n\n");
  ASSERT_GE(chunks.size(), 3u) << r.body;
  EXPECT_EQ(
      chunks.front(),
      R"({"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],)"
      R"("created":0,"id":"ID","model":"fake","object":"chat.completion.chunk","system_fingerprint":null})");
  EXPECT_EQ(chunks.back(),
            R"({"choices":[{"delta":{},"finish_reason":"length","index":0,"logprobs":null}],)"
            R"("created":0,"id":"ID","model":"fake","object":"chat.completion.chunk","system_fingerprint":null})");
  std::string text;
  for (size_t k = 1; k + 1 < chunks.size(); ++k)
    text += json::parse(chunks[k])["choices"][0]["delta"]["content"].get<std::string>();
  EXPECT_EQ(text, "Hello");
}

// The request is cancelled, not finished: the engine counts it as cancelled, having generated far
// fewer tokens than the context allows (an uncancelled request runs to the context: 256 tokens at
// 20 ms each, 5 s).
void expect_cancelled(const engine::Engine& eng, const engine::EngineStats& before) {
  const engine::EngineStats after = eng.stats();
  EXPECT_EQ(after.requests_cancelled, before.requests_cancelled + 1);
  EXPECT_EQ(after.requests_finished, before.requests_finished);
  EXPECT_LT(after.completion_tokens_total - before.completion_tokens_total, 100u);
}

TEST_F(ServerTest, StreamDisconnectCancelsAtOnce) {
  model->behaviour.script = {fake_id("a")};  // never ends on its own
  model->behaviour.step_delay = std::chrono::milliseconds(20);
  const engine::EngineStats before = eng->stats();
  int fd = connect_to(port);
  send_request(fd, "POST", "/v1/chat/completions", chat_body(R"(,"stream":true)"));
  char buf[1024];
  size_t got = 0;
  while (got < 600) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    got += static_cast<size_t>(n);
  }
  EXPECT_EQ(eng->stats().running, 1u);
  ::close(fd);
  auto t0 = std::chrono::steady_clock::now();
  while (eng->stats().running != 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(eng->stats().running, 0u);
  expect_cancelled(*eng, before);
}

TEST_F(ServerTest, NonStreamingDisconnectCancels) {
  model->behaviour.script = {fake_id("a")};
  model->behaviour.step_delay = std::chrono::milliseconds(20);
  const engine::EngineStats before = eng->stats();
  int fd = connect_to(port);
  send_request(fd, "POST", "/v1/chat/completions", chat_body());
  auto t0 = std::chrono::steady_clock::now();
  while (eng->stats().running == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(eng->stats().running, 1u);
  ::close(fd);
  t0 = std::chrono::steady_clock::now();
  while (eng->stats().running != 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(eng->stats().running, 0u);
  expect_cancelled(*eng, before);
}

class AuthTest : public ServerTest {
 protected:
  void SetUp() override {
    api_key = "secret";
    ServerTest::SetUp();
  }
};

TEST_F(AuthTest, BearerKeyGuardsV1) {
  EXPECT_EQ(http(port, "POST", "/v1/chat/completions", chat_body()).status, 401);
  EXPECT_EQ(http(port, "POST", "/v1/chat/completions", chat_body(), "Authorization: Bearer nope\r\n").status, 401);
  EXPECT_EQ(http(port, "GET", "/v1/models").status, 401);
  EXPECT_EQ(http(port, "GET", "/health").status, 200);
  EXPECT_EQ(http(port, "POST", "/v1/chat/completions", chat_body(), "Authorization: Bearer secret\r\n").status, 200);
}

}  // namespace
