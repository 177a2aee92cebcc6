// Media input at the API layer: resolving content parts (data: URIs, base64, file:// allow-lists),
// early checks and labels, the transcription form and subtitle formats, and the server with a
// scripted audio/image model (chat with media, /v1/audio/transcriptions, /v1/models modalities).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/http_test_client.h"
#include "api/media_input.h"
#include "api/openai_types.h"
#include "api/transcription.h"
#include "media/base64.h"

using namespace oc;
using oc::test::post;
using oc::test::Reply;
using json = nlohmann::json;
namespace stdfs = std::filesystem;

namespace {

// ---- test inputs ----

std::string u32le(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 255);
  return s;
}
std::string u16le(uint16_t v) { return std::string{static_cast<char>(v & 255), static_cast<char>(v >> 8)}; }
std::string u32be(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (24 - 8 * i)) & 255);
  return s;
}

// A 24-bit BMP of w x h grey pixels.
std::string bmp(int w, int h) {
  const int row = (w * 3 + 3) / 4 * 4;
  std::string px(static_cast<size_t>(row * h), '\x80');
  std::string b = "BM" + u32le(static_cast<uint32_t>(54 + px.size())) + u32le(0) + u32le(54);
  b += u32le(40) + u32le(static_cast<uint32_t>(w)) + u32le(static_cast<uint32_t>(h)) + u16le(1) + u16le(24) + u32le(0) +
       u32le(static_cast<uint32_t>(px.size())) + u32le(2835) + u32le(2835) + u32le(0) + u32le(0);
  return b + px;
}

uint32_t crc32(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// The signature and IHDR of a PNG claiming w x h pixels (no image data).
std::string png_header(uint32_t w, uint32_t h) {
  std::string ihdr = "IHDR" + u32be(w) + u32be(h) + std::string("\x08\x02\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + u32be(13) + ihdr + u32be(crc32(ihdr));
}

// 16-bit PCM mono WAV.
std::string wav(const std::vector<float>& samples, int rate) {
  std::string data;
  for (float v : samples) {
    const auto q = static_cast<int16_t>(std::lround(std::max(-1.0f, std::min(1.0f, v)) * 32767.0f));
    data += u16le(static_cast<uint16_t>(q));
  }
  std::string fmt = u16le(1) + u16le(1) + u32le(static_cast<uint32_t>(rate)) + u32le(static_cast<uint32_t>(rate * 2)) +
                    u16le(2) + u16le(16);
  return "RIFF" + u32le(static_cast<uint32_t>(36 + data.size())) + "WAVEfmt " + u32le(16) + fmt + "data" +
         u32le(static_cast<uint32_t>(data.size())) + data;
}

std::vector<float> tone(double seconds, int rate = 16000) {
  std::vector<float> s(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < s.size(); ++i) s[i] = 0.3f * static_cast<float>(std::sin(2 * M_PI * 440.0 * i / rate));
  return s;
}

std::string b64(const std::string& bytes) {
  return media::base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string data_uri(const std::string& type, const std::string& bytes) {
  return "data:" + type + ";base64," + b64(bytes);
}

// The oc::Error a call throws.
template <typename Fn>
Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  return Error(ErrorKind::Internal, "<no error>");
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

api::ContentPart image_part(const std::string& url, const std::string& label = "messages[0].content[0]") {
  api::ContentPart p;
  p.type = "image_url";
  p.url = url;
  p.label = label;
  p.bare_base64 = !media::is_data_uri(url) && url.find("://") == std::string::npos;
  return p;
}

api::ContentPart audio_part(const std::string& data, const std::string& format,
                            const std::string& label = "messages[0].content[1]") {
  api::ContentPart p;
  p.type = "input_audio";
  p.audio_data = data;
  p.audio_format = format;
  p.label = label;
  return p;
}

std::vector<models::MediaInput> resolve(const std::vector<api::ContentPart>& parts,
                                        const api::MediaPolicy& policy = {}) {
  std::vector<const api::ContentPart*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  return api::resolve_media(ptrs, policy);
}

}  // namespace

// ---- resolve_media ----

TEST(MediaResolve, DataUrisAndBareBase64) {
  const std::string img = bmp(4, 3);
  auto in = resolve({image_part(data_uri("image/bmp", img)), image_part(b64(img), "images[0]"),
                     audio_part(b64(wav(tone(0.1), 16000)), "wav")});
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[0].modality, models::Modality::Image);
  EXPECT_EQ(in[0].data, img);
  EXPECT_EQ(in[0].format, "bmp");
  EXPECT_EQ(in[0].label, "messages[0].content[0]");
  EXPECT_EQ(in[1].data, img);
  EXPECT_EQ(in[1].label, "images[0]");
  EXPECT_EQ(in[2].modality, models::Modality::Audio);
  EXPECT_EQ(in[2].format, "wav");
  EXPECT_EQ(in[2].data.substr(0, 4), "RIFF");
  EXPECT_EQ(in[2].label, "messages[0].content[1]");
}

TEST(MediaResolve, BadImagesNameThePart) {
  auto err = [](const api::ContentPart& p, const api::MediaPolicy& policy = {}) {
    return error_of([&] { resolve({p}, policy); });
  };
  Error e = err(image_part("data:image/png;base64,@@@@"));
  EXPECT_EQ(e.kind(), ErrorKind::InvalidRequest);
  EXPECT_EQ(e.param(), "messages[0].content[0]");
  EXPECT_EQ(e.code(), "invalid_image");
  EXPECT_TRUE(contains(e.what(), "messages[0].content[0]: ")) << e.what();
  EXPECT_TRUE(contains(e.what(), "base64")) << e.what();

  e = err(image_part(data_uri("image/png", "just some text, not pixels")));
  EXPECT_EQ(e.param(), "messages[0].content[0]");
  EXPECT_TRUE(contains(e.what(), "not an image")) << e.what();

  e = err(image_part("data:image/png;base64,"));
  EXPECT_EQ(e.param(), "messages[0].content[0]");
  EXPECT_TRUE(contains(e.what(), "empty")) << e.what();

  e = err(image_part(data_uri("image/png", png_header(30000, 30000))));
  EXPECT_EQ(e.kind(), ErrorKind::InvalidRequest);
  EXPECT_EQ(e.param(), "messages[0].content[0]");
  EXPECT_TRUE(contains(e.what(), "30000x30000")) << e.what();

  e = err(image_part(data_uri("image/png", png_header(0, 10))));
  EXPECT_TRUE(contains(e.what(), "zero-size")) << e.what();

  api::MediaPolicy small;
  small.image.max_bytes = 100;
  e = err(image_part(data_uri("image/bmp", bmp(8, 8))), small);
  EXPECT_TRUE(contains(e.what(), "--max-media-mb")) << e.what();
  small.image.max_pixels = 10;
  small.image.max_bytes = 1 << 20;
  e = err(image_part(data_uri("image/bmp", bmp(4, 3))), small);
  EXPECT_TRUE(contains(e.what(), "limit")) << e.what();

  e = err(image_part("ftp://example.com/a.png"));
  EXPECT_EQ(e.code(), "invalid_url");
  EXPECT_TRUE(contains(e.what(), "data: URI")) << e.what();
}

TEST(MediaResolve, UrlsAreOffUnlessAllowed) {
  Error e = error_of([&] { resolve({image_part("https://example.com/cat.png")}); });
  EXPECT_EQ(e.param(), "messages[0].content[0]");
  EXPECT_TRUE(contains(e.what(), "--media-url-allow")) << e.what();
  e = error_of([&] { resolve({image_part("file:///etc/passwd")}); });
  EXPECT_EQ(e.param(), "messages[0].content[0]");
  EXPECT_TRUE(contains(e.what(), "--media-file-allow")) << e.what();
  api::MediaPolicy p;
  p.url_allow = {"images.example.org"};
  e = error_of([&] { resolve({image_part("https://example.com/cat.png")}, p); });
  EXPECT_TRUE(contains(e.what(), "allow-list")) << e.what();
}

TEST(MediaResolve, BadAudio) {
  Error e = error_of([&] { resolve({audio_part("%%%%", "wav")}); });
  EXPECT_EQ(e.param(), "messages[0].content[1]");
  EXPECT_EQ(e.code(), "invalid_audio");
  EXPECT_TRUE(contains(e.what(), "base64")) << e.what();
  e = error_of([&] { resolve({audio_part(b64("certainly not audio data"), "xyz")}); });
  EXPECT_EQ(e.param(), "messages[0].content[1]");
  EXPECT_TRUE(contains(e.what(), "unknown audio format 'xyz'")) << e.what();
  // A known format name is left to the decoder; content that sniffs as audio wins over the name.
  EXPECT_NO_THROW(resolve({audio_part(b64("certainly not audio data"), "mp3")}));
  EXPECT_NO_THROW(resolve({audio_part(b64(wav(tone(0.1), 8000)), "xyz")}));
  api::MediaPolicy small;
  small.audio.max_bytes = 64;
  e = error_of([&] { resolve({audio_part(b64(wav(tone(0.1), 8000)), "wav")}, small); });
  EXPECT_TRUE(contains(e.what(), "--max-media-mb")) << e.what();
}

TEST(MediaResolve, ProcessorErrorsGetTheLabel) {
  std::vector<models::MediaInput> media(3);
  media[0].label = "images[1]";
  media[1].label = "images[10]";
  media[1].modality = models::Modality::Image;
  media[2].label = "messages[2].content[0]";
  media[2].modality = models::Modality::Audio;
  Error e = api::label_media_error(Error(ErrorKind::InvalidRequest, "images[10]: truncated PNG data"), media);
  EXPECT_EQ(e.param(), "images[10]");
  EXPECT_EQ(e.code(), "invalid_image");
  e = api::label_media_error(Error(ErrorKind::InvalidRequest, "messages[2].content[0]: 700.0 s of audio exceeds"),
                             media);
  EXPECT_EQ(e.param(), "messages[2].content[0]");
  EXPECT_EQ(e.code(), "invalid_audio");
  e = api::label_media_error(Error(ErrorKind::InvalidRequest, "something else"), media);
  EXPECT_EQ(e.param(), "");
  e = api::label_media_error(Error(ErrorKind::Internal, "images[1]: boom"), media);
  EXPECT_EQ(e.kind(), ErrorKind::Internal);
  EXPECT_EQ(e.param(), "");
}

TEST(MediaResolve, ModalitiesTheModelLacks) {
  test::FakeModel text_only;
  api::ContentPart img = image_part("data:,x");
  Error e = error_of([&] { api::check_modalities(text_only, {&img}); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.param(), "messages[0].content[0]");
  EXPECT_EQ(e.code(), "unsupported_modality");
  EXPECT_TRUE(contains(e.what(), "image input")) << e.what();
  api::ContentPart aud = audio_part("AAAA", "wav");
  e = error_of([&] { api::check_modalities(text_only, {&aud}); });
  EXPECT_TRUE(contains(e.what(), "audio input")) << e.what();
}

// ---- file:// URLs ----

class FileUrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = stdfs::temp_directory_path() / ("oc-file-url-" + std::to_string(::getpid()));
    stdfs::remove_all(root);
    stdfs::create_directories(root / "allowed" / "sub");
    stdfs::create_directories(root / "secret");
    write(root / "allowed" / "sub" / "a b.bmp", bmp(2, 2));
    write(root / "secret" / "s.bmp", bmp(2, 2));
    stdfs::create_symlink(root / "secret" / "s.bmp", root / "allowed" / "link.bmp");
    stdfs::create_directory_symlink(root / "allowed", root / "alias");
  }
  void TearDown() override { stdfs::remove_all(root); }
  static void write(const stdfs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }
  std::string url(const std::string& rel) const { return "file://" + (root / rel).string(); }
  std::string read(const std::string& u, uint64_t max = 1 << 20) const {
    return api::read_file_url(u, {(root / "allowed").string()}, max, "images[0]");
  }
  stdfs::path root;
};

TEST_F(FileUrlTest, InsideAllowedFolder) {
  EXPECT_EQ(read("file://" + (root / "allowed" / "sub").string() + "/a%20b.bmp"), bmp(2, 2));
  EXPECT_EQ(read("file://localhost" + (root / "allowed" / "sub").string() + "/a%20b.bmp"), bmp(2, 2));
  EXPECT_EQ(read(url("allowed/sub/../sub/a%20b.bmp")), bmp(2, 2));
  // The allowed folder named through a symlink resolves to the same place.
  EXPECT_EQ(api::read_file_url(url("allowed/sub/a%20b.bmp"), {(root / "alias").string()}, 1 << 20, "x"), bmp(2, 2));
}

TEST_F(FileUrlTest, EscapesAreRefused) {
  auto err = [&](const std::string& u) { return std::string(error_of([&] { read(u); }).what()); };
  EXPECT_TRUE(contains(err(url("secret/s.bmp")), "outside")) << err(url("secret/s.bmp"));
  EXPECT_TRUE(contains(err(url("allowed/../secret/s.bmp")), "outside"));
  EXPECT_TRUE(contains(err(url("allowed/sub/%2e%2e/%2e%2e/secret/s.bmp")), "outside"));
  EXPECT_TRUE(contains(err(url("allowed/link.bmp")), "outside"));  // a symlink pointing out
  EXPECT_TRUE(contains(err(url("allowed/missing.bmp")), "cannot read"));
  EXPECT_TRUE(contains(err(url("allowed/sub")), "not a regular file"));
  EXPECT_TRUE(contains(err("file://otherhost/etc/passwd"), "absolute path"));
  EXPECT_TRUE(contains(err("file:relative.png"), "absolute path"));
  Error e = error_of([&] { read(url("allowed/sub/a%20b.bmp"), 10); });
  EXPECT_TRUE(contains(e.what(), "--max-media-mb")) << e.what();
  EXPECT_EQ(e.param(), "images[0]");
  e = error_of([&] { api::read_file_url(url("allowed/sub/a%20b.bmp"), {}, 1 << 20, "images[0]"); });
  EXPECT_TRUE(contains(e.what(), "--media-file-allow")) << e.what();
}

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
    o.media.max_images = 3;
    o.media.max_audio_clips = 2;
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
  EXPECT_EQ(call.media[0].label, "messages[0].content[1]");
  EXPECT_EQ(call.media[0].modality, models::Modality::Image);
  EXPECT_EQ(call.media[0].data, img);
  EXPECT_EQ(call.media[1].label, "messages[0].content[2]");
  EXPECT_EQ(call.media[1].modality, models::Modality::Audio);
  EXPECT_EQ(call.media[1].data, clip);
  EXPECT_EQ(call.media[1].format, "wav");
  EXPECT_EQ(call.media[2].label, "images[0]");
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
  // Errors of the model's processor get the label of the input they name.
  model->fail_with = Error(ErrorKind::InvalidRequest, "messages[0].content[1]: truncated PNG data");
  Reply r = chat(a + "," + one);
  model->fail_with.reset();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["error"]["param"], "messages[0].content[1]") << r.body;
  EXPECT_EQ(r.j()["error"]["code"], "invalid_image") << r.body;
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
