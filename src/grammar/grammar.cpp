#include "grammar/grammar.h"

#include <algorithm>

#include "common/error.h"

namespace oc::grammar {

void append(Seq& to, const Seq& from) { to.insert(to.end(), from.begin(), from.end()); }

int32_t GrammarBuilder::new_rule() {
  rules_.emplace_back();
  return static_cast<int32_t>(rules_.size() - 1);
}

void GrammarBuilder::add_alt(int32_t rule, Seq alt) { rules_[static_cast<size_t>(rule)].push_back(std::move(alt)); }

int32_t GrammarBuilder::rule_of(std::vector<Seq> alts) {
  const int32_t r = new_rule();
  rules_[static_cast<size_t>(r)] = std::move(alts);
  return r;
}

Elem GrammarBuilder::bytes(const ByteSet& set) {
  for (size_t i = 0; i < sets_.size(); ++i)
    if (sets_[i] == set) return {Elem::Kind::Bytes, static_cast<int32_t>(i)};
  sets_.push_back(set);
  return {Elem::Kind::Bytes, static_cast<int32_t>(sets_.size() - 1)};
}

Elem GrammarBuilder::byte_range(unsigned char lo, unsigned char hi) {
  ByteSet s;
  for (unsigned c = lo; c <= hi; ++c) s.set(c);
  return bytes(s);
}

Seq GrammarBuilder::literal(std::string_view text) {
  Seq s;
  for (unsigned char c : text) s.push_back(byte_range(c, c));
  return s;
}

Elem GrammarBuilder::star(const Seq& x) {
  const int32_t r = new_rule();
  Seq loop = x;
  loop.push_back(ref(r));
  add_alt(r, std::move(loop));
  add_alt(r, {});
  return ref(r);
}

Elem GrammarBuilder::optional(const Seq& x) { return ref(rule_of({x, {}})); }

Elem GrammarBuilder::repeat(const Seq& x, int64_t min, int64_t max) {
  Seq body;
  for (int64_t i = 0; i < min; ++i) append(body, x);
  if (max < 0) {
    body.push_back(star(x));
  } else if (max > min) {
    // x (x (x)?)?)? : a chain of optional tails.
    int32_t tail = rule_of({x, {}});
    for (int64_t i = min + 1; i < max; ++i) {
      Seq more = x;
      more.push_back(ref(tail));
      tail = rule_of({more, {}});
    }
    body.push_back(ref(tail));
  }
  return ref(rule_of({body}));
}

Grammar GrammarBuilder::finish(int32_t root) {
  Grammar g;
  g.root = root;
  g.sets = sets_;
  g.rules.resize(rules_.size());
  for (size_t r = 0; r < rules_.size(); ++r)
    for (const Seq& alt : rules_[r]) {
      g.rules[r].push_back(static_cast<int32_t>(g.elems.size()));
      g.elems.insert(g.elems.end(), alt.begin(), alt.end());
      g.elems.push_back({Elem::Kind::End, 0});
    }
  // Fewest bytes per rule, to a fixpoint (recursive rules start infinite).
  const int64_t inf = Grammar::kInfinite;
  std::vector<int64_t> rule_len(rules_.size(), inf);
  auto byte_len = [&](const Elem& e) {
    return g.sets[static_cast<size_t>(e.arg)].none() ? inf : 1;
  };  // empty: no match
  auto alt_len = [&](int32_t pos) {
    int64_t n = 0;
    for (; g.elems[pos].kind != Elem::Kind::End; ++pos) {
      const Elem& e = g.elems[pos];
      n += e.kind == Elem::Kind::Bytes ? byte_len(e) : rule_len[static_cast<size_t>(e.arg)];
      if (n >= inf) return inf;
    }
    return n;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < g.rules.size(); ++r)
      for (int32_t start : g.rules[r]) {
        const int64_t n = alt_len(start);
        if (n < rule_len[r]) {
          rule_len[r] = n;
          changed = true;
        }
      }
  }
  if (rule_len[static_cast<size_t>(root)] >= inf)
    throw Error(ErrorKind::InvalidRequest, "the output constraint can never be satisfied (no finite JSON matches it)",
                "", "invalid_schema");
  g.suffix_len.assign(g.elems.size(), 0);
  for (size_t i = g.elems.size(); i-- > 0;) {
    const Elem& e = g.elems[i];
    if (e.kind == Elem::Kind::End) continue;
    const int64_t own = e.kind == Elem::Kind::Bytes ? byte_len(e) : rule_len[static_cast<size_t>(e.arg)];
    g.suffix_len[i] = std::min(inf, own + g.suffix_len[i + 1]);
  }
  return g;
}

}  // namespace oc::grammar
