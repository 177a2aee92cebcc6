// Media input at the API layer: the transcription form and subtitle formats, and the server with a
// scripted audio/image model (chat with media and its errors' params, /v1/audio/transcriptions,
// /v1/models modalities).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/http_test_client.h"
#include "api/openai_types.h"
#include "api/transcription.h"
#include "support/media_samples.h"

using namespace oc;
using namespace oc::test;
using oc::test::post;
using oc::test::Reply;
using json = nlohmann::json;
namespace stdfs = std::filesystem;

// ---- the transcription form ----

namespace {

api::FormField field(const std::string& name, const std::string& value) { return {name, "", "", value}; }
api::FormField file_field(const std::string& bytes, const std::string& filename = "clip.wav") {
  return {"file", filename, "audio/wav", bytes};
}

}  // namespace

TEST(TranscriptionForm, Fields) {
  auto r =
      api::parse_transcription_request({file_field("RIFF"), field("model", "m"), field("language", "FR"),
                                        field("prompt", "Zoë"), field("response_format", "verbose_json"),
                                        field("temperature", "0.2"), field("timestamp_granularities[]", "segment")},
                                       false);
  EXPECT_EQ(r.file, "RIFF");
  EXPECT_EQ(r.filename, "clip.wav");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.language, "fr");
  EXPECT_EQ(r.response_format, "verbose_json");
  EXPECT_DOUBLE_EQ(*r.temperature, 0.2);
  EXPECT_FALSE(r.stream);
  const std::string instruction = api::transcription_instruction(r);
  EXPECT_TRUE(contains(instruction, "Transcribe")) << instruction;
  EXPECT_TRUE(contains(instruction, "French")) << instruction;
  EXPECT_TRUE(contains(instruction, "Zoë")) << instruction;
  r = api::parse_transcription_request({file_field("x"), field("model", "m"), field("stream", "true")}, true);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(contains(api::transcription_instruction(r), "into English"));
}

TEST(TranscriptionForm, Errors) {
  auto err = [](const std::vector<api::FormField>& form, bool translate = false) {
    return error_of([&] { api::parse_transcription_request(form, translate); });
  };
  EXPECT_EQ(err({field("model", "m")}).param(), "file");
  EXPECT_EQ(err({file_field("")}).param(), "file");
  EXPECT_EQ(err({file_field("x")}).param(), "model");
  EXPECT_EQ(err({file_field("x"), field("model", "m"), field("response_format", "xml")}).param(), "response_format");
  EXPECT_EQ(err({file_field("x"), field("model", "m"), field("temperature", "3")}).param(), "temperature");
  EXPECT_EQ(err({file_field("x"), field("model", "m"), field("temperature", "hot")}).param(), "temperature");
  EXPECT_EQ(err({file_field("x"), field("model", "m"), field("stream", "maybe")}).param(), "stream");
  EXPECT_EQ(err({file_field("x"), field("model", "m"), field("language", "english!")}).param(), "language");
  EXPECT_EQ(err({file_field("x"), field("model", "m"), field("language", "en")}, true).code(), "unknown_parameter");
  EXPECT_EQ(err({file_field("x"), field("model", "m"), field("voice", "x")}).code(), "unknown_parameter");
  Error e = err({file_field("x"), field("model", "m"), field("timestamp_granularities[]", "word")});
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  e = err({file_field("x"), field("model", "m"), field("stream", "true"), field("response_format", "srt")});
  EXPECT_EQ(e.param(), "stream");
}

TEST(TranscriptionForm, Subtitles) {
  EXPECT_EQ(api::subtitle_time(3723.4567, ','), "01:02:03,457");
  EXPECT_EQ(api::subtitle_time(0, '.'), "00:00:00.000");
  std::vector<api::TranscriptSegment> segs = {{0, 30, "Hello there."}, {29.5, 41.25, "General Kenobi."}};
  EXPECT_EQ(api::to_srt(segs),
            "1\n00:00:00,000 --> 00:00:30,000\nHello there.\n\n2\n00:00:29,500 --> 00:00:41,250\nGeneral Kenobi.\n\n");
  EXPECT_EQ(api::to_vtt(segs),
            "WEBVTT\n\n00:00:00.000 --> 00:00:30.000\nHello there.\n\n00:00:29.500 --> 00:00:41.250\nGeneral "
            "Kenobi.\n\n");
  EXPECT_EQ(api::language_name("de"), "German");
  EXPECT_EQ(api::language_name("xx"), "xx");
}

// ---- the server with a scripted model that takes images and audio ----

namespace {

// Media parts as [image] and [audio] markers.
const char* kMediaTemplate =
    "{% for m in messages %}{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}{% if p['type'] == 'image' %}[image]"
    "{% elif p['type'] == 'audio' %}[audio]{% else %}{{ p['text'] }}{% endif %}{% endfor %}"
    "{% endif %}\n{% endfor %}";

class FakeMediaModel : public test::TemplatedFakeModel {
 public:
  FakeMediaModel() : test::TemplatedFakeModel(4096, kMediaTemplate) {}
  bool supports(models::Modality m) const override {
    return m == models::Modality::Text || (m == models::Modality::Image && images) ||
           (m == models::Modality::Audio && audio);
  }
  AudioSpec audio_spec() const override { return audio ? AudioSpec{16000, 80000} : AudioSpec{}; }
  models::Prompt process(std::string_view text, std::span<const models::MediaInput> media) const override {
    std::lock_guard lock(mutex);
    calls.push_back({std::string(text), std::vector<models::MediaInput>(media.begin(), media.end())});
    if (fail_with) throw *fail_with;
    models::Prompt p;
    p.ids = {2, 3, 4, 5};
    return p;
  }

  struct Call {
    std::string text;
    std::vector<models::MediaInput> media;
  };
  bool images = true, audio = true;
  std::optional<Error> fail_with;
  mutable std::mutex mutex;
  mutable std::vector<Call> calls;
};

Reply post_form(int port, const std::string& path, const std::vector<api::FormField>& fields) {
  const std::string boundary = "----octestboundary7MA4YWxkTrZu0gW";
  std::string body;
  for (const auto& f : fields) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.name + "\"";
    if (!f.filename.empty()) body += "; filename=\"" + f.filename + "\"";
    body += "\r\n";
    if (!f.content_type.empty()) body += "Content-Type: " + f.content_type + "\r\n";
    body += "\r\n" + f.data + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return post(port, path, "multipart/form-data; boundary=" + boundary, body);
}

std::vector<json> sse_events(const std::string& body) {
  std::vector<json> out;
  for (const auto& data : test::sse_data(body)) out.push_back(json::parse(data));
  return out;
}

class MediaServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model = std::make_shared<FakeMediaModel>();
    model->behaviour.script = {test::fake_id("Hel"), test::fake_id("lo"), test::fake_id(" Wor"), test::fake_id("ld"),
                               1};
    api::ServerOptions o;
    o.max_images = 3;
    o.max_audio_clips = 2;
    o.media.audio.max_seconds = 20;
    running = std::make_unique<test::RunningServer>(model, engine::EngineConfig{}, o);
    port = running->port;
  }
  void TearDown() override { running.reset(); }
  Reply chat(const std::string& content_parts, const std::string& extra = "") {
    return post(port, "/v1/chat/completions", "application/json",
                R"({"model":"fake","max_tokens":8,"messages":[{"role":"user","content":[)" + content_parts + "]}]" +
                    extra + "}");
  }
  Reply transcribe(std::vector<api::FormField> extra, const std::string& audio,
                   const char* path = "/v1/audio/transcriptions") {
    extra.push_back(file_field(audio));
    extra.push_back(field("model", "fake"));
    return post_form(port, path, extra);
  }

  std::shared_ptr<FakeMediaModel> model;
  std::unique_ptr<test::RunningServer> running;
  int port = 0;
};

std::string image_json(const std::string& url) {
  return R"({"type":"image_url","image_url":{"url":")" + url + R"("}})";
}
std::string audio_json(const std::string& data, const std::string& format = "wav") {
  return R"({"type":"input_audio","input_audio":{"data":")" + data + R"(","format":")" + format + R"("}})";
}

}  // namespace

TEST_F(MediaServerTest, ChatPassesMediaInTemplateOrder) {
  const std::string img = bmp(3, 2), clip = wav(tone(0.2), 16000);
  Reply r =
      chat(R"({"type":"text","text":"look"},)" + image_json(data_uri("image/bmp", img)) + "," + audio_json(b64(clip)),
           R"(,"images":[")" + b64(img) + R"("])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["choices"][0]["message"]["content"], "Hello World");
  std::lock_guard lock(model->mutex);
  ASSERT_EQ(model->calls.size(), 1u);
  const auto& call = model->calls[0];
  EXPECT_EQ(call.text, "look[image][audio][image]");
  ASSERT_EQ(call.media.size(), 3u);
  EXPECT_EQ(call.media[0].location, (Location{0, 1, {}}));
  EXPECT_EQ(call.media[0].modality, models::Modality::Image);
  EXPECT_EQ(call.media[0].data, img);
  EXPECT_EQ(call.media[1].location, (Location{0, 2, {}}));
  EXPECT_EQ(call.media[1].modality, models::Modality::Audio);
  EXPECT_EQ(call.media[1].data, clip);
  EXPECT_EQ(call.media[1].format, "wav");
  EXPECT_EQ(call.media[2].location, (Location{0, 3, {}}));  // the legacy images[0]
  EXPECT_EQ(call.media[2].data, img);
}

TEST_F(MediaServerTest, ChatMediaErrors) {
  auto check = [&](const Reply& r, const std::string& param, const std::string& needle) {
    EXPECT_EQ(r.status, 400) << r.body;
    json e = r.j()["error"];
    EXPECT_EQ(e["param"], param) << r.body;
    EXPECT_TRUE(contains(e["message"].get<std::string>(), needle)) << r.body;
    EXPECT_EQ(post(port, "/v1/chat/completions", "application/json",
                   R"({"model":"fake","max_tokens":2,"messages":[{"role":"user","content":"hi"}]})")
                  .status,
              200);
  };
  check(chat(image_json("data:image/png;base64,!!!!")), "messages[0].content[0]", "base64");
  check(chat(image_json(data_uri("image/png", "plain text"))), "messages[0].content[0]", "not an image");
  check(chat(image_json("data:image/png;base64,")), "messages[0].content[0]", "empty");
  check(chat(image_json(data_uri("image/png", png_header(30000, 30000)))), "messages[0].content[0]", "30000x30000");
  const std::string one = image_json(data_uri("image/bmp", bmp(2, 2)));
  check(chat(one + "," + one + "," + one + "," + one), "messages[0].content[3]", "--max-images");
  check(chat(audio_json("%%%")), "messages[0].content[0]", "base64");
  check(chat(audio_json(b64("no audio here"), "xyz")), "messages[0].content[0]", "unknown audio format");
  const std::string a = audio_json(b64(wav(tone(0.1), 16000)));
  check(chat(a + "," + a + "," + a), "messages[0].content[2]", "--max-audio-clips");
  check(chat(image_json("http://127.0.0.1:1/x.png")), "messages[0].content[0]", "--media-url-allow");
  // Errors of the model's processor name the input they are located at, and get its code.
  model->fail_with = Error(ErrorKind::InvalidRequest, "truncated PNG data", Location{0, 1, {}});
  Reply r = chat(a + "," + one);
  model->fail_with.reset();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["error"]["param"], "messages[0].content[1]") << r.body;
  EXPECT_EQ(r.j()["error"]["code"], "invalid_image") << r.body;
  EXPECT_EQ(r.j()["error"]["message"], "messages[0].content[1]: truncated PNG data") << r.body;
  // An entry of the legacy `images` field is named as such.
  model->fail_with = Error(ErrorKind::InvalidRequest, "truncated PNG data", Location{0, 1, {}});
  r = chat(a, R"(,"images":[")" + b64(bmp(2, 2)) + R"("])");
  model->fail_with.reset();
  EXPECT_EQ(r.j()["error"]["param"], "images[0]") << r.body;
  EXPECT_EQ(r.j()["error"]["message"], "images[0]: truncated PNG data") << r.body;
}

TEST_F(MediaServerTest, ModalitiesTheModelLacks) {
  model->images = false;
  Reply r = chat(image_json(data_uri("image/bmp", bmp(2, 2))));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["error"]["code"], "unsupported_modality");
  EXPECT_TRUE(contains(r.j()["error"]["message"], "image")) << r.body;
  model->audio = false;
  r = transcribe({}, wav(tone(1), 16000));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["error"]["param"], "model") << r.body;
  json models = test::http(port, "GET", "/v1/models").j();
  json m = models["data"][0]["modalities"];
  EXPECT_EQ(m["text"]["supported"], true);
  EXPECT_EQ(m["text"]["loaded"], true);
  EXPECT_EQ(m["image"]["supported"], false);
  EXPECT_EQ(m["audio"]["supported"], false);
  EXPECT_EQ(m["audio"]["loaded"], false);
}

TEST_F(MediaServerTest, TranscriptionJsonAndWindows) {
  // 12 s of tone (no quiet point) in 5 s windows: [0, 5), [4.5, 9.5), [9, 12).
  Reply r = transcribe({}, wav(tone(12, 44100), 44100));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.j();
  EXPECT_EQ(j["text"], "Hello World Hello World Hello World");
  EXPECT_EQ(j["usage"]["type"], "tokens");
  EXPECT_EQ(j["usage"]["input_tokens"], 12);
  EXPECT_EQ(j["usage"]["output_tokens"], 15);
  std::lock_guard lock(model->mutex);
  ASSERT_EQ(model->calls.size(), 3u);
  EXPECT_TRUE(contains(model->calls[0].text, "[audio]Transcribe this audio")) << model->calls[0].text;
  EXPECT_EQ(model->calls[0].media[0].sample_rate, 16000);
  EXPECT_EQ(model->calls[0].media[0].samples.size(), 80000u);
  EXPECT_TRUE(model->calls[0].media[0].data.empty());
  EXPECT_NEAR(double(model->calls[2].media[0].samples.size()), 48000.0, 50.0);
}

TEST_F(MediaServerTest, TranscriptionFormats) {
  const std::string clip = wav(tone(7), 16000);  // [0, 5), [4.5, 7)
  Reply r = transcribe({field("response_format", "text")}, clip);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.headers, "text/plain"));
  EXPECT_EQ(r.body, "Hello World Hello World\n");
  r = transcribe({field("response_format", "srt")}, clip);
  EXPECT_EQ(r.body,
            "1\n00:00:00,000 --> 00:00:05,000\nHello World\n\n2\n00:00:04,500 --> 00:00:07,000\nHello World\n\n");
  r = transcribe({field("response_format", "vtt")}, clip);
  EXPECT_EQ(r.body,
            "WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nHello World\n\n00:00:04.500 --> 00:00:07.000\nHello World\n\n");
  r = transcribe({field("response_format", "verbose_json"), field("language", "en")}, clip);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.j();
  EXPECT_EQ(j["task"], "transcribe");
  EXPECT_EQ(j["language"], "english");
  EXPECT_DOUBLE_EQ(j["duration"].get<double>(), 7.0);
  EXPECT_EQ(j["text"], "Hello World Hello World");
  ASSERT_EQ(j["segments"].size(), 2u);
  EXPECT_EQ(j["segments"][1]["id"], 1);
  EXPECT_DOUBLE_EQ(j["segments"][1]["start"].get<double>(), 4.5);
  EXPECT_DOUBLE_EQ(j["segments"][1]["end"].get<double>(), 7.0);
  EXPECT_EQ(j["segments"][1]["text"], "Hello World");
  EXPECT_EQ(j["segments"][1]["tokens"].size(), 4u);
  EXPECT_LE(j["segments"][1]["avg_logprob"].get<double>(), 0.0);
  r = transcribe({field("response_format", "verbose_json")}, clip, "/v1/audio/translations");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["task"], "translate");
  std::lock_guard lock(model->mutex);
  EXPECT_TRUE(contains(model->calls.back().text, "into English")) << model->calls.back().text;
}

TEST_F(MediaServerTest, TranscriptionStream) {
  Reply r = transcribe({field("stream", "true")}, wav(tone(7), 16000));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.headers, "text/event-stream"));
  auto events = sse_events(r.body);
  ASSERT_GE(events.size(), 3u) << r.body;
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i]["type"], "transcript.text.delta") << events[i].dump();
    text += events[i]["delta"].get<std::string>();
  }
  EXPECT_EQ(text, "Hello World Hello World");
  EXPECT_EQ(events.back()["type"], "transcript.text.done");
  EXPECT_EQ(events.back()["text"], text);
  EXPECT_EQ(events.back()["usage"]["output_tokens"], 10);
}

TEST_F(MediaServerTest, TranscriptionErrors) {
  auto check = [&](const Reply& r, const std::string& param, const std::string& needle) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.j()["error"]["param"], param) << r.body;
    EXPECT_TRUE(contains(r.j()["error"]["message"].get<std::string>(), needle)) << r.body;
  };
  check(transcribe({}, wav(tone(21), 16000)), "file", "20 s");                  // over --max-audio-seconds
  check(transcribe({}, "definitely not audio"), "file", "not valid WAV data");  // the file name says WAV
  check(post_form(port, "/v1/audio/transcriptions",
                  {{"file", "clip.xyz", "application/octet-stream", "definitely not audio"}, field("model", "fake")}),
        "file", "unknown audio format");
  check(transcribe({}, wav({}, 16000)), "file", "WAV");  // zero samples
  std::string corrupt = wav(tone(1), 16000);
  corrupt.replace(12, 4, "junk");  // the fmt chunk id
  EXPECT_EQ(transcribe({}, corrupt).status, 400);
  check(transcribe({field("response_format", "docx")}, wav(tone(1), 16000)), "response_format", "docx");
  check(post_form(port, "/v1/audio/transcriptions", {field("model", "fake")}), "file", "file");
  Reply r = post(port, "/v1/audio/transcriptions", "application/json", R"({"model":"fake"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(contains(r.j()["error"]["message"], "multipart/form-data")) << r.body;
  r = post_form(port, "/v1/audio/transcriptions", {file_field(wav(tone(1), 16000)), field("model", "nope")});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(transcribe({}, wav(tone(1), 16000)).status, 200);
}
