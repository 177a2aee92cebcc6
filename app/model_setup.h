// Loading a model and starting its engine from the options (shared by serve and run).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "engine/engine.h"
#include "hub/resolve.h"
#include "models/family.h"
#include "options.h"
#include "pipeline/conversation.h"
#include "pipeline/media_source.h"

namespace oc::app {

struct LoadedEngine {
  std::shared_ptr<engine::Engine> engine;
  std::string repo_id;  // the hub repo id when --model named one, else ""
};

// --model as a local folder or a hub repo id (org/name[@rev][/PRESET], or a cached model's name):
// the hub layer resolves it to a folder, downloading what the preset needs (progress to `progress`
// when given, else drawn on stderr). Throws oc::Error.
LoadedEngine load_engine(const Options& options, hub::ProgressFn progress = {});

// The ONNX Runtime session settings from --provider, --device-id, --threads, --matmul-precision.
ort::SessionConfig session_config(const Options& options);

// Media limits and the encoder cache from --max-image-pixels, --max-audio-seconds, --max-media-mb,
// --encoder-cache-mb. Throws oc::Error(InvalidRequest) for negative values.
models::MediaOptions media_options(const Options& options);

// The pipeline's media policy from the same options (sources read by the commands themselves:
// no URL or folder allowed).
pipeline::MediaPolicy media_policy(const Options& options);

// An image or audio file as a content part: its bytes and the format its extension names. Throws
// oc::Error(InvalidRequest) when the file cannot be read.
pipeline::ContentPart media_from_file(const std::filesystem::path& path, models::Modality modality);

// `e` with its message starting with the file it is about ("photo.png: truncated PNG data").
Error about_file(const Error& e, const std::string& path);

// What to say when --model is missing: how to name one.
std::string no_model_message();

// The hub resolution options the command line gives (preset, revision, modalities, cache, download
// settings), with progress on stderr.
hub::ResolveOptions resolve_options(const Options& options);

}  // namespace oc::app
