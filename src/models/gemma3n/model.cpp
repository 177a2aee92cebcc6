// The gemma3n family, text path: embed_tokens + decoder_model_merged. Every tensor name, element
// type and the KV layout come from the sessions' metadata; the names below are the documented
// defaults of the export, in this one place.
#include <algorithm>
#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "common/strings.h"
#include "models/decoder_state.h"
#include "models/family.h"
#include "models/io_layout.h"
#include "models/model_files.h"
#include "models/repo.h"
#include "models/variants.h"

namespace oc::models {
namespace {

// Default tensor and token names of the onnx-community export.
struct Names {
  const char* input_ids = "input_ids";
  const char* inputs_embeds = "inputs_embeds";
  const char* per_layer_inputs = "per_layer_inputs";
  const char* position_ids = "position_ids";
  const char* logits = "logits";
  const char* image_token = "<image_soft_token>";
  const char* audio_token = "<audio_soft_token>";
};
const Names kNames;

bool has_gqa(const ort::Session&) { return false; }

struct Sessions {
  std::unique_ptr<ort::Session> embed;
  std::unique_ptr<ort::Session> decoder;
  DecoderIo io;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  // Element types the decoder wants for the embed outputs (cast when they differ).
  ONNXTensorElementDataType embeds_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  ONNXTensorElementDataType per_layer_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
};

class Gemma3nSequence : public Sequence {
 public:
  explicit Gemma3nSequence(std::shared_ptr<Sessions> s)
      : s_(std::move(s)), kv_(s_->io.kv, s_->kv_heads, s_->head_dim) {}
  Gemma3nSequence(std::shared_ptr<Sessions> s, KvCache kv, size_t length)
      : s_(std::move(s)), kv_(std::move(kv)), length_(length) {}

  EncodeStats begin(const Prompt& prompt, RunControl&) override {
    if (!prompt.media.empty())
      throw Error(ErrorKind::Unsupported, "image and audio input are not supported by this server version yet");
    return {};
  }

  std::span<const float> forward(std::span<const TokenId> ids, RunControl& control) override {
    const int64_t n = static_cast<int64_t>(ids.size());
    if (n == 0) throw Error(ErrorKind::Internal, "forward without tokens");
    std::vector<int64_t> ids64(ids.begin(), ids.end());

    RunInputs embed_in;
    embed_in.add(kNames.input_ids, int64_tensor({1, n}, ids64));
    auto embeds = run_session(*s_->embed, embed_in, {kNames.inputs_embeds, kNames.per_layer_inputs}, control);

    RunInputs in;
    in.add(kNames.inputs_embeds, cast_tensor(std::move(embeds[0]), s_->embeds_type));
    if (s_->io.per_layer_inputs) in.add(kNames.per_layer_inputs, cast_tensor(std::move(embeds[1]), s_->per_layer_type));
    if (s_->io.position_ids) in.add(kNames.position_ids, position_ids(static_cast<int64_t>(length_), n));
    kv_.bind_pasts(in);
    std::vector<std::string> out_names = {s_->io.logits};
    kv_.request_presents(out_names);
    auto outs = run_session(*s_->decoder, in, out_names, control);
    kv_.take_presents(outs, 1);
    logits_ = std::move(outs[0]);
    length_ += ids.size();
    return last_logits_row(logits_, scratch_);
  }

  size_t length() const override { return length_; }

  std::unique_ptr<Sequence> fork() const override {
    return std::make_unique<Gemma3nSequence>(s_, kv_.clone(), length_);
  }

 private:
  std::shared_ptr<Sessions> s_;
  KvCache kv_;
  size_t length_ = 0;
  Ort::Value logits_{nullptr};
  std::vector<float> scratch_;
};

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
    auto s = std::make_shared<Sessions>();
    s->embed = std::make_unique<ort::Session>(embed_v.onnx, options.session);
    s->decoder = std::make_unique<ort::Session>(decoder_v.onnx, options.session);
    add_component("embed_tokens", embed_v, true, choice.notes);
    add_component("decoder_model_merged", decoder_v, true, choice.notes);
    for (const auto& comp : repo.components) {
      if (comp.name == "embed_tokens" || comp.name == "decoder_model_merged") continue;
      auto it = choice.chosen.find(comp.name);
      if (it == choice.chosen.end() || !it->second) continue;
      add_component(comp.name, *it->second, false, choice.notes);
      if (comp.role == "vision") has_vision_ = true;
      if (comp.role == "audio") has_audio_ = true;
    }

    // The decoder's inputs and KV layout, from its metadata.
    s->io = infer_decoder_io(s->decoder->inputs(), s->decoder->outputs(), has_gqa(*s->decoder));
    auto& io = s->io;
    if (!io.problems.empty())
      throw Error(ErrorKind::ModelLoad, decoder_v.onnx.string() + ": " + join(io.problems, "; "));
    if (!io.inputs_embeds)
      throw Error(ErrorKind::ModelLoad, decoder_v.onnx.string() + ": the decoder takes no inputs_embeds");
    if (!io.other_inputs.empty() || io.attention_mask || io.num_logits_to_keep || io.use_cache_branch ||
        io.cache_position || io.input_ids)
      throw Error(ErrorKind::ModelLoad, decoder_v.onnx.string() + ": unexpected decoder inputs for gemma3n (" +
                                            join(io.other_inputs, ", ") +
                                            "); this family drives inputs_embeds, per_layer_inputs, position_ids "
                                            "and the KV cache");
    if (!s->embed->output(kNames.inputs_embeds) || (io.per_layer_inputs && !s->embed->output(kNames.per_layer_inputs)))
      throw Error(ErrorKind::ModelLoad, embed_v.onnx.string() + ": embed_tokens lacks inputs_embeds/per_layer_inputs");
    if (!s->embed->input(kNames.input_ids))
      throw Error(ErrorKind::ModelLoad, embed_v.onnx.string() + ": embed_tokens lacks input_ids");
    s->embeds_type = s->decoder->input(kNames.inputs_embeds)->type;
    if (io.per_layer_inputs) s->per_layer_type = s->decoder->input(kNames.per_layer_inputs)->type;
    s->kv_heads = io.kv.kv_heads > 0 ? io.kv.kv_heads : cfg.integer("text_config.num_key_value_heads").value_or(-1);
    s->head_dim = io.kv.head_dim > 0 ? io.kv.head_dim : cfg.integer("text_config.head_dim").value_or(-1);
    if (io.kv.layers > 0 && (s->kv_heads <= 0 || s->head_dim <= 0))
      throw Error(ErrorKind::ModelLoad, decoder_v.onnx.string() + ": cannot tell the KV cache shape");
    if (io.kv.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && io.kv.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 &&
        io.kv.layers > 0)
      throw Error(ErrorKind::ModelLoad,
                  decoder_v.onnx.string() + ": unsupported KV element type " + ort::element_type_name(io.kv.type));
    logits_size_ = io.vocab > 0 ? static_cast<size_t>(io.vocab)
                                : static_cast<size_t>(cfg.integer("text_config.vocab_size").value_or(0));
    sessions_ = std::move(s);

    if (logits_size_ == 0) logits_size_ = tokenizer_->vocab_size();
    image_token_ = tokenizer_->token_to_id(kNames.image_token);
    audio_token_ = tokenizer_->token_to_id(kNames.audio_token);
    if (auto id = cfg.integer("image_token_id")) image_token_ = static_cast<TokenId>(*id);
    if (auto id = cfg.integer("audio_token_id")) audio_token_ = static_cast<TokenId>(*id);
  }

  bool supports(Modality m) const override {
    return m == Modality::Text || (m == Modality::Image && has_vision_) || (m == Modality::Audio && has_audio_);
  }
  bool loaded(Modality m) const override { return m == Modality::Text; }
  void ensure_loaded(Modality m) override {
    if (m == Modality::Text) return;
    throw Error(ErrorKind::Unsupported,
                std::string(modality_name(m)) + " input is not supported by this server version yet");
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    Prompt p;
    p.ids = tokenizer_->encode(prompt_text, false);
    size_t images = 0, audios = 0;
    for (TokenId id : p.ids) {
      if (image_token_ && id == *image_token_) images++;
      if (audio_token_ && id == *audio_token_) audios++;
    }
    if (!media.empty() || images || audios)
      throw Error(ErrorKind::Unsupported, "image and audio input are not supported by this server version yet");
    return p;
  }

  std::unique_ptr<Sequence> new_sequence() override { return std::make_unique<Gemma3nSequence>(sessions_); }
  size_t logits_size() const override { return logits_size_; }

 private:
  std::shared_ptr<Sessions> sessions_;
  size_t logits_size_ = 0;
  bool has_vision_ = false, has_audio_ = false;
  std::optional<TokenId> image_token_, audio_token_;
};

}  // namespace

std::unique_ptr<Model> load_gemma3n(const FamilyProbe& probe, const LoadOptions& options) {
  return std::make_unique<Gemma3nModel>(probe, options);
}

}  // namespace oc::models
