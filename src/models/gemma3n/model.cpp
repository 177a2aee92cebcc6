// The gemma3n family: embed_tokens + decoder_model_merged for text, vision_encoder and
// audio_encoder loaded on first use. Every tensor name, element type and the KV layout come from
// the sessions' metadata (defaults in gemma3n.h). Encoder feature rows overwrite the placeholder
// rows of inputs_embeds as the prompt is prefilled; per_layer_inputs stay as embed_tokens made them.
#include <algorithm>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strings.h"
#include "models/decoder_state.h"
#include "models/family.h"
#include "models/gemma3n/gemma3n.h"
#include "models/io_layout.h"
#include "models/media_config.h"
#include "models/model_files.h"
#include "models/repo.h"
#include "models/variants.h"

namespace oc::models {
namespace gemma3n {
namespace {

// The generic decoder sequence, plus the media: begin() runs the encoders, and each prefill
// chunk's inputs_embeds get the feature rows of the placeholders it covers.
class Gemma3nSequence : public DecoderSequence {
 public:
  explicit Gemma3nSequence(std::shared_ptr<Shared> s) : DecoderSequence(s->text), s_(std::move(s)) {}

  EncodeStats begin(const Prompt& prompt, RunControl& control) override {
    EncodeStats stats;
    if (prompt.media.empty()) return stats;
    std::vector<const MediaSegment*> segments;
    for (const auto& seg : prompt.media) segments.push_back(&seg);
    place(prompt, encode_media(*s_, segments, stats, control));
    return stats;
  }

  // Keeps the encoder rows of the prompt's segments (in order) for the prefill chunks.
  void place(const Prompt& prompt, std::span<const std::shared_ptr<const EncodedMedia>> encoded) {
    for (size_t i = 0; i < prompt.media.size(); ++i)
      placed_.push_back({prompt.media[i].position, prompt.media[i].length, encoded[i]});
  }

  std::span<const float> forward(std::span<const TokenId> ids, RunControl& control) override {
    auto logits = DecoderSequence::forward(ids, control);
    // Feature rows behind the prompt are no longer needed.
    std::erase_if(placed_, [&](const Placed& p) { return p.position + p.length <= length(); });
    return logits;
  }

  std::unique_ptr<Sequence> fork() const override {
    auto copy = std::make_unique<Gemma3nSequence>(s_);
    copy_state(*copy);
    copy->placed_ = placed_;
    return copy;
  }

 protected:
  std::unique_ptr<DecoderSequence> blank() const override { return std::make_unique<Gemma3nSequence>(s_); }

  // Overwrites the rows of positions [start, start + n) that belong to media segments with the
  // encoder's feature rows.
  void edit_embeds(Ort::Value& embeds, size_t start, size_t n) override {
    if (placed_.empty()) return;
    const auto type = s_->text->embeds_type;
    auto dims = embeds.GetTensorTypeAndShapeInfo().GetShape();
    const size_t width = static_cast<size_t>(dims.back());
    const size_t row_bytes = width * ort::element_size(type);
    auto* base = static_cast<uint8_t*>(embeds.GetTensorMutableRawData());
    for (const Placed& p : placed_) {
      const size_t from = std::max(p.position, start);
      const size_t to = std::min(p.position + p.length, start + n);
      if (from >= to) continue;
      if (p.rows->type != type || static_cast<size_t>(p.rows->width) != width ||
          static_cast<size_t>(p.rows->rows) != p.length)
        throw Error(ErrorKind::Internal, "encoder features do not fit the decoder's inputs_embeds (width " +
                                             std::to_string(p.rows->width) + " vs " + std::to_string(width) + ")");
      std::memcpy(base + (from - start) * row_bytes, p.rows->data.data() + (from - p.position) * row_bytes,
                  (to - from) * row_bytes);
    }
  }

 private:
  struct Placed {
    size_t position = 0;
    size_t length = 0;
    std::shared_ptr<const EncodedMedia> rows;
  };

  std::shared_ptr<Shared> s_;
  std::vector<Placed> placed_;
};

std::optional<Variant> chosen(const VariantChoice& choice, const RepoInfo& repo, const char* role) {
  const Component* comp = repo.component_by_role(role);
  if (!comp) return std::nullopt;
  auto it = choice.chosen.find(comp->name);
  if (it == choice.chosen.end() || !it->second) return std::nullopt;
  return *it->second;
}

class Gemma3nModel : public Model {
 public:
  Gemma3nModel(const FamilyProbe& probe, const LoadOptions& options) {
    const auto& dir = probe.dir;
    RepoInfo repo = discover_repo(dir);
    VariantChoice choice = choose_variants(repo, options.preset, options.dtypes);
    for (const auto& note : choice.notes)  // components loaded now warn; encoders loaded later say so then
      (starts_with(note, "embed_tokens:") || starts_with(note, "decoder_model_merged:") ? log::warn : log::debug)(note);
    const Variant& embed_v = choice.require("embed_tokens", dir);
    const Variant& decoder_v = choice.require("decoder_model_merged", dir);

    JsonFile cfg(dir / "config.json");
    load_common(probe, options, "gemma3n",
                static_cast<size_t>(cfg.integer("text_config.max_position_embeddings")
                                        .value_or(cfg.integer("max_position_embeddings").value_or(0))));
    auto s = std::make_shared<Shared>();
    auto text = std::make_shared<DecoderSpec>();
    text->embed = std::make_unique<ort::Session>(embed_v.onnx, options.session);
    load_decoder(*text, decoder_v.onnx, options.session);
    text->max_length = info_.context_length;
    add_component("embed_tokens", embed_v, true, choice.notes);
    add_component("decoder_model_merged", decoder_v, true, choice.notes);
    // Inputs, KV layout and element types from the sessions' metadata.
    prepare_decoder_spec(*text, cfg.integer("text_config.num_key_value_heads").value_or(-1),
                         cfg.integer("text_config.head_dim").value_or(-1));
    if (!text->io.inputs_embeds || text->io.input_ids)
      throw Error(ErrorKind::ModelLoad, decoder_v.onnx.string() +
                                            ": a gemma3n decoder takes inputs_embeds (image and audio features are "
                                            "written into them), not input_ids");
    logits_size_ = text->io.vocab > 0 ? static_cast<size_t>(text->io.vocab)
                                      : static_cast<size_t>(cfg.integer("text_config.vocab_size").value_or(0));
    if (logits_size_ == 0) logits_size_ = tokenizer_->vocab_size();
    s->text = std::move(text);

    // Media: encoders (loaded on first use), processor settings, encoder cache.
    s->vision =
        std::make_unique<Encoder>(Modality::Image, "vision_encoder", chosen(choice, repo, "vision"), options.session);
    s->audio =
        std::make_unique<Encoder>(Modality::Audio, "audio_encoder", chosen(choice, repo, "audio"), options.session);
    for (Encoder* e : {s->vision.get(), s->audio.get()})
      if (auto v = chosen(choice, repo, e->modality() == Modality::Image ? "vision" : "audio"))
        add_component(e->component(), *v, false, choice.notes);
    if (options.media.encoder_cache_bytes > 0)
      s->cache = std::make_unique<EncoderCache>(options.media.encoder_cache_bytes);
    read_processor_config(dir, cfg, options.media);
    if (pc_.audio) log_mel_ = std::make_unique<media::LogMelExtractor>(*pc_.audio);
    shared_ = std::move(s);
    if (options.load_all_modalities)
      for (Modality m : {Modality::Image, Modality::Audio})
        if (supports(m)) ensure_loaded(m);
  }

  bool supports(Modality m) const override {
    switch (m) {
      case Modality::Text:
        return true;
      case Modality::Image:
        return shared_->vision->available() && pc_.image && pc_.image_token_id;
      case Modality::Audio:
        return shared_->audio->available() && pc_.audio && pc_.audio_token_id;
    }
    return false;
  }
  bool loaded(Modality m) const override {
    return m == Modality::Text || (supports(m) && shared_->encoder(m)->loaded());
  }
  void ensure_loaded(Modality m) override {
    if (m == Modality::Text) return;
    if (!supports(m)) throw Error(ErrorKind::Unsupported, info_.id + " takes no " + modality_name(m) + " input");
    shared_->encoder(m)->load();
  }
  std::vector<LoadedComponent> components() const override {
    auto list = info_.components;
    for (auto& c : list)
      for (const Encoder* e : {shared_->vision.get(), shared_->audio.get()})
        if (c.name == e->component()) c.loaded = e->loaded();
    return list;
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    return process_prompt(*tokenizer_, pc_, *shared_, log_mel_.get(), prompt_text, media);
  }

  std::unique_ptr<Sequence> new_sequence() override { return std::make_unique<Gemma3nSequence>(shared_); }

  // The media of every prompt through the encoders together: one run per modality (and audio
  // frame count) for all the requests admitted in a step.
  std::vector<EncodeStats> begin_all(std::span<Sequence* const> seqs, std::span<const Prompt* const> prompts,
                                     RunControl& control) override {
    std::vector<const MediaSegment*> segments;
    for (const Prompt* p : prompts)
      for (const auto& seg : p->media) segments.push_back(&seg);
    EncodeStats total;
    auto encoded = encode_media(*shared_, segments, total, control);
    // Each request waited for the whole run; its segments count as hits when the processor found
    // them cached, else as encoded.
    std::vector<EncodeStats> out(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
      out[i].image_ms = total.image_ms;
      out[i].audio_ms = total.audio_ms;
      for (const auto& seg : prompts[i]->media) (seg.encoded ? out[i].cache_hits : out[i].encoded)++;
    }
    size_t next = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto* seq = dynamic_cast<Gemma3nSequence*>(seqs[i]);
      if (!seq) throw Error(ErrorKind::Internal, "a sequence of another model");
      seq->place(*prompts[i], std::span(encoded).subspan(next, prompts[i]->media.size()));
      next += prompts[i]->media.size();
    }
    return out;
  }
  std::unique_ptr<DecodeBatch> new_batch() override {
    return batchable(*shared_->text) ? new_decoder_batch(shared_->text) : nullptr;
  }
  size_t kv_bytes_per_token() const override { return models::kv_bytes_per_token(*shared_->text); }
  size_t logits_size() const override { return logits_size_; }
  AudioSpec audio_spec() const override {
    if (!supports(Modality::Audio)) return {};
    return {pc_.audio->sampling_rate, pc_.audio->max_samples};
  }

 private:
  void read_processor_config(const std::filesystem::path& dir, const JsonFile& cfg, const MediaOptions& limits) {
    pc_.limits = limits;
    if (std::filesystem::exists(dir / "preprocessor_config.json")) {
      MediaConfig mc =
          parse_media_config(read_file(dir / "preprocessor_config.json"), (dir / "preprocessor_config.json").string());
      pc_.image = mc.image;
      pc_.audio = mc.audio;
    }
    JsonFile proc(dir / "processor_config.json");
    JsonFile tk(dir / "tokenizer_config.json");
    pc_.image_seq_length = static_cast<size_t>(
        proc.integer("image_seq_length").value_or(cfg.integer("vision_soft_tokens_per_image").value_or(256)));
    pc_.audio_seq_length = static_cast<size_t>(
        proc.integer("audio_seq_length").value_or(cfg.integer("audio_soft_tokens_per_image").value_or(188)));
    auto token = [&](const char* key, std::string& out) {
      if (auto v = tk.string(key)) out = *v;
      if (auto v = tk.string(std::string(key) + ".content")) out = *v;
    };
    token("image_token", pc_.image_token);
    token("boi_token", pc_.boi_token);
    token("eoi_token", pc_.eoi_token);
    token("audio_token", pc_.audio_token);
    token("boa_token", pc_.boa_token);
    token("eoa_token", pc_.eoa_token);
    pc_.image_token_id = tokenizer_->token_to_id(pc_.image_token);
    pc_.audio_token_id = tokenizer_->token_to_id(pc_.audio_token);
    if (auto id = cfg.integer("image_token_id")) pc_.image_token_id = static_cast<TokenId>(*id);
    if (auto id = cfg.integer("audio_token_id")) pc_.audio_token_id = static_cast<TokenId>(*id);
  }

  std::shared_ptr<Shared> shared_;
  size_t logits_size_ = 0;
  ProcessorConfig pc_;
  std::unique_ptr<media::LogMelExtractor> log_mel_;
};

}  // namespace
}  // namespace gemma3n

std::unique_ptr<Model> load_gemma3n(const FamilyProbe& probe, const LoadOptions& options) {
  return std::make_unique<gemma3n::Gemma3nModel>(probe, options);
}

}  // namespace oc::models
