#include "grammar/token_table.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>

namespace oc::grammar {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xHH>": a byte-fallback token.
int fallback_byte(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  const int hi = hex_digit(piece[3]), lo = hex_digit(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

TokenTable::TokenTable(const tok::Tokenizer& tk) {
  const size_t n = tk.vocab_size();
  bytes_.resize(n);
  // A token's text in the middle of an output: decoded after an anchor token, anchor removed (a
  // token decoded alone may lose a leading space to the decoder).
  std::vector<TokenId> anchor_ids = tk.encode("a", false);
  const bool anchored = !anchor_ids.empty();
  const TokenId anchor = anchored ? anchor_ids.back() : 0;
  const std::string prefix = anchored ? tk.decode(std::span<const TokenId>(&anchor, 1), false) : std::string();
  for (size_t i = 0; i < n; ++i) {
    const TokenId id = static_cast<TokenId>(i);
    if (tk.is_special(id)) continue;
    std::string text;
    if (anchored) {
      const TokenId pair[2] = {anchor, id};
      text = tk.decode(pair, false);
      if (text.compare(0, prefix.size(), prefix) == 0)
        text.erase(0, prefix.size());
      else
        text = tk.decode(std::span<const TokenId>(&id, 1), false);
    } else {
      text = tk.decode(std::span<const TokenId>(&id, 1), false);
    }
    if (text.find(kReplacement) != std::string::npos) {
      const std::string piece = tk.id_to_token(id);
      const int b = fallback_byte(piece);
      if (b >= 0)
        text = std::string(1, static_cast<char>(b));
      else if (piece.find(kReplacement) == std::string::npos)
        text.clear();  // a piece of a character: not usable on its own
    }
    bytes_[i] = std::move(text);
  }

  // Trie in depth-first order from the byte strings sorted.
  sorted_.resize(n);
  std::iota(sorted_.begin(), sorted_.end(), 0);
  std::erase_if(sorted_, [&](TokenId id) { return bytes_[static_cast<size_t>(id)].empty(); });
  std::sort(sorted_.begin(), sorted_.end(), [&](TokenId a, TokenId b) {
    const auto& x = bytes_[static_cast<size_t>(a)];
    const auto& y = bytes_[static_cast<size_t>(b)];
    return x != y ? x < y : a < b;
  });
  nodes_.push_back(Node{});
  std::vector<uint32_t> open = {0};  // node index per depth along the current path
  const std::string* prev = nullptr;
  for (size_t k = 0; k < sorted_.size(); ++k) {
    const std::string& s = bytes_[static_cast<size_t>(sorted_[k])];
    size_t lcp = 0;
    if (prev)
      while (lcp < s.size() && lcp < prev->size() && s[lcp] == (*prev)[lcp]) ++lcp;
    while (open.size() > lcp + 1) {
      nodes_[open.back()].end = static_cast<uint32_t>(nodes_.size());
      open.pop_back();
    }
    for (size_t d = lcp; d < s.size(); ++d) {
      Node node;
      node.byte = static_cast<uint8_t>(s[d]);
      node.depth = static_cast<uint16_t>(std::min<size_t>(d + 1, UINT16_MAX));
      node.first_token = node.last_token = static_cast<uint32_t>(k);
      open.push_back(static_cast<uint32_t>(nodes_.size()));
      nodes_.push_back(node);
    }
    nodes_[open.back()].last_token = static_cast<uint32_t>(k + 1);
    max_depth_ = std::max(max_depth_, s.size());
    prev = &s;
  }
  while (!open.empty()) {
    nodes_[open.back()].end = static_cast<uint32_t>(nodes_.size());
    open.pop_back();
  }
}

const std::string& TokenTable::bytes(TokenId id) const {
  static const std::string none;
  return id >= 0 && static_cast<size_t>(id) < bytes_.size() ? bytes_[static_cast<size_t>(id)] : none;
}

std::shared_ptr<const TokenTable> TokenTable::of(const tok::Tokenizer& tokenizer) {
  // Kept for the life of the process (a server has one tokenizer); an entry whose tokenizer was
  // replaced at the same address is recognised by its size and sample pieces.
  struct Entry {
    std::shared_ptr<const TokenTable> table;
    std::string fingerprint;
  };
  static std::mutex mu;
  static std::map<const tok::Tokenizer*, Entry> cache;
  const size_t n = tokenizer.vocab_size();
  std::string fingerprint = std::to_string(n);
  for (size_t i : {size_t{0}, n / 3, n / 2, n - 1})
    if (i < n) {
      fingerprint += '\n';
      fingerprint += tokenizer.id_to_token(static_cast<TokenId>(i));
    }
  std::lock_guard lock(mu);
  Entry& e = cache[&tokenizer];
  if (!e.table || e.fingerprint != fingerprint) {
    e.table = std::make_shared<const TokenTable>(tokenizer);
    e.fingerprint = std::move(fingerprint);
  }
  return e.table;
}

}  // namespace oc::grammar
