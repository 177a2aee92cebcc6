// Unigram (Viterbi over a lattice of vocabulary pieces) and WordPiece (greedy longest match).
#include <algorithm>
#include <limits>

#include "common/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace oc::tok {
namespace {

void fuse_unknowns(std::vector<TokenId>& ids, size_t first, std::optional<TokenId> unk) {
  if (!unk) return;
  size_t out = first;
  for (size_t i = first; i < ids.size(); ++i) {
    if (ids[i] == *unk && out > first && ids[out - 1] == *unk) continue;
    ids[out++] = ids[i];
  }
  ids.resize(out);
}

class WordPiece : public Model {
 public:
  WordPiece(WordPieceConfig c, const TokenMap& tokens) : tokens_(tokens), config_(std::move(c)) {
    unk_token = config_.unk_token;
    if (unk_token) unk_id = lookup(tokens_, *unk_token);
    fuse_unk = config_.fuse_unk;
  }
  void encode(const std::vector<std::string>& words, std::vector<TokenId>& ids) const override {
    size_t first = ids.size();
    for (const auto& w : words) word(w, ids);
    if (fuse_unk) fuse_unknowns(ids, first, unk_id);
  }

 private:
  void word(const std::string& w, std::vector<TokenId>& ids) const {
    std::vector<size_t> bounds;  // byte offset of every code point, plus the end
    for (size_t i = 0; i < w.size();) {
      bounds.push_back(i);
      utf8::next(w, i);
    }
    bounds.push_back(w.size());
    size_t n = bounds.size() - 1;
    auto push_unk = [&] {
      if (unk_id) ids.push_back(*unk_id);
    };
    if (n > config_.max_input_chars_per_word) return push_unk();
    std::vector<TokenId> sub;
    size_t start = 0;
    std::string candidate;
    while (start < n) {
      size_t end = n;
      std::optional<TokenId> found;
      while (start < end) {
        candidate.clear();
        if (start > 0) candidate = config_.continuing_subword_prefix;
        candidate.append(w, bounds[start], bounds[end] - bounds[start]);
        if ((found = lookup(tokens_, candidate))) break;
        --end;
      }
      if (!found) return push_unk();
      sub.push_back(*found);
      start = end;
    }
    ids.insert(ids.end(), sub.begin(), sub.end());
  }

  const TokenMap& tokens_;
  WordPieceConfig config_;
};

class Unigram : public Model {
 public:
  Unigram(UnigramConfig c, const TokenMap& tokens) : tokens_(tokens) {
    pieces_.reserve(c.vocab.size());
    scores_.reserve(c.vocab.size());
    double min_score = std::numeric_limits<double>::infinity();
    for (auto& [p, s] : c.vocab) {
      pieces_.push_back(p);
      scores_.push_back(s);
      min_score = std::min(min_score, s);
    }
    unk_id = c.unk_id;
    if (unk_id && *unk_id >= 0 && static_cast<size_t>(*unk_id) < pieces_.size()) unk_token = pieces_[*unk_id];
    unk_score_ = min_score - 10;
    if (unk_id && static_cast<size_t>(*unk_id) < scores_.size()) scores_[*unk_id] = unk_score_;
    fuse_unk = true;
    nodes_.push_back({});
    // The reference's token -> id map keeps the last index of a duplicated piece.
    for (size_t i = 0; i < pieces_.size(); ++i) {
      const std::string& p = pieces_[i];
      int32_t node = 0;
      for (unsigned char b : p) {
        auto it = edges_.find(edge(node, b));
        if (it == edges_.end()) {
          nodes_.push_back({});
          it = edges_.emplace(edge(node, b), static_cast<int32_t>(nodes_.size() - 1)).first;
        }
        node = it->second;
      }
      nodes_[node].piece = static_cast<int32_t>(i);
    }
  }

  void encode(const std::vector<std::string>& words, std::vector<TokenId>& ids) const override {
    size_t first = ids.size();
    for (const auto& w : words) word(w, ids);
    fuse_unknowns(ids, first, unk_id);
  }

 private:
  struct TrieNode {
    int32_t piece = -1;
  };
  struct LatticeNode {
    TokenId id;
    size_t pos, len;  // in code points
    double score;
    double backtrace = 0;
    int32_t prev = -1;
  };
  static uint64_t edge(int32_t node, unsigned char b) { return (static_cast<uint64_t>(node) << 8) | b; }

  void word(const std::string& w, std::vector<TokenId>& ids) const {
    if (w.empty()) return;
    std::vector<size_t> bounds;
    for (size_t i = 0; i < w.size();) {
      bounds.push_back(i);
      utf8::next(w, i);
    }
    size_t n = bounds.size();
    bounds.push_back(w.size());
    std::vector<LatticeNode> nodes;
    std::vector<std::vector<int32_t>> begin(n + 1), end(n + 1);
    nodes.push_back({0, 0, 0, 0});  // bos
    nodes.push_back({0, n, 0, 0});  // eos
    begin[n].push_back(1);
    end[0].push_back(0);
    auto insert = [&](size_t pos, size_t len, double score, TokenId id) {
      nodes.push_back({id, pos, len, score});
      int32_t k = static_cast<int32_t>(nodes.size() - 1);
      begin[pos].push_back(k);
      end[pos + len].push_back(k);
    };
    for (size_t pos = 0; pos < n; ++pos) {
      bool single = false;
      int32_t node = 0;
      size_t cp_index = pos;
      for (size_t b = bounds[pos]; b < w.size(); ++b) {
        auto it = edges_.find(edge(node, static_cast<unsigned char>(w[b])));
        if (it == edges_.end()) break;
        node = it->second;
        if (b + 1 == bounds[cp_index + 1]) {
          ++cp_index;
          int32_t piece = nodes_[node].piece;
          if (piece >= 0) {
            auto id = lookup(tokens_, pieces_[piece]);
            TokenId tid = id.value_or(piece);
            size_t len = cp_index - pos;
            insert(pos, len, scores_[tid < static_cast<TokenId>(scores_.size()) && tid >= 0 ? tid : piece], tid);
            if (len == 1) single = true;
          }
        }
      }
      if (!single) insert(pos, 1, unk_score_, unk_id.value_or(0));
    }
    for (size_t pos = 0; pos <= n; ++pos) {
      if (begin[pos].empty()) return;
      for (int32_t r : begin[pos]) {
        int32_t best = -1;
        double best_score = 0;
        for (int32_t l : end[pos]) {
          double s = nodes[l].backtrace + nodes[r].score;
          if (best < 0 || s > best_score) best = l, best_score = s;
        }
        if (best < 0) return;
        nodes[r].prev = best;
        nodes[r].backtrace = best_score;
      }
    }
    std::vector<TokenId> out;
    for (int32_t k = nodes[1].prev; k > 0; k = nodes[k].prev) {
      const auto& node = nodes[k];
      std::string_view piece =
          std::string_view(w).substr(bounds[node.pos], bounds[node.pos + node.len] - bounds[node.pos]);
      auto id = lookup(tokens_, piece);
      if (id)
        out.push_back(*id);
      else if (unk_id)
        out.push_back(*unk_id);
    }
    std::reverse(out.begin(), out.end());
    ids.insert(ids.end(), out.begin(), out.end());
  }

  const TokenMap& tokens_;
  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  double unk_score_ = 0;
  std::vector<TrieNode> nodes_;
  std::unordered_map<uint64_t, int32_t> edges_;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(WordPieceConfig config, const TokenMap& tokens) {
  return std::make_unique<WordPiece>(std::move(config), tokens);
}
std::unique_ptr<Model> make_unigram(UnigramConfig config, const TokenMap& tokens) {
  return std::make_unique<Unigram>(std::move(config), tokens);
}

}  // namespace oc::tok
