// Encoder outputs kept across requests: the feature rows of an image or audio window already
// encoded are reused when the same content comes again (a multi-turn chat about one image encodes
// it once). Keyed by a content hash; least recently used entries leave when the byte budget is
// exceeded. Thread-safe: the processor looks entries up on request threads, the sequence stores
// them on the engine thread.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/model.h"

namespace oc::models {

// Feature rows of one media segment, already in the element type of the tensor they are written
// into (the decoder's inputs_embeds): `rows` x `width` elements of `type`, row-major.
struct EncodedMedia {
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  int64_t rows = 0;
  int64_t width = 0;
  std::vector<uint8_t> data;
  size_t row_bytes() const { return data.size() / static_cast<size_t>(rows > 0 ? rows : 1); }
};

struct EncoderCacheStats {
  size_t entries = 0;
  size_t bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
};

class EncoderCache {
 public:
  explicit EncoderCache(size_t budget_bytes) : budget_(budget_bytes) {}

  // The entry for `key` (marked most recently used), or nullptr.
  std::shared_ptr<const EncodedMedia> find(const std::string& key);
  // Stores an entry (replacing one with the same key), then evicts the least recently used ones
  // beyond the budget. Entries larger than the budget are not kept.
  void put(const std::string& key, std::shared_ptr<const EncodedMedia> value);
  EncoderCacheStats stats() const;

 private:
  using Lru = std::list<std::pair<std::string, std::shared_ptr<const EncodedMedia>>>;
  size_t budget_;
  mutable std::mutex mu_;
  Lru lru_;  // most recent first
  std::unordered_map<std::string, Lru::iterator> index_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
};

// A content key: the modality, the encoder's identity (so two models or dtypes never share rows)
// and the SHA-256 of the bytes that determine the encoder input.
std::string encoder_cache_key(Modality modality, const std::string& encoder, const void* data, size_t size);

}  // namespace oc::models
