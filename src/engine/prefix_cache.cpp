#include "engine/prefix_cache.h"

#include <algorithm>

namespace oc::engine {

PrefixCache::PrefixCache(size_t bytes_per_token, size_t max_entries)
    : bytes_per_token_(bytes_per_token), max_entries_(std::max<size_t>(max_entries, 1)) {}

size_t PrefixCache::bytes() const {
  size_t total = 0;
  for (const auto& e : entries_) total += e.tokens.size() * bytes_per_token_;
  return total;
}

size_t PrefixCache::usable(const Entry& e, const models::Prompt& prompt) const {
  // At least the prompt's last token is run, for the logits of the first generated token.
  const size_t limit = std::min(e.tokens.size(), prompt.ids.size() - 1);
  size_t n = 0;
  while (n < limit && e.tokens[n] == prompt.ids[n]) ++n;
  // Media: a prefix never ends inside a segment, and each segment it covers must be the same.
  for (const auto& seg : prompt.media) {
    if (seg.position >= n) break;
    const MediaKey key{seg.position, seg.length, seg.content_hash};
    const bool same = !seg.content_hash.empty() && std::find(e.media.begin(), e.media.end(), key) != e.media.end();
    if (seg.position + seg.length > n || !same) {
      n = seg.position;
      break;
    }
  }
  return n;
}

PrefixCache::Match PrefixCache::take(const models::Prompt& prompt) {
  Match m;
  if (prompt.ids.size() < 2) return m;
  auto best = entries_.end();
  size_t best_n = 0;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const size_t n = usable(*it, prompt);
    if (n > best_n) {
      best_n = n;
      best = it;
    }
  }
  if (best == entries_.end()) return m;
  m.seq = best->seq->fork_prefix(best_n);
  m.tokens = best_n;
  entries_.splice(entries_.begin(), entries_, best);
  hits_++;
  tokens_reused_ += best_n;
  return m;
}

void PrefixCache::insert(std::vector<models::TokenId> tokens, const std::vector<models::MediaSegment>& media,
                         std::unique_ptr<models::Sequence> seq) {
  if (!seq || seq->length() == 0) return;
  tokens.resize(std::min(tokens.size(), seq->length()));
  if (tokens.size() < seq->length()) return;  // the cache holds tokens we cannot name
  Entry e;
  e.tokens = std::move(tokens);
  for (const auto& seg : media)
    if (seg.position + seg.length <= e.tokens.size()) e.media.push_back({seg.position, seg.length, seg.content_hash});
  // An entry that is a prefix of the new one adds nothing; the new one adds nothing over a longer
  // entry it is a prefix of.
  auto media_before = [](const std::vector<MediaKey>& m, size_t n) {
    std::vector<MediaKey> out;
    for (const auto& k : m)
      if (k.position + k.length <= n) out.push_back(k);
    return out;
  };
  for (auto it = entries_.begin(); it != entries_.end();) {
    const auto& t = it->tokens;
    const size_t common = std::min(t.size(), e.tokens.size());
    const bool same = std::equal(t.begin(), t.begin() + static_cast<ptrdiff_t>(common), e.tokens.begin()) &&
                      media_before(it->media, common) == media_before(e.media, common);
    if (same && t.size() >= e.tokens.size()) {
      entries_.splice(entries_.begin(), entries_, it);
      return;
    }
    it = same ? entries_.erase(it) : std::next(it);
  }
  e.seq = std::move(seq);
  entries_.push_front(std::move(e));
  while (entries_.size() > max_entries_) entries_.pop_back();
}

size_t PrefixCache::shrink_to(size_t limit) {
  size_t freed = 0;
  size_t held = bytes();
  while (!entries_.empty() && held > limit) {
    const size_t b = entries_.back().tokens.size() * bytes_per_token_;
    entries_.pop_back();
    held -= b;
    freed += b;
  }
  return freed;
}

}  // namespace oc::engine
