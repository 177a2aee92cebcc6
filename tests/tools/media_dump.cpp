// media-dump: runs the media layer on one file and writes the tensor as raw float32 (for the
// parity tests in tests/media/, which compare it with transformers.js).
//   media-dump image  PREPROCESSOR_CONFIG INPUT OUT.f32 [reference|antialiased]
//   media-dump frames PREPROCESSOR_CONFIG INPUT OUT.f32  (SmolVLM / Idefics3 frames: tiles + global image)
//   media-dump gemma4-image PROCESSOR_CONFIG INPUT OUT.f32  (Gemma 4 patches; OUT.f32.pos: int64 positions)
//   media-dump gemma4-audio PROCESSOR_CONFIG INPUT OUT.f32  (Gemma 4 log-mel frames; OUT.f32.mask: uint8)
//   media-dump rgb    INPUT OUT.u8            (decoded RGB, before preprocessing)
//   media-dump audio  PREPROCESSOR_CONFIG INPUT OUT.f32 [FORMAT_HINT]
//   media-dump pcm    RATE INPUT OUT.f32      (decoded mono samples at RATE)
// Prints {"shape":[...]} on stdout; on a media error prints the message on stderr, exits 3.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "media/audio.h"
#include "media/image.h"
#include "models/gemma3n/audio_config.h"
#include "models/gemma4/gemma4.h"
#include "models/media_config.h"
#include "models/model_files.h"
#include "models/smolvlm/image_split.h"

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string read_text(const std::string& path) {
  auto b = read_file(path);
  return {b.begin(), b.end()};
}

void write_file(const std::string& path, const void* data, size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!f) throw std::runtime_error("cannot write " + path);
}

void print_shape(const std::vector<int64_t>& shape) {
  std::cout << "{\"shape\":[";
  for (size_t i = 0; i < shape.size(); ++i) std::cout << (i ? "," : "") << shape[i];
  std::cout << "]}\n";
}

int usage() {
  std::cerr << "usage: media-dump image CONFIG INPUT OUT [reference|antialiased]\n"
               "       media-dump rgb INPUT OUT\n"
               "       media-dump audio CONFIG INPUT OUT [FORMAT]\n"
               "       media-dump pcm RATE INPUT OUT\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  try {
    const std::string& mode = args[0];
    if (mode == "rgb" && args.size() == 3) {
      const auto bytes = read_file(args[1]);
      const auto image = oc::media::decode_image(bytes, {}, "image");
      write_file(args[2], image.rgb.data(), image.rgb.size());
      print_shape({image.height, image.width, 3});
      return 0;
    }
    if (mode == "image" && (args.size() == 4 || args.size() == 5)) {
      auto config = oc::models::parse_media_config(read_text(args[1]));
      if (!config.image) throw std::runtime_error("no image processor in " + args[1]);
      if (args.size() == 5) {
        config.image->method =
            args[4] == "antialiased" ? oc::media::ResizeMethod::Antialiased : oc::media::ResizeMethod::Reference;
      }
      const auto bytes = read_file(args[2]);
      const auto image = oc::media::decode_image(bytes, {}, "image");
      const auto t = oc::media::preprocess(image, *config.image);
      write_file(args[3], t.data.data(), t.data.size() * sizeof(float));
      print_shape(t.shape);
      return 0;
    }
    if (mode == "frames" && args.size() == 4) {
      const auto config = oc::models::parse_media_config(read_text(args[1]));
      if (!config.image) throw std::runtime_error("no image processor in " + args[1]);
      const oc::models::JsonFile json(args[1]);
      const auto side = static_cast<uint32_t>(json.integer("max_image_size.longest_edge").value_or(512));
      const auto image = oc::media::decode_image(read_file(args[2]), {}, "image");
      const auto split = oc::models::smolvlm::split_image(image, *config.image, side,
                                                          json.boolean("do_image_splitting").value_or(true));
      std::vector<float> all;
      for (const auto& f : split.frames) all.insert(all.end(), f.data.begin(), f.data.end());
      write_file(args[3], all.data(), all.size() * sizeof(float));
      std::cout << "{\"shape\":[" << split.frames.size() << ",3," << side << "," << side << "],\"rows\":" << split.rows
                << ",\"cols\":" << split.cols << "}\n";
      return 0;
    }
    if (mode == "gemma4-image" && args.size() == 4) {
      const oc::models::JsonFile json(args[1]);
      const auto config = oc::models::gemma4::read_image_config(json, args[1]);
      if (!config) throw std::runtime_error("no image processor in " + args[1]);
      const auto p = oc::models::gemma4::patchify(oc::media::decode_image(read_file(args[2]), {}, "image"), *config);
      write_file(args[3], p.pixels.data(), p.pixels.size() * sizeof(float));
      write_file(args[3] + ".pos", p.positions.data(), p.positions.size() * sizeof(int64_t));
      std::cout << "{\"shape\":[" << config->max_patches() << "," << config->patch_size * config->patch_size * 3
                << "],\"patches\":" << p.patches << ",\"tokens\":" << p.tokens << "}\n";
      return 0;
    }
    if (mode == "gemma4-audio" && args.size() == 4) {
      const oc::models::JsonFile json(args[1]);
      const auto config = oc::models::gemma4::read_audio_config(json);
      if (!config) throw std::runtime_error("no feature extractor in " + args[1]);
      const auto audio = oc::media::decode_audio(read_file(args[2]), oc::media::AudioFormat::Unknown,
                                                 config->sampling_rate, {}, "audio");
      const auto log_mel = oc::models::gemma4::make_log_mel(*config);
      const auto f = oc::models::gemma4::window_features(audio.samples, *config, *log_mel);
      write_file(args[3], f.data.data(), f.data.size() * sizeof(float));
      write_file(args[3] + ".mask", f.mask.data(), f.mask.size());
      print_shape({1, f.frames, f.mel_bins});
      return 0;
    }
    if (mode == "pcm" && args.size() == 4) {
      const auto bytes = read_file(args[2]);
      const auto audio =
          oc::media::decode_audio(bytes, oc::media::AudioFormat::Unknown, std::stoi(args[1]), {}, "audio");
      write_file(args[3], audio.samples.data(), audio.samples.size() * sizeof(float));
      print_shape({static_cast<int64_t>(audio.samples.size())});
      return 0;
    }
    if (mode == "audio" && (args.size() == 4 || args.size() == 5)) {
      const auto audio_config = oc::models::gemma3n::parse_audio_config(read_text(args[1]));
      if (!audio_config) throw std::runtime_error("no audio feature extractor in " + args[1]);
      const auto hint = args.size() == 5 ? oc::media::audio_format_from_name(args[4]) : oc::media::AudioFormat::Unknown;
      const auto bytes = read_file(args[2]);
      const auto audio = oc::media::decode_audio(bytes, hint, audio_config->sampling_rate, {}, "audio");
      const oc::media::LogMelExtractor extract(*audio_config);
      const auto f = extract(audio.samples);
      write_file(args[3], f.data.data(), f.data.size() * sizeof(float));
      print_shape({1, f.frames, f.mel_bins});
      return 0;
    }
    return usage();
  } catch (const oc::Error& e) {
    std::cerr << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "media-dump: " << e.what() << "\n";
    return 1;
  }
}
