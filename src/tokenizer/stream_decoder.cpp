// Streaming decode: each push decodes a small window of recent ids and emits what the new id added,
// holding back text that may still change (an incomplete UTF-8 sequence shown as U+FFFD, trailing
// spaces that clean-up or stripping could remove). The window restarts at the last id whenever
// everything is emitted, so a push costs O(1) decoded tokens in the common case. Any inconsistency
// falls back to decoding all ids, so the deltas always add up to decode(all ids).
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace oc::tok {

struct StreamDecoder::State {
  const Tokenizer* tokenizer = nullptr;
  bool skip = false;
  bool cleanup = true;  // unknown implementations: assume clean-up
  std::vector<TokenId> ids;
  size_t window = 0;        // first id of the window
  std::string window_text;  // emitted part of decode(ids[window:])
  std::string emitted;      // everything emitted so far
  bool broken = false;

  std::string decode_from(size_t from) const {
    return tokenizer->decode(std::span<const TokenId>(ids).subspan(from), skip);
  }

  // Length of the prefix of text that can no longer change.
  size_t stable_length(const std::string& text) const {
    size_t end = text.size();
    auto ends_with = [&](std::string_view s) {
      return end >= s.size() && std::string_view(text).substr(end - s.size(), s.size()) == s;
    };
    bool changed = true;
    while (changed && end > 0) {
      changed = false;
      if (ends_with("\xEF\xBF\xBD")) {
        end -= 3;
        changed = true;
      } else if (text[end - 1] == ' ') {
        --end;
        changed = true;
      } else if (cleanup) {
        // A trailing "'" may be " ' " cleaned up, which the next token can undo (" ' ," gives " ',").
        for (std::string_view p : {" n'", " 'v", " 'r", " '", " n", "'"})
          if (ends_with(p)) {
            end -= p.size();
            changed = true;
            break;
          }
      }
    }
    return end;
  }

  std::string resync() {
    std::string full = decode_from(0);
    if (full.compare(0, emitted.size(), emitted) != 0) {
      broken = true;  // cannot take back what was sent; flush() gives up on the rest
      return {};
    }
    size_t stable = std::max(stable_length(full), emitted.size());
    std::string delta = full.substr(emitted.size(), stable - emitted.size());
    emitted += delta;
    window = 0;
    window_text = emitted;
    return delta;
  }

  std::string push(TokenId id) {
    ids.push_back(id);
    if (broken) return {};
    std::string text = decode_from(window);
    if (text.compare(0, window_text.size(), window_text) != 0) return resync();
    size_t stable = stable_length(text);
    std::string delta;
    if (stable > window_text.size()) {
      delta = text.substr(window_text.size(), stable - window_text.size());
      window_text.append(delta);
      emitted += delta;
    }
    // Everything emitted: restart the window at the last id when its own text ends the output.
    if (stable == text.size() && window_text.size() == text.size() && ids.size() - window > 1) {
      std::string last = decode_from(ids.size() - 1);
      if (!last.empty() && emitted.size() >= last.size() &&
          emitted.compare(emitted.size() - last.size(), last.size(), last) == 0) {
        window = ids.size() - 1;
        window_text = std::move(last);
      }
    }
    return delta;
  }

  std::string flush() {
    if (broken) return {};
    std::string full = decode_from(0);
    if (full.compare(0, emitted.size(), emitted) != 0) return {};
    std::string delta = full.substr(emitted.size());
    emitted = full;
    window = 0;  // later pushes stay exact (and slower): a stream normally ends here
    window_text = full;
    return delta;
  }
};

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens) : state_(std::make_unique<State>()) {
  state_->tokenizer = &tokenizer;
  state_->skip = skip_special_tokens;
  if (auto impl = dynamic_cast<const TokenizerImpl*>(&tokenizer)) state_->cleanup = impl->cleans_up_spaces();
}

StreamDecoder::~StreamDecoder() = default;
StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;

std::string StreamDecoder::push(TokenId id) { return state_->push(id); }
std::string StreamDecoder::flush() { return state_->flush(); }

}  // namespace oc::tok
