#include "engine/text_stream.h"

#include <gtest/gtest.h>

#include "fake_model.h"

using namespace oc::engine;
using oc::test::fake_id;

TEST(StopMatcher, MatchesAcrossPushesAndDropsTheStop) {
  StopMatcher m({"lo Wo"});
  auto a = m.push("Hel");
  EXPECT_EQ(a.text, "He");  // "l" could start the stop string
  auto b = m.push("lo W");
  EXPECT_EQ(b.text, "l");  // "lo W" could be the stop string
  EXPECT_FALSE(b.stopped);
  auto c = m.push("orld");
  EXPECT_TRUE(c.stopped);
  EXPECT_EQ(c.text, "");
  EXPECT_EQ(c.matched, "lo Wo");
}

TEST(StopMatcher, ReleasesHeldTextThatIsNotAStop) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.push("abE").text, "ab");
  EXPECT_EQ(m.push("N").text, "");
  EXPECT_EQ(m.push("x").text, "ENx");
  EXPECT_EQ(m.push("EN").text, "");
  EXPECT_EQ(m.flush(), "EN");
}

TEST(StopMatcher, EarliestOfSeveralStops) {
  StopMatcher m({"cd", "b"});
  auto r = m.push("abcd");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.matched, "b");
}

TEST(IncrementalDecoder, HoldsIncompleteUtf8) {
  oc::test::FakeTokenizer tk(oc::test::fake_pieces());
  IncrementalDecoder d(tk, true);
  EXPECT_EQ(d.push(fake_id("Hel")), "Hel");
  EXPECT_EQ(d.push(fake_id("\xC3")), "");
  EXPECT_EQ(d.push(fake_id("\xA9")), "\xC3\xA9");
  EXPECT_EQ(d.push(1), "");  // special, skipped
  EXPECT_EQ(d.push(fake_id("a")), "a");
  EXPECT_EQ(d.push(fake_id("\xC3")), "");
  EXPECT_EQ(d.flush(), "\xC3");
}
