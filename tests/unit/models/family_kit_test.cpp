// The family kit's processor pieces: media markers checked against the media sent, prompt chunks
// (text tokenized, placeholders written as ids) on the smolvlm fixture, and SmolVLM's split
// sizes against hand-computed values.
#include <gtest/gtest.h>

#include "common/error.h"
#include "models/family.h"
#include "models/prompt_builder.h"
#include "models/smolvlm/image_split.h"
#include "support/fixtures.h"

using namespace oc::models;

namespace {

MediaInput image_input() {
  MediaInput in;
  in.modality = Modality::Image;
  in.data = "x";
  return in;
}

}  // namespace

TEST(SplitAtMarkers, CutsAtMarkersAndAssignsInputsPerModality) {
  const MediaMarker markers[] = {{Modality::Image, "<img>"}, {Modality::Audio, "<aud>"}};
  MediaInput audio;
  audio.modality = Modality::Audio;
  std::vector<MediaInput> media = {image_input(), audio, image_input()};
  auto m = split_at_markers("a<aud>b<img>c<img>d", markers, media, [](Modality) { return true; });
  ASSERT_EQ(m.texts.size(), 4u);
  EXPECT_EQ(m.texts[0], "a");
  EXPECT_EQ(m.texts[3], "d");
  EXPECT_EQ(m.markers, (std::vector<Modality>{Modality::Audio, Modality::Image, Modality::Image}));
  EXPECT_EQ(m.inputs, (std::vector<size_t>{1, 0, 2}));
}

TEST(SplitAtMarkers, MismatchAndUnsupportedAre400s) {
  const MediaMarker markers[] = {{Modality::Image, "<img>"}};
  std::vector<MediaInput> two = {image_input(), image_input()};
  try {
    split_at_markers("<img>", markers, two, [](Modality) { return true; });
    FAIL();
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::InvalidRequest);
    EXPECT_NE(std::string(e.what()).find("1 image placeholder(s) (<img>) but 2 image input(s)"), std::string::npos);
  }
  try {
    split_at_markers("<img><img>", markers, two, [](Modality) { return false; });
    FAIL();
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::Unsupported);
  }
}

TEST(SmolVlmSplit, SizesAsTransformersJs) {
  // Longest side rounded up to 512s, the other side from the aspect ratio, rounded up to 512s.
  EXPECT_EQ(smolvlm::split_size(1024, 409, 512), (std::array<uint32_t, 2>{1024, 512}));
  EXPECT_EQ(smolvlm::split_size(341, 1024, 512), (std::array<uint32_t, 2>{512, 1024}));
  EXPECT_EQ(smolvlm::split_size(1024, 1024, 512), (std::array<uint32_t, 2>{1024, 1024}));
  EXPECT_EQ(smolvlm::split_size(2048, 1366, 512), (std::array<uint32_t, 2>{2048, 1536}));
  EXPECT_EQ(smolvlm::split_size(500, 300, 512), (std::array<uint32_t, 2>{512, 512}));
}

TEST(SmolVlmSplit, FramesTilesThenGlobal) {
  oc::media::Image image;
  image.width = 1000;
  image.height = 400;
  image.rgb.assign(static_cast<size_t>(1000) * 400 * 3, 128);
  oc::media::ImageProcessorConfig c;
  c.longest_edge = 1024;
  c.do_normalize = true;
  auto split = smolvlm::split_image(image, c, 512, true);
  EXPECT_EQ(split.rows, 1);
  EXPECT_EQ(split.cols, 2);
  ASSERT_EQ(split.frames.size(), 3u);
  for (const auto& f : split.frames) EXPECT_EQ(f.shape, (std::vector<int64_t>{3, 512, 512}));
  auto single = smolvlm::split_image(image, c, 512, false);
  EXPECT_EQ(single.rows, 0);
  EXPECT_EQ(single.frames.size(), 1u);
}

TEST(PromptChunks, SmolVlmPromptIsTextAndOneChunkPerFrame) {
  REQUIRE_FIXTURE(dir, "smolvlm-tiny");
  LoadOptions o;
  o.preset = "FP32";
  auto model = load_model(dir, o);
  EXPECT_EQ(model->info().family, "smolvlm");
  EXPECT_TRUE(model->supports(Modality::Image));
  EXPECT_FALSE(model->supports(Modality::Audio));
  // A 24-bit 600x200 BMP: longest edge 1024 -> 1024x341 -> split 1024x512: 1 x 2 tiles + global.
  std::string bmp = "BM";
  const uint32_t w = 600, h = 200, row = w * 3, size = 54 + row * h;
  auto put = [&](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) bmp += static_cast<char>((v >> (8 * i)) & 255);
  };
  put(size, 4), put(0, 4), put(54, 4), put(40, 4), put(w, 4), put(h, 4), put(1, 2), put(24, 2), put(0, 4),
      put(row * h, 4), put(2835, 4), put(2835, 4), put(0, 4), put(0, 4);
  bmp.append(row * h, '\x40');
  MediaInput in;
  in.data = bmp;
  Prompt p = model->process("<|im_start|>User:<image>Hi<end_of_utterance>\nAssistant:", std::vector<MediaInput>{in});
  ASSERT_EQ(p.media.size(), 3u);
  EXPECT_EQ(p.tokens_of(Modality::Image), 3u * 64);
  size_t media_chunks = 0, covered = 0;
  for (const auto& c : p.chunks) {
    EXPECT_EQ(c.begin, covered);
    covered = c.end;
    if (c.modality == Modality::Image) {
      EXPECT_EQ(p.media[c.media].position, c.begin);
      EXPECT_EQ(c.end - c.begin, 64u);
      ++media_chunks;
    }
  }
  EXPECT_EQ(covered, p.ids.size());
  EXPECT_EQ(media_chunks, 3u);
  // A placeholder typed in a message is a 400.
  EXPECT_THROW(model->process("<image>", {}), oc::Error);
}
