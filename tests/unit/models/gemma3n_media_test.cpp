// The gemma3n processor and encoders on the fixture (skipped without $ONNX_CHAT_FIXTURES):
// placeholder expansion, feature injection across prefill chunks, the encoder cache, long audio
// windows and the errors of bad media.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "models/encoder_cache.h"
#include "models/family.h"
#include "support/fixtures.h"

using namespace oc::models;
namespace fs = std::filesystem;

namespace {

void put16(std::string& b, uint32_t v) {
  b += static_cast<char>(v & 255);
  b += static_cast<char>((v >> 8) & 255);
}
void put32(std::string& b, uint32_t v) {
  put16(b, v & 0xffff);
  put16(b, v >> 16);
}

// A 24-bit BMP with a colour pattern that depends on `seed`.
std::string bmp(uint32_t w, uint32_t h, int seed) {
  const uint32_t row = (w * 3 + 3) / 4 * 4;
  std::string b = "BM";
  put32(b, 54 + row * h);
  put32(b, 0);
  put32(b, 54);
  put32(b, 40);
  put32(b, w);
  put32(b, h);
  put16(b, 1);
  put16(b, 24);
  put32(b, 0);
  put32(b, row * h);
  for (int i = 0; i < 4; ++i) put32(b, 0);
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      b += static_cast<char>((x * 3 + seed * 40) & 255);
      b += static_cast<char>((y * 5 + seed * 17) & 255);
      b += static_cast<char>(((x ^ y) + seed * 90) & 255);
    }
    b.append(row - w * 3, '\0');
  }
  return b;
}

// A 16-bit mono WAV of a tone.
std::string wav(int rate, double seconds, double freq) {
  const uint32_t n = static_cast<uint32_t>(rate * seconds);
  std::string b = "RIFF";
  put32(b, 36 + n * 2);
  b += "WAVEfmt ";
  put32(b, 16);
  put16(b, 1);
  put16(b, 1);
  put32(b, rate);
  put32(b, rate * 2);
  put16(b, 2);
  put16(b, 16);
  b += "data";
  put32(b, n * 2);
  for (uint32_t i = 0; i < n; ++i)
    put16(b, static_cast<uint16_t>(static_cast<int16_t>(9000 * std::sin(2 * M_PI * freq * i / rate))));
  return b;
}

MediaInput image(std::string data) {
  MediaInput in;
  in.modality = Modality::Image;
  in.data = std::move(data);
  return in;
}

MediaInput audio(std::string data, std::string format = "wav") {
  MediaInput in;
  in.modality = Modality::Audio;
  in.data = std::move(data);
  in.format = std::move(format);
  return in;
}

const char* kTurn = "<bos><start_of_turn>user\n<image_soft_token>What is it?<end_of_turn>\n<start_of_turn>model\n";

std::vector<float> run(Model& m, const Prompt& p, size_t chunk, EncodeStats* stats = nullptr) {
  RunControl control;
  auto seq = m.new_sequence();
  EncodeStats st = seq->begin(p, control);
  if (stats) *stats = st;
  std::span<const float> out;
  for (size_t i = 0; i < p.ids.size(); i += chunk)
    out = seq->forward(std::span<const TokenId>(p.ids).subspan(i, std::min(chunk, p.ids.size() - i)), control);
  return {out.begin(), out.end()};
}

std::unique_ptr<Model> load(const fs::path& dir, size_t cache_bytes = 64u << 20) {
  LoadOptions o;
  o.preset = "FP32";
  o.media.encoder_cache_bytes = cache_bytes;
  return load_model(dir, o);
}

void expect_error(const std::function<void()>& f, oc::ErrorKind kind, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; wanted one containing '" << needle << "'";
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(EncoderCache, KeepsRecentEntriesWithinBudget) {
  EncoderCache cache(250);
  auto entry = [](size_t bytes) {
    auto e = std::make_shared<EncodedMedia>();
    e->rows = 1;
    e->data.resize(bytes);
    return e;
  };
  cache.put("a", entry(100));
  cache.put("b", entry(100));
  EXPECT_NE(cache.find("a"), nullptr);  // a is now the most recent
  cache.put("c", entry(100));           // evicts b
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_NE(cache.find("a"), nullptr);
  EXPECT_NE(cache.find("c"), nullptr);
  cache.put("huge", entry(1000));  // larger than the budget: not kept
  EXPECT_EQ(cache.find("huge"), nullptr);
  EXPECT_EQ(cache.stats().entries, 2u);
  EXPECT_EQ(cache.stats().bytes, 200u);
  // The key is the content's: two copies of the same bytes (at different addresses) share it; one
  // byte more, another modality or another encoder changes it.
  const std::string x = "same bytes", y = x, z = x + "!";
  ASSERT_NE(static_cast<const void*>(x.data()), static_cast<const void*>(y.data()));
  const std::string key = encoder_cache_key(Modality::Image, "v", x.data(), x.size());
  EXPECT_EQ(key, encoder_cache_key(Modality::Image, "v", y.data(), y.size()));
  EXPECT_NE(key, encoder_cache_key(Modality::Image, "v", z.data(), z.size()));
  EXPECT_NE(key, encoder_cache_key(Modality::Image, "w", x.data(), x.size()));
  EXPECT_NE(key, encoder_cache_key(Modality::Audio, "v", x.data(), x.size()));
}

TEST(Gemma3nMedia, ImagePlaceholdersExpandAndLoadOnFirstUse) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  auto m = load(dir);
  EXPECT_TRUE(m->supports(Modality::Image));
  EXPECT_TRUE(m->supports(Modality::Audio));
  EXPECT_FALSE(m->loaded(Modality::Image));
  MediaInput in[] = {image(bmp(40, 30, 1))};
  Prompt p = m->process(kTurn, in);
  ASSERT_EQ(p.media.size(), 1u);
  EXPECT_EQ(p.media[0].length, 256u);
  EXPECT_EQ(p.tokens_of(Modality::Image), 256u);
  EXPECT_EQ(p.media[0].shape, (std::vector<int64_t>{3, 768, 768}));
  // "\n\n<start_of_image>" precedes the run, "<end_of_image>" follows it.
  EXPECT_EQ(p.ids[p.media[0].position - 1], m->tokenizer().token_to_id("<start_of_image>"));
  EXPECT_EQ(p.ids[p.media[0].position + 256], m->tokenizer().token_to_id("<end_of_image>"));
  EncodeStats st;
  run(*m, p, 1000, &st);
  EXPECT_EQ(st.encoded, 1);
  EXPECT_GT(st.image_ms, 0);
  EXPECT_TRUE(m->loaded(Modality::Image));
  EXPECT_FALSE(m->loaded(Modality::Audio));
  for (const auto& c : m->components()) {
    if (c.name == "vision_encoder") {
      EXPECT_TRUE(c.loaded);
    }
    if (c.name == "audio_encoder") {
      EXPECT_FALSE(c.loaded);
    }
  }
  EXPECT_EQ(m->audio_spec().sample_rate, 16000);
  EXPECT_EQ(m->audio_spec().window_samples, 480000);
}

TEST(Gemma3nMedia, FeaturesChangeTheOutputAndSurviveChunkedPrefill) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  auto m = load(dir, 0);
  MediaInput a[] = {image(bmp(64, 48, 1))};
  MediaInput b[] = {image(bmp(64, 48, 2))};
  Prompt pa = m->process(kTurn, a);
  Prompt pb = m->process(kTurn, b);
  auto whole = run(*m, pa, 10000);
  // Chunks of 100 cut the image's 256 rows in three places.
  auto chunked = run(*m, m->process(kTurn, a), 100);
  float diff = 0;
  for (size_t i = 0; i < whole.size(); ++i) diff = std::max(diff, std::fabs(whole[i] - chunked[i]));
  EXPECT_LT(diff, 1e-4f);
  auto other = run(*m, pb, 10000);
  float change = 0;
  for (size_t i = 0; i < whole.size(); ++i) change = std::max(change, std::fabs(whole[i] - other[i]));
  EXPECT_GT(change, 1e-3f) << "another image must give other logits";
}

TEST(Gemma3nMedia, EncoderCacheSkipsTheSecondEncode) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  auto m = load(dir);
  MediaInput in[] = {image(bmp(50, 50, 3))};
  EncodeStats first, second;
  auto x = run(*m, m->process(kTurn, in), 1000, &first);
  Prompt again = m->process(kTurn, in);
  EXPECT_NE(again.media[0].encoded, nullptr) << "the processor finds the cached rows";
  EXPECT_TRUE(again.media[0].features.empty()) << "and skips decoding";
  auto y = run(*m, again, 1000, &second);
  EXPECT_EQ(first.encoded, 1);
  EXPECT_EQ(second.encoded, 0);
  EXPECT_EQ(second.cache_hits, 1);
  EXPECT_EQ(x, y);
  // The same image twice in one request is encoded once.
  const std::string two = "<bos><start_of_turn>user\n<image_soft_token><image_soft_token><end_of_turn>\n";
  MediaInput fresh[] = {image(bmp(20, 20, 4)), image(bmp(20, 20, 4))};
  EncodeStats st;
  run(*m, m->process(two, fresh), 1000, &st);
  EXPECT_EQ(st.encoded, 1);
  EXPECT_EQ(st.cache_hits, 1);
}

TEST(Gemma3nMedia, AudioWindowsOfLongClips) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  auto m = load(dir);
  const char* turn = "<bos><start_of_turn>user\n<audio_soft_token>Transcribe.<end_of_turn>\n";
  MediaInput short_clip[] = {audio(wav(8000, 2.0, 300))};
  Prompt p = m->process(turn, short_clip);
  ASSERT_EQ(p.media.size(), 1u);
  EXPECT_EQ(p.media[0].length, 188u);
  EXPECT_EQ(p.media[0].shape[1], 128);
  // 65 s of audio: three windows, each its own placeholder sequence, in order.
  MediaInput long_clip[] = {audio(wav(16000, 65.0, 440))};
  Prompt q = m->process(turn, long_clip);
  ASSERT_EQ(q.media.size(), 3u);
  EXPECT_EQ(q.tokens_of(Modality::Audio), 3u * 188u);
  EXPECT_LT(q.media[0].position, q.media[1].position);
  EncodeStats st;
  run(*m, q, 512, &st);
  EXPECT_EQ(st.encoded + st.cache_hits, 3);
  EXPECT_GT(st.audio_ms, 0);
  // Decoded samples may be given instead of bytes.
  MediaInput pcm;
  pcm.modality = Modality::Audio;
  pcm.samples.assign(24000, 0.1f);
  pcm.sample_rate = 24000;
  MediaInput pcm_in[] = {pcm};
  EXPECT_EQ(m->process(turn, pcm_in).media.size(), 1u);
}

TEST(Gemma3nMedia, BadMediaIsAClearRequestError) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  LoadOptions o;
  o.preset = "FP32";
  o.media.audio.max_seconds = 10;
  auto m = load_model(dir, o);
  auto one = [&](MediaInput in) {
    in.location = {0, 1, {}};
    MediaInput list[] = {in};
    const std::string turn = in.modality == Modality::Image ? kTurn : "<audio_soft_token>";
    return m->process(turn, list);
  };
  // Errors about the input carry its location; their messages do not name it.
  auto located = [&](MediaInput in, const std::string& needle) {
    try {
      one(std::move(in));
      ADD_FAILURE() << "no error; wanted one containing '" << needle << "'";
    } catch (const oc::Error& e) {
      EXPECT_EQ(e.kind(), oc::ErrorKind::InvalidRequest) << e.what();
      EXPECT_EQ(e.location(), (oc::Location{0, 1, {}})) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("messages"), std::string::npos) << e.what();
    }
  };
  located(image("not an image at all"), "");
  std::string truncated = bmp(30, 30, 1);
  truncated.resize(200);
  located(image(truncated), "");
  located(image(""), "empty");
  located(audio("RIFF....WAVEjunk"), "");
  located(audio(wav(16000, 11.0, 440)), "limit");
  // Placeholders and media must agree.
  MediaInput two[] = {image(bmp(8, 8, 1)), image(bmp(8, 8, 2))};
  expect_error([&] { m->process(kTurn, two); }, oc::ErrorKind::InvalidRequest, "placeholder");
  expect_error([&] { m->process(kTurn); }, oc::ErrorKind::InvalidRequest, "placeholder");
}

TEST(Gemma3nMedia, TextOnlyFolderRefusesImages) {
  REQUIRE_FIXTURE(src, "gemma3n-tiny");
  const fs::path dir = fs::temp_directory_path() / "oc-gemma3n-text-only";
  fs::remove_all(dir);
  fs::create_directories(dir / "onnx");
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.is_regular_file()) fs::copy_file(e.path(), dir / e.path().filename());
  }
  for (const auto& e : fs::directory_iterator(src / "onnx")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("embed_tokens", 0) == 0 || name.rfind("decoder_model_merged", 0) == 0)
      fs::create_symlink(e.path(), dir / "onnx" / name);
  }
  auto m = load(dir);
  EXPECT_FALSE(m->supports(Modality::Image));
  EXPECT_EQ(m->audio_spec().sample_rate, 0);
  MediaInput in[] = {image(bmp(8, 8, 1))};
  expect_error([&] { m->process(kTurn, in); }, oc::ErrorKind::Unsupported, "image");
  EXPECT_THROW(m->ensure_loaded(Modality::Image), oc::Error);
  fs::remove_all(dir);
}
