#include "grammar/matcher.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/error.h"

namespace oc::grammar {

namespace {
constexpr int32_t kDead = -1;
constexpr int32_t kUnknown = -2;
constexpr size_t kMaxCachedMasks = 64;
// Stacks stepped over (summed over every computed transition) per allowed parser state.
constexpr size_t kWorkPerState = 256;

// A set of 64-bit keys emptied in constant time: open addressing, each slot stamped with the
// generation that filled it. expand() clears it for every transition it computes, and a node-based
// set's allocations and bucket sweeps were most of that cost.
class KeySet {
 public:
  // Whether key was new.
  bool insert(uint64_t key) {
    if ((size_ + 1) * 2 > keys_.size()) grow();
    const size_t mask = keys_.size() - 1;
    for (size_t i = slot(key, mask);; i = (i + 1) & mask) {
      if (gens_[i] != gen_) {
        gens_[i] = gen_;
        keys_[i] = key;
        ++size_;
        return true;
      }
      if (keys_[i] == key) return false;
    }
  }
  void clear() {
    size_ = 0;
    if (++gen_ == 0) {  // generations wrapped: forget every stamp
      std::fill(gens_.begin(), gens_.end(), 0u);
      gen_ = 1;
    }
  }

 private:
  static size_t slot(uint64_t key, size_t mask) {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
  }
  void grow() {
    std::vector<uint64_t> keys = std::move(keys_);
    std::vector<uint32_t> gens = std::move(gens_);
    keys_.assign(std::max<size_t>(64, keys.size() * 2), 0);
    gens_.assign(keys_.size(), 0);
    const uint32_t live = gen_;
    gen_ = 1;
    size_ = 0;
    for (size_t i = 0; i < keys.size(); ++i)
      if (gens[i] == live) insert(keys[i]);
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> gens_;
  uint32_t gen_ = 1;
  size_t size_ = 0;
};
}  // namespace

class Automaton {
 public:
  Automaton(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenTable> t, std::vector<TokenId> ends,
            size_t max_states)
      : g_(std::move(g)), t_(std::move(t)), ends_(std::move(ends)), max_states_(max_states) {
    std::vector<int32_t> tops;
    bool accept = false;
    visited_.clear();
    for (int32_t start : g_->rules[static_cast<size_t>(g_->root)]) expand(start, -1, tops, accept);
    initial_ = intern(std::move(tops), accept);
  }

  std::mutex mu;

  int32_t initial() const { return initial_; }
  bool accepting(int32_t s) const { return s >= 0 && states_[static_cast<size_t>(s)].accept; }
  int64_t dist(int32_t s) const { return s < 0 ? Grammar::kInfinite : states_[static_cast<size_t>(s)].dist; }
  bool is_end(TokenId id) const { return std::find(ends_.begin(), ends_.end(), id) != ends_.end(); }
  const TokenTable& tokens() const { return *t_; }

  int32_t step(int32_t s, uint8_t b) {
    State& st = states_[static_cast<size_t>(s)];
    if (!st.next.empty() && st.next[b] != kUnknown) return st.next[b];
    return compute_step(s, b);
  }

  int32_t walk(int32_t s, const std::string& bytes) {
    for (unsigned char c : bytes) {
      s = step(s, c);
      if (s < 0) return kDead;
    }
    return s;
  }

  // Allowed tokens from state s with at most `budget` bytes of completion after them; false when
  // none (and s is not accepting).
  bool fill(int32_t s, int64_t budget, size_t vocab, std::vector<uint32_t>& words) {
    words.assign((vocab + 31) / 32, 0);
    auto cached = masks_.find(s);
    if (cached != masks_.end() && cached->second.max_dist <= budget) {
      const auto& w = cached->second.words;
      std::memcpy(words.data(), w.data(), std::min(w.size(), words.size()) * sizeof(uint32_t));
    } else {
      Mask m;
      m.words.assign((t_->vocab_size() + 31) / 32, 0);
      const bool cut = walk_trie(s, budget, m);
      std::memcpy(words.data(), m.words.data(), std::min(m.words.size(), words.size()) * sizeof(uint32_t));
      if (!cut) {
        if (masks_.size() >= kMaxCachedMasks) masks_.clear();
        masks_[s] = std::move(m);
      }
    }
    bool any = false;
    for (uint32_t w : words) any |= w != 0;
    if (accepting(s))
      for (TokenId id : ends_)
        if (id >= 0 && static_cast<size_t>(id) < vocab) {
          words[static_cast<size_t>(id) / 32] |= 1u << (id % 32);
          any = true;
        }
    return any;
  }

 private:
  struct Frame {
    int32_t pos = 0;
    int32_t parent = -1;
    int64_t dist = 0;  // fewest bytes to empty the stack from this frame down
  };
  struct State {
    std::vector<int32_t> tops;  // frames whose element is a byte set
    bool accept = false;        // a stack is empty: the input so far is a whole match
    int64_t dist = 0;           // fewest bytes to a whole match
    std::vector<int32_t> next;  // per byte: the next state, kDead or kUnknown (empty until used)
  };
  struct Mask {
    std::vector<uint32_t> words;
    int64_t max_dist = 0;  // the largest completion length among the allowed tokens
  };

  static uint64_t frame_key(int32_t pos, int32_t parent) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(pos)) << 32) | static_cast<uint32_t>(parent);
  }

  int32_t frame(int32_t pos, int32_t parent) {
    auto [it, inserted] = frame_index_.try_emplace(frame_key(pos, parent), static_cast<int32_t>(frames_.size()));
    if (inserted) {
      const int64_t below = parent < 0 ? 0 : frames_[static_cast<size_t>(parent)].dist;
      frames_.push_back({pos, parent, std::min(Grammar::kInfinite, g_->suffix_len[static_cast<size_t>(pos)] + below)});
    }
    return it->second;
  }

  // Every stack reached from "at pos, then return to parent" whose top is a byte set.
  void expand(int32_t pos, int32_t parent, std::vector<int32_t>& tops, bool& accept) {
    if (!visited_.insert(frame_key(pos, parent))) return;
    const Elem& e = g_->elems[static_cast<size_t>(pos)];
    switch (e.kind) {
      case Elem::Kind::End:
        if (parent < 0) {
          accept = true;
        } else {
          const Frame f = frames_[static_cast<size_t>(parent)];
          expand(f.pos, f.parent, tops, accept);
        }
        return;
      case Elem::Kind::Bytes:
        tops.push_back(frame(pos, parent));
        return;
      case Elem::Kind::Rule: {
        const int32_t next = pos + 1;
        const int32_t ret = g_->elems[static_cast<size_t>(next)].kind == Elem::Kind::End ? parent : frame(next, parent);
        for (int32_t start : g_->rules[static_cast<size_t>(e.arg)]) expand(start, ret, tops, accept);
        return;
      }
    }
  }

  // A configuration from which no input completes the grammar is dead.
  int32_t intern(std::vector<int32_t> tops, bool accept) {
    if (tops.empty() && !accept) return kDead;
    if (!accept && std::all_of(tops.begin(), tops.end(),
                               [&](int32_t f) { return frames_[static_cast<size_t>(f)].dist >= Grammar::kInfinite; }))
      return kDead;
    std::sort(tops.begin(), tops.end());
    tops.erase(std::unique(tops.begin(), tops.end()), tops.end());
    std::string key(1, accept ? '1' : '0');
    key.append(reinterpret_cast<const char*>(tops.data()), tops.size() * sizeof(int32_t));
    auto [it, inserted] = state_index_.try_emplace(std::move(key), static_cast<int32_t>(states_.size()));
    if (inserted) {
      if (states_.size() >= max_states_) {
        state_index_.erase(it);
        throw Error(ErrorKind::Unsupported, "the output grammar is too complex: it needs more than " +
                                                std::to_string(max_states_) +
                                                " parser states (simplify the schema's patterns)");
      }
      State st;
      st.accept = accept;
      st.dist = accept ? 0 : Grammar::kInfinite;
      for (int32_t f : tops) st.dist = std::min(st.dist, frames_[static_cast<size_t>(f)].dist);
      st.tops = std::move(tops);
      states_.push_back(std::move(st));
    }
    return it->second;
  }

  int32_t compute_step(int32_t s, uint8_t b) {
    std::vector<int32_t> tops;
    bool accept = false;
    visited_.clear();
    // expand() adds frames, never states: the source state's stacks stay where they are.
    const std::vector<int32_t>& from = states_[static_cast<size_t>(s)].tops;
    // Few states can still be costly when each holds many stacks: the work of all steps is
    // bounded too.
    work_ += from.size();
    if (work_ > max_states_ * kWorkPerState)
      throw Error(ErrorKind::Unsupported,
                  "the output grammar is too complex: its parser states hold too many stacks "
                  "(simplify the schema's patterns)");
    for (int32_t f : from) {
      const Frame fr = frames_[static_cast<size_t>(f)];
      const Elem& e = g_->elems[static_cast<size_t>(fr.pos)];
      if (g_->sets[static_cast<size_t>(e.arg)].test(b)) expand(fr.pos + 1, fr.parent, tops, accept);
    }
    const int32_t next = intern(std::move(tops), accept);
    State& st = states_[static_cast<size_t>(s)];
    if (st.next.empty()) st.next.assign(256, kUnknown);
    st.next[b] = next;
    return next;
  }

  // Depth-first over the token trie; returns whether the budget removed any token.
  bool walk_trie(int32_t s, int64_t budget, Mask& m) {
    const auto& nodes = t_->nodes();
    const auto& ids = t_->sorted_ids();
    std::vector<int32_t> at(t_->max_depth() + 1, kDead);
    at[0] = s;
    bool cut = false;
    for (size_t i = 1; i < nodes.size();) {
      const TokenTable::Node& n = nodes[i];
      const int32_t ns = step(at[n.depth - 1u], n.byte);
      if (ns < 0) {
        i = n.end;
        continue;
      }
      at[n.depth] = ns;
      if (n.first_token < n.last_token) {
        const int64_t d = states_[static_cast<size_t>(ns)].dist;
        if (d <= budget) {
          m.max_dist = std::max(m.max_dist, d);
          for (uint32_t k = n.first_token; k < n.last_token; ++k) {
            const auto id = static_cast<uint32_t>(ids[k]);
            m.words[id / 32] |= 1u << (id % 32);
          }
        } else {
          cut = true;
        }
      }
      ++i;
    }
    return cut;
  }

  std::shared_ptr<const Grammar> g_;
  std::shared_ptr<const TokenTable> t_;
  std::vector<TokenId> ends_;
  size_t max_states_;
  size_t work_ = 0;  // stacks stepped over so far
  std::vector<Frame> frames_;
  std::unordered_map<uint64_t, int32_t> frame_index_;
  std::vector<State> states_;
  std::unordered_map<std::string, int32_t> state_index_;
  std::unordered_map<int32_t, Mask> masks_;
  KeySet visited_;  // expand()'s guard against empty cycles and repeats
  int32_t initial_ = 0;
};

Constraint::Constraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTable> tokens,
                       std::vector<TokenId> end_ids, size_t max_states)
    : automaton_(std::make_shared<Automaton>(std::move(grammar), std::move(tokens), std::move(end_ids), max_states)) {}

Constraint::~Constraint() = default;

std::unique_ptr<Matcher> Constraint::new_matcher() const { return std::make_unique<Matcher>(automaton_); }

int64_t Constraint::min_length() const {
  std::lock_guard lock(automaton_->mu);
  return automaton_->dist(automaton_->initial());
}

Matcher::Matcher(std::shared_ptr<Automaton> automaton) : automaton_(std::move(automaton)) {
  state_ = automaton_->initial();
}

bool Matcher::is_end(TokenId id) const { return automaton_->is_end(id); }

bool Matcher::complete() const {
  std::lock_guard lock(automaton_->mu);
  return automaton_->accepting(state_);
}

bool Matcher::allows(TokenId id, int remaining) const {
  std::lock_guard lock(automaton_->mu);
  if (automaton_->is_end(id)) return automaton_->accepting(state_);
  const std::string& bytes = automaton_->tokens().bytes(id);
  if (bytes.empty()) return false;
  const int32_t ns = automaton_->walk(state_, bytes);
  return ns >= 0 && automaton_->dist(ns) <= static_cast<int64_t>(remaining) - 1;
}

bool Matcher::mask(int remaining, size_t vocab, std::vector<uint32_t>& words) const {
  std::lock_guard lock(automaton_->mu);
  if (automaton_->fill(state_, static_cast<int64_t>(remaining) - 1, vocab, words)) return true;
  return automaton_->fill(state_, Grammar::kInfinite, vocab, words);
}

void Matcher::accept(TokenId id) {
  std::lock_guard lock(automaton_->mu);
  if (automaton_->is_end(id)) return;
  const int32_t ns = automaton_->walk(state_, automaton_->tokens().bytes(id));
  if (ns < 0 || automaton_->tokens().bytes(id).empty())
    throw Error(ErrorKind::Internal, "token " + std::to_string(id) + " does not match the output grammar");
  state_ = ns;
}

}  // namespace oc::grammar
