// A scripted model for engine tests: a tiny tokenizer (one string per id) and a "decoder" whose
// logits peak at the next id of a script. Optional delays and a blocking prefill for cancellation.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "models/model.h"

namespace oc::test {

class FakeTokenizer : public tok::Tokenizer {
 public:
  explicit FakeTokenizer(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {
    special_.bos = 2;
    special_.eos = 1;
    special_.bos_text = "<bos>";
    special_.eos_text = "<eos>";
  }
  std::vector<tok::TokenId> encode(std::string_view text, bool) const override {
    // Greedy longest match over the pieces (enough for tests).
    std::vector<tok::TokenId> out;
    size_t i = 0;
    while (i < text.size()) {
      size_t best_len = 0;
      tok::TokenId best = 0;
      for (size_t id = 0; id < pieces_.size(); ++id) {
        const auto& p = pieces_[id];
        if (!p.empty() && p.size() > best_len && text.substr(i, p.size()) == p) {
          best_len = p.size();
          best = static_cast<tok::TokenId>(id);
        }
      }
      if (best_len == 0) throw Error(ErrorKind::InvalidRequest, "fake tokenizer: no piece");
      out.push_back(best);
      i += best_len;
    }
    return out;
  }
  std::string decode(std::span<const tok::TokenId> ids, bool skip_special) const override {
    std::string s;
    for (auto id : ids) {
      if (skip_special && is_special(id)) continue;
      s += id_to_token(id);
    }
    return s;
  }
  std::optional<tok::TokenId> token_to_id(std::string_view token) const override {
    for (size_t i = 0; i < pieces_.size(); ++i)
      if (pieces_[i] == token) return static_cast<tok::TokenId>(i);
    return std::nullopt;
  }
  std::string id_to_token(tok::TokenId id) const override {
    return id >= 0 && static_cast<size_t>(id) < pieces_.size() ? pieces_[id] : "";
  }
  size_t vocab_size() const override { return pieces_.size(); }
  bool is_special(tok::TokenId id) const override { return id >= 0 && id < 3; }
  const tok::SpecialTokens& special_tokens() const override { return special_; }

 private:
  std::vector<std::string> pieces_;
  tok::SpecialTokens special_;
};

// Pieces: 0 <pad>, 1 <eos>, 2 <bos>, 3.. 'a'..'z', then " ", "\n", "Hel", "lo", " Wor", "ld",
// "\xC3", "\xA9" (the two bytes of 'é').
inline std::vector<std::string> fake_pieces() {
  std::vector<std::string> p = {"<pad>", "<eos>", "<bos>"};
  for (char c = 'a'; c <= 'z'; ++c) p.push_back(std::string(1, c));
  for (const char* s : {" ", "\n", "Hel", "lo", " Wor", "ld", "\xC3", "\xA9"}) p.push_back(s);
  return p;
}
inline tok::TokenId fake_id(const std::string& piece) {
  auto p = fake_pieces();
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] == piece) return static_cast<tok::TokenId>(i);
  return -1;
}

struct FakeBehaviour {
  std::vector<tok::TokenId> script;  // generated ids in order (repeats)
  std::chrono::milliseconds step_delay{0};
  bool block_prefill = false;  // prefill waits until terminated
  std::atomic<int> live_sequences{0};
  std::atomic<int> forwards{0};
};

class FakeSequence : public models::Sequence {
 public:
  FakeSequence(FakeBehaviour& b, size_t vocab) : b_(b), logits_(vocab, 0.0f) { b_.live_sequences++; }
  FakeSequence(const FakeSequence& o)
      : models::Sequence(), b_(o.b_), logits_(o.logits_), length_(o.length_), prompt_(o.prompt_) {
    b_.live_sequences++;
  }
  ~FakeSequence() override { b_.live_sequences--; }
  models::EncodeStats begin(const models::Prompt& prompt, models::RunControl&) override {
    prompt_ = prompt.ids.size();
    return {};
  }
  std::span<const float> forward(std::span<const tok::TokenId> ids, models::RunControl& control) override {
    b_.forwards++;
    if (b_.block_prefill && length_ < prompt_) {
      while (!control.terminated()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (b_.step_delay.count() > 0) std::this_thread::sleep_for(b_.step_delay);
    if (control.terminated()) throw Error(ErrorKind::Cancelled, "terminated");
    length_ += ids.size();
    std::fill(logits_.begin(), logits_.end(), 0.0f);
    if (length_ >= prompt_ && !b_.script.empty()) {
      size_t k = (length_ - prompt_) % b_.script.size();
      logits_[b_.script[k]] = 10.0f;
    }
    return logits_;
  }
  size_t length() const override { return length_; }
  std::unique_ptr<models::Sequence> fork() const override { return std::make_unique<FakeSequence>(*this); }
  std::unique_ptr<models::Sequence> fork_prefix(size_t n) const override {
    auto copy = std::make_unique<FakeSequence>(*this);
    copy->length_ = std::min(n, length_);
    return copy;
  }

 private:
  FakeBehaviour& b_;
  std::vector<float> logits_;
  size_t length_ = 0;
  size_t prompt_ = 0;
};

class FakeModel : public models::Model {
 public:
  explicit FakeModel(size_t context = 256) {
    info_.id = "fake";
    info_.family = "fake";
    info_.context_length = context;
    tokenizer_ = std::make_unique<FakeTokenizer>(fake_pieces());
    generation_defaults_.eos_ids = {1};
    generation_defaults_.do_sample = false;
  }
  bool supports(models::Modality m) const override { return m == models::Modality::Text; }
  bool loaded(models::Modality m) const override { return m == models::Modality::Text; }
  void ensure_loaded(models::Modality) override {}
  models::Prompt process(std::string_view text, std::span<const models::MediaInput>) const override {
    models::Prompt p;
    p.ids = tokenizer_->encode(text, false);
    return p;
  }
  std::unique_ptr<models::Sequence> new_sequence() override {
    return std::make_unique<FakeSequence>(behaviour, tokenizer_->vocab_size());
  }
  size_t logits_size() const override { return tokenizer_->vocab_size(); }
  size_t kv_bytes_per_token() const override { return bytes_per_token; }

  FakeBehaviour behaviour;
  size_t bytes_per_token = 0;
};

// The scripted model with a "<bos>" token and one chat template.
class TemplatedFakeModel : public FakeModel {
 public:
  TemplatedFakeModel(size_t context, const std::string& chat_template) : FakeModel(context) {
    template_defaults_.bos_token = "<bos>";
    chat_templates_.emplace_back("default", std::make_shared<tmpl::ChatTemplate>(chat_template));
  }
};

}  // namespace oc::test
