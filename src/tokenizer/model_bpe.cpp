// BPE: merges applied lowest rank first (leftmost on ties) through a priority queue, with byte
// fallback (<0xXX> tokens), ignore_merges, end-of-word suffix and a cache of recent words.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <mutex>

#include "common/error.h"
#include "common/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace oc::tok {
namespace {

class Bpe : public Model {
 public:
  Bpe(BpeConfig config, const TokenMap& tokens) : tokens_(tokens) {
    byte_fallback_ = config.byte_fallback;
    ignore_merges_ = config.ignore_merges;
    end_of_word_suffix = config.end_of_word_suffix;
    if (end_of_word_suffix && end_of_word_suffix->empty()) end_of_word_suffix.reset();
    continuing_suffix_ = config.continuing_subword_suffix;
    if (continuing_suffix_ && continuing_suffix_->empty()) continuing_suffix_.reset();
    fuse_unk = config.fuse_unk;
    unk_token = config.unk_token;
    if (unk_token) unk_id = lookup(tokens_, *unk_token);

    // Symbols: every string of the token map keeps its id; strings that only merges know get ids
    // past the vocabulary (they never reach the output as such).
    tokens_.for_each(
        [&](const std::string&, TokenId id) { vocab_limit_ = std::max<int64_t>(vocab_limit_, int64_t{id} + 1); });
    next_extra_ = static_cast<int32_t>(vocab_limit_);
    merges_.reserve(config.merges.size());
    for (size_t rank = 0; rank < config.merges.size(); ++rank) {
      int32_t ia = symbol(config.merges.first(rank), true), ib = symbol(config.merges.second(rank), true);
      int32_t im = symbol(config.merges.joined(rank), true);
      merges_.set(key(ia, ib), Merge{static_cast<int32_t>(rank), im});
    }
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[b] = lookup(tokens_, name).value_or(-1);
    }
  }

  void encode(const std::vector<std::string>& words, std::vector<TokenId>& ids) const override {
    size_t first = ids.size();
    for (const auto& w : words) encode_word(w, ids);
    if (fuse_unk && unk_id) {
      size_t out = first;
      for (size_t i = first; i < ids.size(); ++i) {
        if (ids[i] == *unk_id && out > first && ids[out - 1] == *unk_id) continue;
        ids[out++] = ids[i];
      }
      ids.resize(out);
    }
  }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  struct Symbol {
    int32_t id;
    uint32_t start, len;
    int32_t prev, next;
  };
  struct Candidate {
    int32_t rank;
    uint32_t start;
    int32_t left, right;
    int32_t left_id, right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : start > o.start; }
  };

  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  int32_t symbol(std::string_view s, bool create) {
    if (auto id = lookup(tokens_, s)) return *id;
    if (auto id = extra_.get(s)) return *id;
    if (!create) return -1;
    extra_.set(s, next_extra_);
    return next_extra_++;
  }
  int32_t find_symbol(std::string_view s) const {
    if (auto id = lookup(tokens_, s)) return *id;
    return extra_.get(s).value_or(-1);
  }
  bool in_vocab(int32_t id) const { return id >= 0 && id < vocab_limit_; }

  void emit_piece(std::string_view piece, int32_t id, std::vector<TokenId>& ids) const {
    if (in_vocab(id)) {
      ids.push_back(id);
      return;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char b : piece)
        if (byte_ids_[b] < 0) all = false;
      if (all) {
        for (unsigned char b : piece) ids.push_back(byte_ids_[b]);
        return;
      }
    }
    if (unk_token && unk_id) ids.push_back(*unk_id);
  }

  void encode_word(const std::string& word, std::vector<TokenId>& ids) const {
    if (word.empty()) return;
    if (ignore_merges_)
      if (auto id = lookup(tokens_, word)) {
        ids.push_back(*id);
        return;
      }
    const bool cacheable = word.size() < 256;
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = cache_.find(word);
      if (it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<TokenId> out;
    bpe(word, out);
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (cache_.size() >= kCacheEntries) cache_.clear();
      cache_.emplace(word, out);
    }
    ids.insert(ids.end(), out.begin(), out.end());
  }

  void bpe(const std::string& input, std::vector<TokenId>& ids) const {
    std::string text = end_of_word_suffix ? input + *end_of_word_suffix : input;
    const size_t body = input.size();
    thread_local std::vector<Symbol> syms;  // reused: bpe() runs for every word
    syms.clear();
    syms.reserve(body);
    for (size_t i = 0; i < body;) {
      size_t start = i;
      i += utf8::seq_len(static_cast<unsigned char>(text[i]));
      if (i > body) i = body;
      size_t end = i == body ? text.size() : i;  // the suffix joins the last character
      syms.push_back(Symbol{find_symbol(std::string_view(text).substr(start, end - start)),
                            static_cast<uint32_t>(start), static_cast<uint32_t>(end - start),
                            static_cast<int32_t>(syms.size()) - 1, static_cast<int32_t>(syms.size()) + 1});
    }
    syms.back().next = -1;

    thread_local std::vector<Candidate> queue;  // a min-heap on (rank, position), reused
    queue.clear();
    auto consider = [&](int32_t l) {
      if (l < 0) return;
      int32_t r = syms[l].next;
      if (r < 0 || syms[l].id < 0 || syms[r].id < 0) return;
      const Merge* m = merges_.get(key(syms[l].id, syms[r].id));
      if (!m) return;
      queue.push_back(Candidate{m->rank, syms[l].start, l, r, syms[l].id, syms[r].id});
      std::push_heap(queue.begin(), queue.end(), std::greater<>{});
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) consider(i);
    while (!queue.empty()) {
      std::pop_heap(queue.begin(), queue.end(), std::greater<>{});
      Candidate c = queue.back();
      queue.pop_back();
      Symbol& l = syms[c.left];
      if (l.len == 0 || l.id != c.left_id || l.next != c.right) continue;
      Symbol& r = syms[c.right];
      if (r.len == 0 || r.id != c.right_id) continue;
      l.id = merges_.get(key(l.id, r.id))->merged;
      l.len += r.len;
      l.next = r.next;
      if (r.next >= 0) syms[r.next].prev = c.left;
      r.len = 0;
      consider(l.prev);
      consider(c.left);
    }

    if (continuing_suffix_) {
      std::vector<std::string> pieces;
      for (int32_t i = 0; i >= 0; i = syms[i].next) pieces.emplace_back(text.substr(syms[i].start, syms[i].len));
      for (size_t i = 0; i + 1 < pieces.size(); ++i) pieces[i] += *continuing_suffix_;
      for (const auto& p : pieces) emit_piece(p, lookup(tokens_, p).value_or(-1), ids);
      return;
    }
    for (int32_t i = 0; i >= 0; i = syms[i].next)
      emit_piece(std::string_view(text).substr(syms[i].start, syms[i].len), syms[i].id, ids);
  }

  static constexpr size_t kCacheEntries = 65536;
  const TokenMap& tokens_;
  TokenMap extra_;
  int64_t vocab_limit_ = 0;
  int32_t next_extra_ = 0;
  U64Map<Merge> merges_;
  std::array<TokenId, 256> byte_ids_{};
  bool byte_fallback_ = false, ignore_merges_ = false;
  std::optional<std::string> continuing_suffix_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<TokenId>> cache_;
};

}  // namespace

std::unique_ptr<Model> make_bpe(BpeConfig config, const TokenMap& tokens) {
  return std::make_unique<Bpe>(std::move(config), tokens);
}

}  // namespace oc::tok
