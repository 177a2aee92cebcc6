// The Prometheus registry's text format and the API metrics fed by a request trace.
#include "api/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "api/metrics_registry.h"
#include "api/request_trace.h"

using namespace oc;
using namespace oc::api;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsRegistry, CountersGaugesAndLabels) {
  MetricsRegistry r;
  r.counter("c_total", "A counter.");
  r.counter("e_total", "By code.", {"code"});
  r.gauge("g", "A gauge.");
  r.add("c_total");
  r.add("c_total", 2);
  r.add("e_total", 1, {"bad \"x\"\n"});
  r.set("g", 0.25);
  std::string t = r.text();
  EXPECT_TRUE(has_line(t, "# HELP c_total A counter.")) << t;
  EXPECT_TRUE(has_line(t, "# TYPE c_total counter")) << t;
  EXPECT_TRUE(has_line(t, "c_total 3")) << t;
  EXPECT_TRUE(has_line(t, "# TYPE g gauge")) << t;
  EXPECT_TRUE(has_line(t, "g 0.25")) << t;
  EXPECT_TRUE(has_line(t, R"(e_total{code="bad \"x\"\n"} 1)")) << t;
  // Declaration order.
  EXPECT_LT(t.find("c_total"), t.find("e_total"));
  EXPECT_LT(t.find("e_total"), t.find("# HELP g "));
}

TEST(MetricsRegistry, HistogramBucketsAreCumulative) {
  MetricsRegistry r;
  r.histogram("h_seconds", "A histogram.", {0.1, 1}, {"modality"});
  r.observe("h_seconds", 0.05, {"image"});
  r.observe("h_seconds", 0.1, {"image"});  // on the bound: in that bucket
  r.observe("h_seconds", 0.5, {"image"});
  r.observe("h_seconds", 7, {"image"});
  std::string t = r.text();
  EXPECT_TRUE(has_line(t, "# TYPE h_seconds histogram")) << t;
  EXPECT_TRUE(has_line(t, R"(h_seconds_bucket{modality="image",le="0.1"} 2)")) << t;
  EXPECT_TRUE(has_line(t, R"(h_seconds_bucket{modality="image",le="1"} 3)")) << t;
  EXPECT_TRUE(has_line(t, R"(h_seconds_bucket{modality="image",le="+Inf"} 4)")) << t;
  EXPECT_TRUE(has_line(t, R"(h_seconds_sum{modality="image"} 7.65)")) << t;
  EXPECT_TRUE(has_line(t, R"(h_seconds_count{modality="image"} 4)")) << t;
  EXPECT_EQ(t.find("modality=\"audio\""), std::string::npos);
}

TEST(MetricsRegistry, UnlabelledFamiliesStartAtZeroAndMisuseThrows) {
  MetricsRegistry r;
  r.histogram("h", "H.", {1});
  r.counter("c", "C.", {"a"});
  std::string t = r.text();
  EXPECT_TRUE(has_line(t, R"(h_bucket{le="+Inf"} 0)")) << t;
  EXPECT_TRUE(has_line(t, "h_count 0")) << t;
  EXPECT_FALSE(has_line(t, "c 0")) << t;
  EXPECT_THROW(r.add("nope"), std::logic_error);
  EXPECT_THROW(r.add("c"), std::logic_error);                // label missing
  EXPECT_THROW(r.observe("c", 1, {"x"}), std::logic_error);  // wrong kind
  EXPECT_THROW(r.counter("c", "again"), std::logic_error);
}

TEST(ApiMetrics, TraceFeedsTokensEncodersAndErrors) {
  ApiMetrics m;
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  {
    auto trace = std::make_shared<RequestTrace>(m, "chat", req, false);
    trace->set_shape(true, 2);
    trace->tokens(0, 1);  // first token: TTFT
    trace->tokens(1, 1);  // first of choice 1: no gap
    trace->tokens(0, 1);  // gap of choice 0
    trace->tokens(0, 2);  // two tokens at once: two gaps
    engine::Usage u;
    u.prompt_tokens = 10;
    u.completion_tokens = 4;
    u.cached_tokens = 3;
    u.image_tokens = 5;
    engine::Timings t;
    t.encode_image_ms = 20;
    t.media_encoded = 1;
    t.media_cache_hits = 2;
    trace->done(u, t);
    ApiError e;
    e.status = 400;
    e.code = "invalid_value";
    trace->error(e);
  }
  std::string t = m.prometheus(nullptr);
  EXPECT_TRUE(has_line(t, "onnx_chat_time_to_first_token_seconds_count 1")) << t;
  EXPECT_TRUE(has_line(t, "onnx_chat_inter_token_seconds_count 3")) << t;
  EXPECT_TRUE(has_line(t, R"(onnx_chat_encode_seconds_count{modality="image"} 1)")) << t;
  EXPECT_TRUE(has_line(t, R"(onnx_chat_encode_seconds_sum{modality="image"} 0.02)")) << t;
  EXPECT_EQ(t.find(R"(onnx_chat_encode_seconds_count{modality="audio"})"), std::string::npos) << t;
  EXPECT_TRUE(has_line(t, R"(onnx_chat_media_segments_total{result="encoded"} 1)")) << t;
  EXPECT_TRUE(has_line(t, R"(onnx_chat_media_segments_total{result="cache_hit"} 2)")) << t;
  EXPECT_TRUE(has_line(t, "onnx_chat_prompt_cached_tokens_total 3")) << t;
  EXPECT_TRUE(has_line(t, R"(onnx_chat_prompt_media_tokens_total{modality="image"} 5)")) << t;
  EXPECT_TRUE(has_line(t, R"(onnx_chat_errors_total{endpoint="chat",status="400",code="invalid_value"} 1)")) << t;
}

TEST(ApiMetrics, EngineStatsAtScrape) {
  ApiMetrics m;
  engine::EngineStats s;
  s.queued = 3;
  s.prompt_tokens_total = 123;
  s.completion_tokens_total = 45;
  std::string t = m.prometheus(&s);
  EXPECT_TRUE(has_line(t, "onnx_chat_queue_depth 3")) << t;
  EXPECT_TRUE(has_line(t, "onnx_chat_prompt_tokens_total 123")) << t;
  EXPECT_TRUE(has_line(t, "onnx_chat_completion_tokens_total 45")) << t;
}

}  // namespace
