#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "engine/sampler.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "support/byte_tokenizer.h"

namespace oc::grammar {
namespace {

using test::ByteTokenizer;

const ByteTokenizer& tokenizer() {
  static const ByteTokenizer t({"{\"", "\":", "\",\"", "true", "false", "null", "  ", "\"}", "12", "ab"});
  return t;
}

std::shared_ptr<Constraint> constraint_for(const std::string& schema, const ByteTokenizer& vocab = tokenizer()) {
  GrammarBuilder b;
  const int32_t root = b.rule_of({{add_json_schema(b, schema)}});
  auto g = std::make_shared<const Grammar>(b.finish(root));
  return std::make_shared<Constraint>(g, TokenTable::of(vocab), std::vector<TokenId>{vocab.eos()});
}

// Whether the grammar takes `text` whole (fed one byte token at a time).
bool matches(const Constraint& c, const std::string& text) {
  auto m = c.new_matcher();
  for (unsigned char ch : text) {
    if (!m->allows(ch, 1 << 20)) return false;
    m->accept(ch);
  }
  return m->complete();
}

TEST(JsonSchemaGrammar, ObjectWithRequiredAndOptionalProperties) {
  auto c = constraint_for(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},
                              "required":["a"],"additionalProperties":false})");
  EXPECT_TRUE(matches(*c, R"({"a":1})"));
  EXPECT_TRUE(matches(*c, R"({ "a" : -12 , "b":"x\"y"})"));
  EXPECT_FALSE(matches(*c, R"({"b":"x"})"));
  EXPECT_FALSE(matches(*c, R"({"a":1.5})"));
  EXPECT_FALSE(matches(*c, R"({"a":1,"c":2})"));
  EXPECT_FALSE(matches(*c, R"({"a":01})"));
}

TEST(JsonSchemaGrammar, EnumsArraysAndAnyOf) {
  auto c = constraint_for(R"({"type":"array","items":{"anyOf":[{"enum":["x",2,null]},{"type":"boolean"}]},
                              "minItems":1,"maxItems":3})");
  EXPECT_TRUE(matches(*c, R"(["x"])"));
  EXPECT_TRUE(matches(*c, R"([2, null, true])"));
  EXPECT_FALSE(matches(*c, R"([])"));
  EXPECT_FALSE(matches(*c, R"([2,2,2,2])"));
  EXPECT_FALSE(matches(*c, R"(["y"])"));
}

TEST(JsonSchemaGrammar, RecursiveRefs) {
  auto c = constraint_for(R"({"$defs":{"node":{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#/$defs/node"},
                              {"type":"null"}]}},"required":["next"],"additionalProperties":false}},"$ref":"#/$defs/node"})");
  EXPECT_TRUE(matches(*c, R"({"next":{"next":null}})"));
  EXPECT_FALSE(matches(*c, R"({"next":{}})"));
}

TEST(JsonSchemaGrammar, IntegerRanges) {
  auto c = constraint_for(R"({"type":"integer","minimum":-17,"exclusiveMaximum":230})");
  for (int i = -300; i <= 300; ++i) EXPECT_EQ(matches(*c, std::to_string(i)), i >= -17 && i < 230) << i;
}

TEST(JsonSchemaGrammar, OneSidedIntegerBoundsStaySmall) {
  // A bound on one side runs to the largest 15-digit number: the grammar grows with the digits, not
  // with the number of values (it once doubled per digit: 98,278 rules).
  for (const char* schema : {R"({"type":"integer","minimum":-85})", R"({"type":"integer","exclusiveMaximum":922})"}) {
    GrammarBuilder b;
    const int32_t root = b.rule_of({{add_json_schema(b, schema)}});
    EXPECT_LT(b.finish(root).rules.size(), 500u) << schema;
  }
  auto c = constraint_for(R"({"type":"integer","minimum":-85})");
  for (int i = -300; i <= 300; ++i) EXPECT_EQ(matches(*c, std::to_string(i)), i >= -85) << i;
  EXPECT_TRUE(matches(*c, "999999999999999"));
  EXPECT_TRUE(matches(*c, "100000000000000"));
  EXPECT_TRUE(matches(*c, "-85"));
  EXPECT_FALSE(matches(*c, "1000000000000000"));  // 16 digits: past the generated numbers
  EXPECT_FALSE(matches(*c, "-86"));
  auto d = constraint_for(R"({"type":"integer","exclusiveMaximum":922})");
  for (int i = -300; i <= 1000; ++i) EXPECT_EQ(matches(*d, std::to_string(i)), i < 922) << i;
  EXPECT_TRUE(matches(*d, "-999999999999999"));
  EXPECT_TRUE(matches(*d, "-100000000000007"));
}

TEST(JsonSchemaGrammar, PatternsAndFormats) {
  auto c = constraint_for(R"({"type":"string","pattern":"^[a-c]{2}(x|yz)?\\d+$"})");
  EXPECT_TRUE(matches(*c, R"("ab1")"));
  EXPECT_TRUE(matches(*c, R"("cayz42")"));
  EXPECT_FALSE(matches(*c, R"("ad1")"));
  EXPECT_FALSE(matches(*c, R"("ab")"));
  auto d = constraint_for(R"({"type":"string","format":"date"})");
  EXPECT_TRUE(matches(*d, R"("2024-02-28")"));
  EXPECT_FALSE(matches(*d, R"("2024-02-30")"));
}

TEST(JsonSchemaGrammar, UnicodeEscapesPairSurrogates) {
  auto c = constraint_for(R"({"type":"string"})");
  EXPECT_TRUE(matches(*c, R"("\u00e9\uD7FF\uE000")"));
  EXPECT_TRUE(matches(*c, R"("\ud83d\ude00")"));
  EXPECT_FALSE(matches(*c, R"("\uD9aa")"));        // a lone high surrogate
  EXPECT_FALSE(matches(*c, R"("\udc00")"));        // a lone low surrogate
  EXPECT_FALSE(matches(*c, R"("\ud83d\u0041")"));  // high, then not a low one
}

TEST(JsonSchemaGrammar, UnsupportedKeywordsAreNamed) {
  try {
    constraint_for(R"({"type":"object","properties":{"a":{"type":"array","contains":{}}}})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("properties.a.contains"), std::string::npos) << e.what();
  }
  try {
    constraint_for(R"({"type":"strnig"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidRequest);
  }
  EXPECT_THROW(constraint_for("{not json"), Error);
  EXPECT_THROW(constraint_for(R"({"madeUp":1})"), Error);
}

TEST(GrammarMatcher, MaskAllowsOnlyWhatTheGrammarTakes) {
  auto c = constraint_for(R"({"type":"object","properties":{"k":{"type":"boolean"}},"required":["k"]})");
  auto m = c->new_matcher();
  std::vector<uint32_t> words;
  ASSERT_TRUE(m->mask(1000, tokenizer().vocab_size(), words));
  auto allowed = [&](TokenId id) { return (words[id / 32] >> (id % 32)) & 1u; };
  EXPECT_TRUE(allowed('{'));
  EXPECT_FALSE(allowed('['));
  EXPECT_FALSE(allowed(' '));
  EXPECT_FALSE(allowed(tokenizer().eos()));
  EXPECT_TRUE(allowed(256));  // "{\""
  for (unsigned char ch : std::string(R"({"k":true})")) m->accept(ch);
  ASSERT_TRUE(m->mask(1000, tokenizer().vocab_size(), words));
  for (TokenId id = 0; id < static_cast<TokenId>(tokenizer().vocab_size()); ++id)
    EXPECT_EQ(allowed(id), id == tokenizer().eos()) << id;
}

// Drawing uniformly among the allowed tokens (what a random-weight model does) always ends in a
// complete value within the token budget.
TEST(GrammarMatcher, AnExplodingPatternEndsWithAnErrorInsteadOfTakingUnboundedTime) {
  // (a|b)*a(a|b){20}: a parser state per set of positions the last 21 bytes leave open (2^20 of
  // them); every a/b string of 1 to 14 bytes is a token, so each mask reaches thousands of them.
  std::vector<std::string> pieces;
  for (int len = 2; len <= 14; ++len)
    for (int bits = 0; bits < (1 << len); ++bits) {
      std::string p;
      for (int k = 0; k < len; ++k) p += (bits >> k & 1) ? 'a' : 'b';
      pieces.push_back(p);
    }
  const ByteTokenizer vocab(std::move(pieces));
  auto c = constraint_for(R"({"type":"string","pattern":"^(a|b)*a(a|b){20}$"})", vocab);
  auto m = c->new_matcher();
  std::vector<uint32_t> words;
  m->accept('"');
  try {
    for (int step = 0; step < 64; ++step) {
      m->mask(1000, vocab.vocab_size(), words);
      m->accept(vocab.id_of(step % 2 ? "abaabbbaababba" : "bbabaaababbbab"));
    }
    FAIL() << "the parser states stayed within their bound";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("too complex"), std::string::npos) << e.what();
  }
}

// The bound is the constraint's: a low one stops a walk that the default one takes to its end.
TEST(GrammarMatcher, TheStateBoundIsAConstraintParameter) {
  GrammarBuilder b;
  const int32_t root = b.rule_of({{add_json_schema(b, R"({"type":"string","pattern":"^(a|b)*a(a|b){20}$"})")}});
  const auto g = std::make_shared<const Grammar>(b.finish(root));
  const Constraint c(g, TokenTable::of(tokenizer()), {tokenizer().eos()}, 64);
  auto m = c.new_matcher();
  std::vector<uint32_t> words;
  m->accept('"');
  // Bytes that do not repeat with a short period, so each step reaches new positions.
  std::mt19937 rng(7);
  int steps = 0;
  try {
    for (; steps < 200; ++steps) {
      m->mask(1000, tokenizer().vocab_size(), words);
      m->accept(rng() % 2 ? 'a' : 'b');
    }
    FAIL() << "the parser states stayed within a bound of 64";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("too complex"), std::string::npos) << e.what();
  }
  EXPECT_LT(steps, 200);
  // The default bound takes the same walk to its end.
  const Constraint wide(g, TokenTable::of(tokenizer()), {tokenizer().eos()});
  auto w = wide.new_matcher();
  w->accept('"');
  std::mt19937 again(7);
  for (int k = 0; k < 200; ++k) {
    ASSERT_TRUE(w->mask(1000, tokenizer().vocab_size(), words));
    w->accept(again() % 2 ? 'a' : 'b');
  }
}

TEST(GrammarMatcher, SteersToCompletionWithinTheBudget) {
  auto c = constraint_for(R"({"type":"object","properties":{"s":{"type":"string"},"n":{"type":"array",
                              "items":{"type":"number"}}},"required":["s","n"]})");
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    auto m = c->new_matcher();
    std::string out;
    const int budget = 40;
    std::vector<uint32_t> words;
    for (int used = 0; used < budget; ++used) {
      ASSERT_TRUE(m->mask(budget - used, tokenizer().vocab_size(), words));
      std::vector<TokenId> ok;
      for (TokenId id = 0; id < static_cast<TokenId>(tokenizer().vocab_size()); ++id)
        if ((words[id / 32] >> (id % 32)) & 1u) ok.push_back(id);
      const TokenId t = ok[rng() % ok.size()];
      if (t == tokenizer().eos()) break;
      m->accept(t);
      out += tokenizer().id_to_token(t);
    }
    EXPECT_TRUE(m->complete()) << out;
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
  }
}

// Multiples of 1.5 are the whole multiples of 3; random walks end on one.
TEST(JsonSchemaGrammar, MultipleOf) {
  auto c = constraint_for(R"({"type":"number","multipleOf":1.5})");
  for (int i = -40; i <= 40; ++i) EXPECT_EQ(matches(*c, std::to_string(i)), i % 3 == 0) << i;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(seed);
    auto m = c->new_matcher();
    std::string out;
    std::vector<uint32_t> words;
    for (int used = 0; used < 20; ++used) {
      ASSERT_TRUE(m->mask(20 - used, tokenizer().vocab_size(), words)) << out;
      std::vector<TokenId> ok;
      for (TokenId id = 0; id < static_cast<TokenId>(tokenizer().vocab_size()); ++id)
        if ((words[id / 32] >> (id % 32)) & 1u) ok.push_back(id);
      const TokenId t = ok[rng() % ok.size()];
      if (t == tokenizer().eos()) break;
      m->accept(t);
      out += tokenizer().id_to_token(t);
    }
    EXPECT_TRUE(m->complete()) << out;
    EXPECT_EQ(std::stoll(out) % 3, 0) << out;
  }
}

// The sampler keeps the drawn token when the grammar allows it and otherwise draws again among the
// allowed ones, under every sampling mode.
TEST(GrammarSampling, SamplerDrawsOnlyAllowedTokens) {
  auto c = constraint_for(R"({"type":"boolean"})");
  std::vector<float> logits(tokenizer().vocab_size(), 0.0f);
  logits['x'] = 50;  // the model's favourite is not allowed
  logits['t'] = 5;
  for (float temperature : {0.0f, 1.0f}) {
    for (int top_k : {0, 3}) {
      engine::ResolvedSampling p;
      p.temperature = temperature;
      p.top_k = top_k;
      engine::Sampler sampler(p, 42);
      auto m = c->new_matcher();
      std::string out;
      for (int i = 0; i < 8 && !m->complete(); ++i) {
        const auto r = sampler.sample(logits, false, 0, m.get(), 100);
        m->accept(r.id);
        out += tokenizer().id_to_token(r.id);
      }
      EXPECT_TRUE(out == "true" || out == "false") << out;
      if (temperature == 0) {
        EXPECT_EQ(out, "true");
      }
    }
  }
  // A token the grammar allows is kept as drawn.
  engine::ResolvedSampling greedy;
  greedy.temperature = 0;
  engine::Sampler sampler(greedy, 1);
  auto m = c->new_matcher();
  logits['f'] = 60;
  EXPECT_EQ(sampler.sample(logits, false, 0, m.get(), 100).id, 'f');
}

}  // namespace
}  // namespace oc::grammar
