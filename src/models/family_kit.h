// The family kit: what every family shares. KitModel loads the text core (an optional
// embed_tokens session and the decoder, chosen by preset; inputs, element types and the KV layout
// read from the sessions' metadata), the text assets, and the media encoders a family declares
// (loaded on first use). A family derives from it and adds only what is its own: which files it
// serves (Family::match), its config mapping, its processor (Model::process) and its encoders.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "models/family.h"
#include "models/io_layout.h"
#include "models/media_encoder.h"
#include "models/model.h"
#include "models/model_files.h"
#include "models/prompt_builder.h"
#include "models/repo.h"
#include "models/variants.h"

namespace oc::models {

// The text components of a layout.
struct TextLayout {
  std::string embed;  // "embed_tokens"; empty: the decoder takes input_ids
  std::string decoder = "decoder_model_merged";
  // The KV cache shape of each cache layer from config.json, for a family whose layers differ
  // (used where the graph leaves cache dims symbolic); unset: every layer has num_key_value_heads
  // x head_dim.
  std::function<std::vector<KvShape>(const JsonFile& config)> kv_shapes;
};

class KitModel : public Model {
 public:
  bool supports(Modality m) const override;
  bool loaded(Modality m) const override;
  void ensure_loaded(Modality m) override;
  std::vector<LoadedComponent> components() const override;
  std::unique_ptr<Sequence> new_sequence() override;
  std::unique_ptr<DecodeBatch> new_batch() override;
  size_t kv_bytes_per_token() const override;
  size_t encoder_cache_bytes() const override;
  std::vector<EncodeStats> begin_all(std::span<Sequence* const> seqs, std::span<const Prompt* const> prompts,
                                     RunControl& control) override;
  size_t logits_size() const override { return logits_size_; }

 protected:
  // Loads the text core and assets; throws oc::Error(ModelLoad) naming what is missing.
  KitModel(const FamilyProbe& probe, const LoadOptions& options, const std::string& family, const TextLayout& layout);

  // Declares the encoder of a modality (component by its repo role "vision" / "audio"); listed in
  // the components, loaded on first use.
  void add_encoder(Modality modality, const std::string& role, EncoderNames names);
  // Whether the family's processor can take a modality (its configs and tokens are present);
  // supports() also needs the encoder file.
  virtual bool processor_takes(Modality) const { return false; }
  // Loads every supported encoder when the options ask for it (call at the end of a family's
  // constructor).
  void finish_load(const LoadOptions& options);

  // config.json, and an integer read from its text_config, else from its top level.
  const JsonFile& config() const { return config_; }
  std::optional<int64_t> text_int(const std::string& key) const;
  const MediaOptions& media_options() const { return media_options_; }
  MediaShared& shared() const { return *shared_; }
  // Reads `tokens` where the model's files name them: the strings from tokenizer_config.json (a
  // string or an added token's "content"; the given defaults stay otherwise), the ids from the
  // tokenizer, config.json's image_token_id / audio_token_id winning.
  void read_media_tokens(const std::filesystem::path& dir, MediaTokens& tokens) const;
  // Loads the encoders a prompt needs on the request's thread (not the engine's, where a first load
  // would stall every running request).
  void load_encoders_for(const Prompt& prompt) const;

 private:
  JsonFile config_;
  RepoInfo repo_;
  VariantChoice choice_;
  MediaOptions media_options_;
  ort::SessionConfig session_config_;
  std::shared_ptr<MediaShared> shared_;
  size_t logits_size_ = 0;
};

}  // namespace oc::models
