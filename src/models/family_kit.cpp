#include "models/family_kit.h"

#include <algorithm>

#include "common/error.h"
#include "common/log.h"
#include "common/strings.h"
#include "models/decoder_sequence.h"
#include "models/media_sequence.h"

namespace oc::models {

KitModel::KitModel(const FamilyProbe& probe, const LoadOptions& options, const std::string& family,
                   const TextLayout& layout)
    : config_(probe.dir / "config.json"),
      repo_(discover_repo(probe.dir)),
      choice_(choose_variants(repo_, options.preset, options.dtypes)),
      media_options_(options.media),
      session_config_(options.session),
      shared_(std::make_shared<MediaShared>()) {
  const auto& dir = probe.dir;
  // Components loaded now warn about a fallback; encoders loaded later say so then.
  for (const auto& note : choice_.notes) {
    const bool text =
        starts_with(note, layout.decoder + ":") || (!layout.embed.empty() && starts_with(note, layout.embed + ":"));
    (text ? log::warn : log::debug)(note);
  }
  const Variant& decoder_v = choice_.require(layout.decoder, dir);
  const Variant* embed_v = layout.embed.empty() ? nullptr : &choice_.require(layout.embed, dir);
  const int64_t context = text_int("max_position_embeddings").value_or(0);
  load_common(probe, options, family, context > 0 ? static_cast<size_t>(context) : 0);

  auto spec = std::make_shared<DecoderSpec>();
  if (embed_v) {
    spec->embed = std::make_unique<ort::Session>(embed_v->onnx, options.session);
    add_component(layout.embed, *embed_v, true, choice_.notes);
  }
  load_decoder(*spec, decoder_v.onnx, options.session);
  add_component(layout.decoder, decoder_v, true, choice_.notes);
  spec->max_length = info_.context_length;
  const int64_t heads = text_int("num_attention_heads").value_or(-1);
  int64_t head_dim = text_int("head_dim").value_or(-1);
  if (head_dim <= 0 && heads > 0 && text_int("hidden_size").value_or(0) > 0)
    head_dim = *text_int("hidden_size") / heads;
  prepare_decoder_spec(*spec, KvShape{text_int("num_key_value_heads").value_or(heads), head_dim},
                       layout.kv_shapes ? layout.kv_shapes(config_) : std::vector<KvShape>{});
  if (embed_v && (!spec->io.inputs_embeds || spec->io.input_ids))
    throw Error(ErrorKind::ModelLoad, decoder_v.onnx.string() + ": a " + family +
                                          " decoder takes inputs_embeds (media features are written into them), "
                                          "not input_ids");
  logits_size_ = spec->io.vocab > 0 ? static_cast<size_t>(spec->io.vocab)
                                    : static_cast<size_t>(std::max<int64_t>(text_int("vocab_size").value_or(0), 0));
  if (logits_size_ == 0) logits_size_ = tokenizer_->vocab_size();
  shared_->text = std::move(spec);
  if (options.media.encoder_cache_bytes > 0)
    shared_->cache = std::make_unique<EncoderCache>(options.media.encoder_cache_bytes);
}

void KitModel::read_media_tokens(const std::filesystem::path& dir, MediaTokens& tokens) const {
  JsonFile tk(dir / "tokenizer_config.json");
  for (auto [key, out] : {std::pair{"image_token", &tokens.image},
                          {"boi_token", &tokens.boi},
                          {"eoi_token", &tokens.eoi},
                          {"audio_token", &tokens.audio},
                          {"boa_token", &tokens.boa},
                          {"eoa_token", &tokens.eoa}}) {
    if (auto v = tk.string(key)) *out = *v;
    if (auto v = tk.string(std::string(key) + ".content")) *out = *v;
  }
  tokens.image_id = tokenizer_->token_to_id(tokens.image);
  tokens.audio_id = tokenizer_->token_to_id(tokens.audio);
  if (auto id = config().integer("image_token_id")) tokens.image_id = static_cast<TokenId>(*id);
  if (auto id = config().integer("audio_token_id")) tokens.audio_id = static_cast<TokenId>(*id);
}

std::optional<int64_t> KitModel::text_int(const std::string& key) const {
  if (auto v = config_.integer("text_config." + key)) return v;
  return config_.integer(key);
}

void KitModel::add_encoder(Modality modality, const std::string& role, EncoderNames names) {
  std::optional<Variant> variant;
  std::string component = role == "vision" ? "vision_encoder" : role == "audio" ? "audio_encoder" : role;
  if (const Component* comp = repo_.component_by_role(role)) {
    component = comp->name;
    auto it = choice_.chosen.find(comp->name);
    if (it != choice_.chosen.end() && it->second) variant = *it->second;
  }
  if (variant) add_component(component, *variant, false, choice_.notes);
  shared_->encoders.push_back(
      std::make_unique<MediaEncoder>(modality, component, std::move(variant), session_config_, std::move(names)));
}

void KitModel::finish_load(const LoadOptions& options) {
  if (!options.load_all_modalities) return;
  for (Modality m : {Modality::Image, Modality::Audio})
    if (supports(m)) ensure_loaded(m);
}

bool KitModel::supports(Modality m) const {
  if (m == Modality::Text) return true;
  const MediaEncoder* e = shared_->encoder(m);
  return e && e->available() && processor_takes(m);
}

bool KitModel::loaded(Modality m) const {
  return m == Modality::Text || (supports(m) && shared_->encoder(m)->loaded());
}

void KitModel::ensure_loaded(Modality m) {
  if (m == Modality::Text) return;
  if (!supports(m)) throw Error(ErrorKind::Unsupported, info_.id + " takes no " + modality_name(m) + " input");
  shared_->encoder(m)->load();
}

std::vector<LoadedComponent> KitModel::components() const {
  auto list = info_.components;
  for (auto& c : list)
    for (const auto& e : shared_->encoders)
      if (c.name == e->component()) c.loaded = e->loaded();
  return list;
}

std::unique_ptr<Sequence> KitModel::new_sequence() {
  if (shared_->encoders.empty()) return std::make_unique<DecoderSequence>(shared_->text);
  return std::make_unique<MediaSequence>(shared_);
}

std::unique_ptr<DecodeBatch> KitModel::new_batch() {
  return batchable(*shared_->text) ? new_decoder_batch(shared_->text) : nullptr;
}

size_t KitModel::kv_bytes_per_token() const { return models::kv_bytes_per_token(*shared_->text); }

size_t KitModel::encoder_cache_bytes() const { return shared_->cache ? shared_->cache->stats().bytes : 0; }

std::vector<EncodeStats> KitModel::begin_all(std::span<Sequence* const> seqs, std::span<const Prompt* const> prompts,
                                             RunControl& control) {
  if (shared_->encoders.empty()) return Model::begin_all(seqs, prompts, control);
  std::vector<const MediaSegment*> segments;
  for (const Prompt* p : prompts)
    for (const auto& seg : p->media) segments.push_back(&seg);
  EncodeStats total;
  auto encoded = encode_media(*shared_, segments, total, control);
  // Each request waited for the whole run; its segments count as hits when the processor found them
  // cached, else as encoded.
  std::vector<EncodeStats> out(seqs.size());
  size_t next = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    out[i].image_ms = total.image_ms;
    out[i].audio_ms = total.audio_ms;
    for (const auto& seg : prompts[i]->media) (seg.encoded ? out[i].cache_hits : out[i].encoded)++;
    auto* seq = dynamic_cast<MediaSequence*>(seqs[i]);
    if (!seq) throw Error(ErrorKind::Internal, "a sequence of another model");
    seq->place(*prompts[i], std::span(encoded).subspan(next, prompts[i]->media.size()));
    next += prompts[i]->media.size();
  }
  return out;
}

void KitModel::load_encoders_for(const Prompt& prompt) const {
  for (const MediaSegment& seg : prompt.media)
    if (!seg.encoded)
      if (MediaEncoder* e = shared_->encoder(seg.modality)) e->load();
}

}  // namespace oc::models
