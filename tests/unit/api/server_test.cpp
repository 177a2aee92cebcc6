// The API server over real HTTP (loopback, raw sockets) with the engine on a scripted model: JSON
// and SSE shapes, error mapping, disconnects and stop. No ONNX model involved.
#include "api/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/fake_model.h"
#include "template/chat_template.h"

using namespace oc;
using json = nlohmann::json;

namespace {

class TemplatedFakeModel : public test::FakeModel {
 public:
  TemplatedFakeModel() : test::FakeModel(256) {
    template_defaults_.bos_token = "<bos>";
    chat_templates_.emplace_back(
        "default", std::make_shared<tmpl::ChatTemplate>(
                       "{{ bos_token }}{% for m in messages %}"
                       "{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                       "{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}"
                       "{{ m['content'] }}\n{% endfor %}"));
  }
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_request(int fd, const std::string& method, const std::string& path, const std::string& body,
                  const std::string& extra_headers = "") {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + extra_headers;
  if (!body.empty() || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
}

struct Reply {
  int status = 0;
  std::string headers;
  std::string body;  // de-chunked
};

std::string dechunk(const std::string& raw) {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    size_t eol = raw.find("\r\n", i);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(raw.substr(i, eol - i), nullptr, 16);
    if (n == 0) break;
    out += raw.substr(eol + 2, n);
    i = eol + 2 + n + 2;
  }
  return out;
}

Reply http(int port, const std::string& method, const std::string& path, const std::string& body = "",
           const std::string& extra_headers = "") {
  int fd = connect_to(port);
  EXPECT_GE(fd, 0);
  send_request(fd, method, path, body, extra_headers);
  std::string raw;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  Reply r;
  size_t sp = raw.find(' ');
  if (sp == std::string::npos) return r;
  r.status = std::stoi(raw.substr(sp + 1, 3));
  size_t end = raw.find("\r\n\r\n");
  r.headers = raw.substr(0, end);
  std::string content = raw.substr(end + 4);
  r.body = r.headers.find("Transfer-Encoding: chunked") != std::string::npos ? dechunk(content) : content;
  return r;
}

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t i = 0;
  while ((i = body.find("data: ", i)) != std::string::npos) {
    size_t end = body.find("\n\n", i);
    out.push_back(body.substr(i + 6, end - i - 6));
    i = end;
  }
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model = std::make_shared<TemplatedFakeModel>();
    model->behaviour.script = {test::fake_id("Hel"), test::fake_id("lo"), test::fake_id(" Wor"), test::fake_id("ld"),
                               1};
    engine::EngineConfig cfg;
    cfg.max_running = 1;
    cfg.max_queued = 2;
    eng = std::make_shared<engine::Engine>(model, cfg);
    api::ServerOptions o;
    o.port = 0;
    o.max_body_bytes = 4096;
    o.api_key = api_key;
    server = std::make_unique<api::ApiServer>(o);
    port = server->bind();
    server->set_engine(eng);
    thread = std::thread([this] { server->run(); });
  }
  void TearDown() override {
    server->stop();
    thread.join();
    eng->shutdown(false);
  }

  std::string chat_body(const std::string& extra = "") {
    return R"({"model":"fake","messages":[{"role":"user","content":"hi"}])" + extra + "}";
  }

  std::string api_key;
  std::shared_ptr<TemplatedFakeModel> model;
  std::shared_ptr<engine::Engine> eng;
  std::unique_ptr<api::ApiServer> server;
  std::thread thread;
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

TEST_F(ServerTest, StreamDisconnectCancelsAtOnce) {
  model->behaviour.script = {test::fake_id("a")};  // never ends on its own
  model->behaviour.step_delay = std::chrono::milliseconds(5);
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
}

TEST_F(ServerTest, NonStreamingDisconnectCancels) {
  model->behaviour.script = {test::fake_id("a")};
  model->behaviour.step_delay = std::chrono::milliseconds(5);
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
