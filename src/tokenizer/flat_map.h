// Open-addressing hash maps for the tokenizer's large tables (internal): string -> id for the
// vocabulary (keys stored once, contiguous slots) and uint64 -> value for BPE merges. Loading a
// 262k-token, 515k-merge tokenizer spends most of its time here, hence no node-based maps.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oc::tok {

class StringIdMap {
 public:
  std::optional<int32_t> get(std::string_view key) const {
    if (slots_.empty()) return std::nullopt;
    uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index < 0) return std::nullopt;
      if (s.tag == static_cast<uint32_t>(h >> 32) && keys_[s.index] == key) return values_[s.index];
    }
  }
  // Inserts or replaces.
  void set(std::string_view key, int32_t value) {
    if ((keys_.size() + 1) * 10 > slots_.size() * 7) grow(slots_.empty() ? 64 : slots_.size() * 2);
    uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.index < 0) {
        s = Slot{static_cast<uint32_t>(h >> 32), static_cast<int32_t>(keys_.size())};
        keys_.emplace_back(key);
        values_.push_back(value);
        return;
      }
      if (s.tag == static_cast<uint32_t>(h >> 32) && keys_[s.index] == key) {
        values_[s.index] = value;
        return;
      }
    }
  }
  void reserve(size_t n) {
    keys_.reserve(n);
    values_.reserve(n);
    size_t cap = 64;
    while (cap * 7 < n * 10) cap *= 2;
    if (cap > slots_.size()) grow(cap);
  }
  size_t size() const { return keys_.size(); }
  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < keys_.size(); ++i) f(keys_[i], values_[i]);
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    int32_t index = -1;
  };
  static uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s)*0x9E3779B97F4A7C15ull; }
  void grow(size_t cap) {
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (size_t k = 0; k < keys_.size(); ++k) {
      uint64_t h = hash(keys_[k]);
      size_t i = h & mask_;
      while (slots_[i].index >= 0) i = (i + 1) & mask_;
      slots_[i] = Slot{static_cast<uint32_t>(h >> 32), static_cast<int32_t>(k)};
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<std::string> keys_;
  std::vector<int32_t> values_;
};

// uint64 keys (never ~0) -> V.
template <typename V>
class U64Map {
 public:
  const V* get(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) return nullptr;
      if (slots_[i].key == key) return &slots_[i].value;
    }
  }
  void set(uint64_t key, V value) {
    if ((size_ + 1) * 10 > slots_.size() * 7) grow(slots_.empty() ? 64 : slots_.size() * 2);
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) {
        slots_[i] = Slot{key, value};
        ++size_;
        return;
      }
      if (slots_[i].key == key) {
        slots_[i].value = value;
        return;
      }
    }
  }
  void reserve(size_t n) {
    size_t cap = 64;
    while (cap * 7 < n * 10) cap *= 2;
    if (cap > slots_.size()) grow(cap);
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
  }
  void grow(size_t cap) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    size_ = 0;
    for (const auto& s : old)
      if (s.key != kEmpty) set(s.key, s.value);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

}  // namespace oc::tok
