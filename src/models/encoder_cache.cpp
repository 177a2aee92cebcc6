#include "models/encoder_cache.h"

#include "common/sha256.h"

namespace oc::models {

std::shared_ptr<const EncodedMedia> EncoderCache::find(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    misses_++;
    return nullptr;
  }
  hits_++;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void EncoderCache::put(const std::string& key, std::shared_ptr<const EncodedMedia> value) {
  if (!value) return;
  const size_t size = value->data.size();
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->second->data.size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  if (size > budget_) return;
  lru_.emplace_front(key, std::move(value));
  index_[key] = lru_.begin();
  bytes_ += size;
  while (bytes_ > budget_ && !lru_.empty()) {
    bytes_ -= lru_.back().second->data.size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

EncoderCacheStats EncoderCache::stats() const {
  std::lock_guard lock(mu_);
  return {lru_.size(), bytes_, hits_, misses_};
}

std::string encoder_cache_key(Modality modality, const std::string& encoder, const void* data, size_t size) {
  Sha256 h;
  h.update(data, size);
  return std::string(modality_name(modality)) + ":" + encoder + ":" + h.hex_digest();
}

}  // namespace oc::models
