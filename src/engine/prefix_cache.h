// Sequences kept after their requests ended, so that a request whose prompt starts with the same
// tokens (and the same media, by content hash) reuses their KV cache and prefills only the rest:
// the turns of a chat, a shared system prompt, several questions about one image. Entries are
// copied out for reuse (a cached prefix never changes) and evicted least recently used first.
// Used from the engine's loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "models/model.h"

namespace oc::engine {

class PrefixCache {
 public:
  // bytes_per_token: KV bytes of one cached token (0: unknown, only max_entries bounds the cache).
  PrefixCache(size_t bytes_per_token, size_t max_entries = 64);

  struct Match {
    std::unique_ptr<models::Sequence> seq;  // a copy holding the reused prefix; null when none
    size_t tokens = 0;                      // prompt tokens it covers
  };
  // The longest cached prefix of `prompt` that ends before its last token and outside every media
  // segment, with each media segment inside it matching by position, length and content hash.
  Match take(const models::Prompt& prompt);

  // Keeps `seq`, whose cache holds `tokens` (prompt ids then generated ids; only the first
  // seq->length() count) and the prompt's media segments.
  void insert(std::vector<models::TokenId> tokens, const std::vector<models::MediaSegment>& media,
              std::unique_ptr<models::Sequence> seq);

  // Drops least recently used entries until at most `bytes` are held; returns the bytes freed.
  size_t shrink_to(size_t bytes);
  void clear() { entries_.clear(); }

  size_t bytes() const;
  size_t entries() const { return entries_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t tokens_reused() const { return tokens_reused_; }

 private:
  struct MediaKey {
    size_t position = 0, length = 0;
    std::string hash;
    bool operator==(const MediaKey&) const = default;
  };
  struct Entry {
    std::vector<models::TokenId> tokens;  // exactly the cached ones
    std::vector<MediaKey> media;
    std::unique_ptr<models::Sequence> seq;
  };
  size_t usable(const Entry& e, const models::Prompt& prompt) const;

  size_t bytes_per_token_;
  size_t max_entries_;
  std::list<Entry> entries_;  // most recently used first
  uint64_t hits_ = 0;
  uint64_t tokens_reused_ = 0;
};

}  // namespace oc::engine
