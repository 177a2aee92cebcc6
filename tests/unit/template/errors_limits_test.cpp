// Errors carry the line and column of the offending place in the original source (whitespace
// control and trim_blocks/lstrip_blocks do not shift them), and the limits stop templates that
// would run forever, recurse without end or grow without bound.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "template/chat_template.h"

namespace {

using oc::tmpl::ChatTemplate;
using oc::tmpl::RenderLimits;
using oc::tmpl::TemplateError;
using oc::tmpl::Value;

struct Failure {
  std::string message;
  int line = 0, column = 0;
};

Failure failure(const std::string& source, const Value& ctx = Value(oc::tmpl::Object{}), RenderLimits limits = {}) {
  try {
    ChatTemplate t(source);
    t.render(ctx, limits);
  } catch (const TemplateError& e) {
    return {e.what(), e.line(), e.column()};
  }
  ADD_FAILURE() << "no error for: " << source;
  return {};
}

TEST(TemplateErrors, LexerErrorHasLineAndColumn) {
  Failure f = failure("Hello\n{{ a ! b }}");
  EXPECT_EQ(f.message, "Unexpected character: !");
  EXPECT_EQ(f.line, 2);
  EXPECT_EQ(f.column, 6);
}

TEST(TemplateErrors, ColumnsCountCharactersNotBytes) {
  Failure f = failure("é😀 {{ ? }}");
  EXPECT_EQ(f.line, 1);
  EXPECT_EQ(f.column, 7);
}

TEST(TemplateErrors, ParserErrorPointsAtTheToken) {
  Failure f = failure("{% if x %}\n  ok\n{% endfor %}");
  EXPECT_EQ(f.line, 3);
  Failure g = failure("{{ x | 5 }}");
  EXPECT_EQ(g.message, "Expected identifier for the filter");
  EXPECT_EQ(g.line, 1);
  EXPECT_EQ(g.column, 8);
  Failure h = failure("{% frobnicate %}");
  EXPECT_EQ(h.message, "Unknown statement type: frobnicate");
}

TEST(TemplateErrors, UnclosedBlocksAreReported) {
  EXPECT_NE(failure("{% if true %}x").message.find("endif"), std::string::npos);
  EXPECT_NE(failure("{% for x in y %}x").message.find("endfor"), std::string::npos);
  EXPECT_NE(failure("{% macro m() %}x").message.find("endmacro"), std::string::npos);
  EXPECT_EQ(failure("{# never closed").message, "Missing end of comment tag");
  EXPECT_EQ(failure("{{ 'never closed }}").message, "Unexpected end of input");
}

TEST(TemplateErrors, RaiseExceptionKeepsTheMessageAndPosition) {
  Failure f = failure("line one\n  {{ raise_exception('Roles must alternate') }}");
  EXPECT_EQ(f.message, "Roles must alternate");
  EXPECT_EQ(f.line, 2);
  EXPECT_EQ(f.column, 6);
}

TEST(TemplateErrors, PositionsSurviveLstripAndTrimBlocks) {
  // lstrip_blocks removes the indentation before {% for %}; the column is still the original one.
  Failure f = failure("{% if true %}\n    {% for x in 1 %}{% endfor %}{% endif %}");
  EXPECT_EQ(f.message, "Expected iterable or object type in for loop: got IntegerValue");
  EXPECT_EQ(f.line, 2);
  EXPECT_EQ(f.column, 5);
}

TEST(TemplateErrors, TypeErrorsInsideMacrosPointIntoTheMacro) {
  Failure f = failure("{% macro m(x) %}\n{{ x + none }}\n{% endmacro %}{{ m(1) }}");
  EXPECT_EQ(f.message, "Cannot perform operation on null values");
  EXPECT_EQ(f.line, 2);
}

TEST(TemplateErrors, ContextCannotRedeclareGlobals) {
  Value ctx(oc::tmpl::Object{{"range", Value(1)}});
  EXPECT_EQ(failure("{{ 1 }}", ctx).message, "Variable already declared: range");
}

TEST(TemplateLimits, RecursiveMacroStopsAtTheNestingLimit) {
  Failure f = failure("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_NE(f.message.find("nesting limit"), std::string::npos) << f.message;
}

TEST(TemplateLimits, HugeLoopStopsAtTheStepLimit) {
  RenderLimits limits;
  limits.max_steps = 200'000;
  auto start = std::chrono::steady_clock::now();
  Failure f = failure("{% for i in range(1000) %}{% for j in range(1000) %}{{ j }}{% endfor %}{% endfor %}",
                      Value(oc::tmpl::Object{}), limits);
  EXPECT_NE(f.message.find("step limit"), std::string::npos) << f.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(TemplateLimits, HugeRangeIsRefusedWithoutAllocatingIt) {
  Failure f = failure("{% for i in range(1000000000) %}x{% endfor %}");
  EXPECT_NE(f.message.find("step limit"), std::string::npos) << f.message;
}

TEST(TemplateLimits, DefaultLimitsStopAnEndlessTemplate) {
  // Ten million steps by default: a template that would run for hours stops in about a second.
  auto start = std::chrono::steady_clock::now();
  Failure f =
      failure("{% for a in range(100000) %}{% for b in range(100000) %}{% set x = a %}{% endfor %}{% endfor %}");
  EXPECT_NE(f.message.find("step limit"), std::string::npos) << f.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(TemplateLimits, DoublingStringStopsAtTheSizeLimit) {
  RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  Failure f = failure(
      "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length "
      "}}",
      Value(oc::tmpl::Object{}), limits);
  EXPECT_NE(f.message.find("size limit"), std::string::npos) << f.message;
}

TEST(TemplateLimits, OutputStopsAtTheSizeLimit) {
  RenderLimits limits;
  limits.max_output_bytes = 1000;
  Failure f = failure("{% for i in range(1000) %}0123456789{% endfor %}", Value(oc::tmpl::Object{}), limits);
  EXPECT_NE(f.message.find("size limit"), std::string::npos) << f.message;
}

TEST(TemplateLimits, DeeplyNestedSourceIsAParseErrorNotACrash) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  Failure f = failure(deep);
  EXPECT_NE(f.message.find("nesting"), std::string::npos) << f.message;
  std::string ifs;
  for (int i = 0; i < 2000; ++i) ifs += "{% if true %}";
  EXPECT_FALSE(failure(ifs).message.empty());
}

TEST(TemplateLimits, NormalTemplatesAreFarBelowTheLimits) {
  RenderLimits limits;
  limits.max_steps = 50'000;
  ChatTemplate t(
      "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}{% if not loop.last %}\n{% endif %}{% endfor %}");
  oc::tmpl::Array msgs;
  for (int i = 0; i < 200; ++i)
    msgs.push_back(Value(oc::tmpl::Object{{"role", Value("user")}, {"content", Value(" hi ")}}));
  EXPECT_NO_THROW(t.render(Value(oc::tmpl::Object{{"messages", Value(msgs)}}), limits));
}

}  // namespace

namespace {

TEST(TemplateLimits, ValuesCannotNestWithoutBound) {
  // Printing and freeing nested values recurse: a template may not build them arbitrarily deep.
  Failure f = failure(
      "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}");
  EXPECT_NE(f.message.find("nested too deeply"), std::string::npos) << f.message;
  Failure g =
      failure("{% set ns = namespace(x={}) %}{% for i in range(100000) %}{% set ns.x = {'a': ns.x} %}{% endfor %}");
  EXPECT_NE(g.message.find("nested too deeply"), std::string::npos) << g.message;
}

}  // namespace

namespace {

TEST(TemplateLimits, SharedValuesCannotExplodeWhenPrinted) {
  // 40 levels of [x, x] is a tiny value whose printed form would have 2^40 elements.
  RenderLimits limits;
  limits.max_steps = 500'000;
  Failure f = failure(
      "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x }}",
      Value(oc::tmpl::Object{}), limits);
  EXPECT_TRUE(f.message.find("step limit") != std::string::npos || f.message.find("size limit") != std::string::npos)
      << f.message;
  Failure g = failure(
      "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = ns.x + ns.x %}{% endfor %}{{ ns.x|length "
      "}}");
  EXPECT_NE(g.message.find("step limit"), std::string::npos) << g.message;
}

}  // namespace
