#include "engine/text_stream.h"

#include <algorithm>

#include "common/strings.h"

namespace oc::engine {

IncrementalDecoder::IncrementalDecoder(const tok::Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

std::string IncrementalDecoder::push(tok::TokenId id) {
  ids_.push_back(id);
  std::span<const tok::TokenId> all(ids_);
  const std::string before = tokenizer_.decode(all.subspan(prefix_, read_ - prefix_), skip_special_);
  const std::string after = tokenizer_.decode(all.subspan(prefix_), skip_special_);
  if (after.size() < before.size() || after.compare(0, before.size(), before) != 0) {
    // The window decodes differently with the new token (a decoder that rewrites earlier text):
    // hold until it is stable.
    return {};
  }
  std::string delta = after.substr(before.size());
  if (delta.empty() || !is_valid_utf8(delta)) return {};
  // Keep a few tokens of left context so that decoders that treat the first token specially
  // (leading-space stripping) see the same context again.
  prefix_ = read_;
  read_ = ids_.size();
  if (ids_.size() > 64 && prefix_ > 32) {
    ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(prefix_));
    read_ -= prefix_;
    prefix_ = 0;
  }
  return delta;
}

std::string IncrementalDecoder::flush() {
  std::span<const tok::TokenId> all(ids_);
  const std::string before = tokenizer_.decode(all.subspan(prefix_, read_ - prefix_), skip_special_);
  const std::string after = tokenizer_.decode(all.subspan(prefix_), skip_special_);
  read_ = ids_.size();
  prefix_ = read_;
  if (after.size() <= before.size()) return {};
  return after.substr(before.size());
}

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
  Result r;
  if (stops_.empty()) {
    r.text = std::string(text);
    return r;
  }
  pending_ += text;
  size_t best = std::string::npos;
  const std::string* which = nullptr;
  for (const auto& s : stops_) {
    size_t pos = pending_.find(s);
    if (pos != std::string::npos && (best == std::string::npos || pos < best)) {
      best = pos;
      which = &s;
    }
  }
  if (which) {
    r.text = pending_.substr(0, best);
    r.stopped = true;
    r.matched = *which;
    pending_.clear();
    return r;
  }
  // Hold the longest suffix of pending_ that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    const size_t max_len = std::min(s.size() - 1, pending_.size());
    for (size_t len = max_len; len > hold; --len)
      if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
  }
  r.text = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return r;
}

std::string StopMatcher::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace oc::engine
