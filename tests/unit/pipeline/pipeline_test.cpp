// The request pipeline: media sources resolved and checked (data: URIs, base64, file:// and URL
// allow-lists) with located errors, conversations rendered and processed, completion prompts,
// and reading a request's events.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/fake_model.h"
#include "pipeline/events.h"
#include "support/media_samples.h"

using namespace oc;
using namespace oc::test;
namespace stdfs = std::filesystem;

namespace {

const Location kAt{0, 1, {}};

pipeline::ContentPart image_part(const std::string& url) {
  pipeline::ContentPart p;
  p.type = pipeline::Modality::Image;
  p.source.kind = media::is_data_uri(url) || url.find("://") != std::string::npos ? pipeline::MediaSource::Kind::Url
                                                                                  : pipeline::MediaSource::Kind::Base64;
  p.source.data = url;
  return p;
}

pipeline::ContentPart audio_part(const std::string& data, const std::string& format) {
  pipeline::ContentPart p;
  p.type = pipeline::Modality::Audio;
  p.source.kind = pipeline::MediaSource::Kind::Base64;
  p.source.data = data;
  p.source.format = format;
  return p;
}

models::MediaInput resolve(const pipeline::ContentPart& part, const pipeline::MediaPolicy& policy = {}) {
  return pipeline::resolve_media(part, kAt, policy);
}

}  // namespace

// ---- resolve_media ----

TEST(MediaResolve, DataUrisAndBareBase64) {
  const std::string img = bmp(4, 3);
  models::MediaInput in = resolve(image_part(data_uri("image/bmp", img)));
  EXPECT_EQ(in.modality, models::Modality::Image);
  EXPECT_EQ(in.data, img);
  EXPECT_EQ(in.format, "bmp");
  EXPECT_EQ(in.location, kAt);
  in = resolve(image_part(b64(img)));
  EXPECT_EQ(in.data, img);
  in = resolve(audio_part(b64(wav(tone(0.1), 16000)), "wav"));
  EXPECT_EQ(in.modality, models::Modality::Audio);
  EXPECT_EQ(in.format, "wav");
  EXPECT_EQ(in.data.substr(0, 4), "RIFF");
  // Bytes the caller read are checked the same way.
  pipeline::ContentPart file;
  file.type = pipeline::Modality::Image;
  file.source.data = png_header(30000, 30000);
  Error e = error_of([&] { resolve(file); });
  EXPECT_EQ(e.location(), kAt);
  EXPECT_TRUE(contains(e.what(), "30000x30000")) << e.what();
}

TEST(MediaResolve, BadImagesAreLocated) {
  auto err = [](const pipeline::ContentPart& p, const pipeline::MediaPolicy& policy = {}) {
    return error_of([&] { resolve(p, policy); });
  };
  Error e = err(image_part("data:image/png;base64,@@@@"));
  EXPECT_EQ(e.kind(), ErrorKind::InvalidRequest);
  EXPECT_EQ(e.location(), kAt);
  EXPECT_EQ(e.param(), "");
  EXPECT_EQ(e.code(), "invalid_image");
  EXPECT_EQ(std::string(e.what()).find("not valid base64"), 0u) << e.what();  // the API names the place

  e = err(image_part(data_uri("image/png", "just some text, not pixels")));
  EXPECT_EQ(e.location(), kAt);
  EXPECT_TRUE(contains(e.what(), "not an image")) << e.what();

  e = err(image_part("data:image/png;base64,"));
  EXPECT_TRUE(contains(e.what(), "empty")) << e.what();

  e = err(image_part(data_uri("image/png", png_header(0, 10))));
  EXPECT_TRUE(contains(e.what(), "zero-size")) << e.what();

  pipeline::MediaPolicy small;
  small.image.max_bytes = 100;
  e = err(image_part(data_uri("image/bmp", bmp(8, 8))), small);
  EXPECT_TRUE(contains(e.what(), "--max-media-mb")) << e.what();
  small.image.max_pixels = 10;
  small.image.max_bytes = 1 << 20;
  e = err(image_part(data_uri("image/bmp", bmp(4, 3))), small);
  EXPECT_TRUE(contains(e.what(), "limit")) << e.what();

  e = err(image_part("ftp://example.com/a.png"));
  EXPECT_EQ(e.code(), "invalid_url");
  EXPECT_EQ(e.location(), kAt);
  EXPECT_TRUE(contains(e.what(), "data: URI")) << e.what();
}

TEST(MediaResolve, UrlsAreOffUnlessAllowed) {
  Error e = error_of([&] { resolve(image_part("https://example.com/cat.png")); });
  EXPECT_EQ(e.location(), kAt);
  EXPECT_EQ(e.code(), "invalid_url");
  EXPECT_TRUE(contains(e.what(), "--media-url-allow")) << e.what();
  e = error_of([&] { resolve(image_part("file:///etc/passwd")); });
  EXPECT_EQ(e.location(), kAt);
  EXPECT_TRUE(contains(e.what(), "--media-file-allow")) << e.what();
  pipeline::MediaPolicy p;
  p.url_allow = {"images.example.org"};
  e = error_of([&] { resolve(image_part("https://example.com/cat.png"), p); });
  EXPECT_EQ(e.location(), kAt);
  EXPECT_TRUE(contains(e.what(), "allow-list")) << e.what();
}

TEST(MediaResolve, BadAudio) {
  Error e = error_of([&] { resolve(audio_part("%%%%", "wav")); });
  EXPECT_EQ(e.location(), kAt);
  EXPECT_EQ(e.code(), "invalid_audio");
  EXPECT_TRUE(contains(e.what(), "base64")) << e.what();
  e = error_of([&] { resolve(audio_part(b64("certainly not audio data"), "xyz")); });
  EXPECT_EQ(e.location(), kAt);
  EXPECT_TRUE(contains(e.what(), "unknown audio format 'xyz'")) << e.what();
  // A known format name is left to the decoder; content that sniffs as audio wins over the name.
  EXPECT_NO_THROW(resolve(audio_part(b64("certainly not audio data"), "mp3")));
  EXPECT_NO_THROW(resolve(audio_part(b64(wav(tone(0.1), 8000)), "xyz")));
  pipeline::MediaPolicy small;
  small.audio.max_bytes = 64;
  e = error_of([&] { resolve(audio_part(b64(wav(tone(0.1), 8000)), "wav"), small); });
  EXPECT_TRUE(contains(e.what(), "--max-media-mb")) << e.what();
}

// ---- conversations and prompts ----

namespace {

// Media parts as [image] and [audio] markers; a processor that can be told to fail.
class MediaModel : public TemplatedFakeModel {
 public:
  MediaModel()
      : TemplatedFakeModel(4096,
                           "{% for m in messages %}{% if m['content'] is string %}{{ m['content'] }}{% else %}"
                           "{% for p in m['content'] %}{% if p['type'] == 'image' %}[image]"
                           "{% elif p['type'] == 'audio' %}[audio]{% else %}{{ p['text'] }}{% endif %}{% endfor %}"
                           "{% endif %}\n{% endfor %}") {}
  bool supports(models::Modality m) const override { return m != models::Modality::Audio; }
  models::Prompt process(std::string_view text, std::span<const models::MediaInput> media) const override {
    inputs.assign(media.begin(), media.end());
    if (fail_with) throw *fail_with;
    models::Prompt p;
    p.ids = {2, 3, 4, static_cast<int32_t>(text.size() % 20) + 3};
    return p;
  }
  std::optional<Error> fail_with;
  mutable std::vector<models::MediaInput> inputs;
};

pipeline::Message user(std::vector<pipeline::ContentPart> parts) {
  pipeline::Message m;
  m.role = "user";
  m.content_is_parts = true;
  m.parts = std::move(parts);
  return m;
}

pipeline::ContentPart text(const std::string& t) {
  pipeline::ContentPart p;
  p.text = t;
  return p;
}

struct PipelineTest : ::testing::Test {
  std::shared_ptr<MediaModel> model = std::make_shared<MediaModel>();
  std::shared_ptr<engine::Engine> engine = std::make_shared<engine::Engine>(model);
  pipeline::Pipeline pipe{engine};
  void TearDown() override { engine->shutdown(false); }
};

}  // namespace

TEST_F(PipelineTest, ChatRendersAndLocatesEachMediaPart) {
  const std::string img = bmp(3, 2);
  std::vector<pipeline::Message> messages = {
      user({text("a")}), user({text("look"), image_part(data_uri("image/bmp", img)), image_part(b64(img))})};
  pipeline::Prepared p = pipe.chat(messages);
  EXPECT_EQ(p.text, "alook[image][image]");  // (the template trims its blocks)
  EXPECT_FALSE(p.prompt.ids.empty());
  ASSERT_EQ(model->inputs.size(), 2u);
  EXPECT_EQ(model->inputs[0].location, (Location{1, 1, {}}));
  EXPECT_EQ(model->inputs[1].location, (Location{1, 2, {}}));
  EXPECT_EQ(model->inputs[1].data, img);

  // A processor error located at an input gets that input's code.
  model->fail_with = Error(ErrorKind::InvalidRequest, "truncated PNG data", Location{1, 2, {}});
  Error e = error_of([&] { pipe.chat(messages); });
  EXPECT_EQ(e.location(), (Location{1, 2, {}}));
  EXPECT_EQ(e.code(), "invalid_image");
  EXPECT_EQ(std::string(e.what()), "truncated PNG data");
  model->fail_with.reset();

  // A bad part fails before the template runs, located at it.
  messages[1].parts[2] = image_part("data:image/png;base64,");
  e = error_of([&] { pipe.chat(messages); });
  EXPECT_EQ(e.location(), (Location{1, 2, {}}));
  EXPECT_EQ(e.code(), "invalid_image");
}

TEST_F(PipelineTest, ModalitiesTheModelLacks) {
  Error e = error_of([&] { pipe.chat({user({text("hi"), audio_part("AAAA", "wav")})}); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_EQ(e.location(), (Location{0, 1, {}}));
  EXPECT_EQ(e.code(), "unsupported_modality");
  EXPECT_TRUE(contains(e.what(), "audio input")) << e.what();
  // The same check for media beside a prompt rendered elsewhere.
  const pipeline::ContentPart clip = audio_part("AAAA", "wav");
  const pipeline::LocatedPart located[] = {{&clip, Location{-1, 0, "audio"}}};
  e = error_of([&] { pipe.rendered("[audio]", located); });
  EXPECT_EQ(e.location(), (Location{-1, 0, "audio"}));
}

TEST_F(PipelineTest, CompletionPrompts) {
  EXPECT_EQ(pipe.completion(std::vector<int32_t>{3, 4}).prompt.ids, (std::vector<int32_t>{3, 4}));
  Error e = error_of([&] { pipe.completion(std::vector<int32_t>{3, 1 << 30}); });
  EXPECT_EQ(e.param(), "prompt");
  EXPECT_TRUE(contains(e.what(), "outside the vocabulary")) << e.what();
  e = error_of([&] { pipe.completion(std::string()); });
  EXPECT_EQ(e.param(), "prompt");
  EXPECT_EQ(pipe.completion(std::string("a")).text, "a");
}

// ---- reading events ----

TEST_F(PipelineTest, ReadEventsToDone) {
  model->behaviour.script = {fake_id("Hel"), fake_id("lo"), 1};
  engine::GenerationRequest gr;
  gr.max_tokens = 8;
  engine::RequestHandle h = pipe.submit(pipe.completion(std::string("a")), gr);
  std::string out;
  int finished = 0;
  pipeline::EventHandler events;
  events.delta = [&](engine::Event& ev) {
    out += ev.text;
    return true;
  };
  events.finish = [&](engine::Event&) { return ++finished > 0; };
  std::optional<engine::Event> done = pipeline::read_events(h, events);
  ASSERT_TRUE(done);
  EXPECT_EQ(out, "Hello");
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(done->usage.completion_tokens, 3);
}

TEST_F(PipelineTest, ReadEventsStopsWhenTheCallerStops) {
  model->behaviour.script = {fake_id("Hel"), fake_id("lo"), fake_id("Hel"), fake_id("lo")};
  engine::GenerationRequest gr;
  gr.max_tokens = 4;
  engine::RequestHandle h = pipe.submit(pipe.completion(std::string("a")), gr);
  pipeline::EventHandler events;
  events.delta = [](engine::Event&) { return false; };  // a client gone at its first delta
  EXPECT_FALSE(pipeline::read_events(h, events));
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
    return pipeline::read_file_url(u, {(root / "allowed").string()}, max);
  }
  stdfs::path root;
};

TEST_F(FileUrlTest, InsideAllowedFolder) {
  EXPECT_EQ(read("file://" + (root / "allowed" / "sub").string() + "/a%20b.bmp"), bmp(2, 2));
  EXPECT_EQ(read("file://localhost" + (root / "allowed" / "sub").string() + "/a%20b.bmp"), bmp(2, 2));
  EXPECT_EQ(read(url("allowed/sub/../sub/a%20b.bmp")), bmp(2, 2));
  // The allowed folder named through a symlink resolves to the same place.
  EXPECT_EQ(pipeline::read_file_url(url("allowed/sub/a%20b.bmp"), {(root / "alias").string()}, 1 << 20), bmp(2, 2));
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
  EXPECT_EQ(e.code(), "invalid_url");
  e = error_of([&] { pipeline::read_file_url(url("allowed/sub/a%20b.bmp"), {}, 1 << 20); });
  EXPECT_TRUE(contains(e.what(), "--media-file-allow")) << e.what();
}
