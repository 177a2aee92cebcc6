#include "common/strings.h"

#include <gtest/gtest.h>

#include "common/fs.h"

TEST(Strings, Utf8Validation) {
  EXPECT_TRUE(oc::is_valid_utf8("hello"));
  EXPECT_TRUE(oc::is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(oc::is_valid_utf8("\xC3"));
  EXPECT_FALSE(oc::is_valid_utf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(oc::is_valid_utf8("\xC0\x80"));      // overlong
}

TEST(Strings, SplitJoinCase) {
  EXPECT_EQ(oc::split("a/b//c", '/'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(oc::join({"a", "b"}, ", "), "a, b");
  EXPECT_TRUE(oc::iequals("Gemma-3n/Q4_MIXED", "gemma-3n/q4_mixed"));
  EXPECT_EQ(oc::human_bytes(3'600'000'000ULL), "3.6 GB");
}

TEST(Strings, TrimAscii) {
  EXPECT_EQ(oc::trim_ascii("  a b\t\r\n"), "a b");
  EXPECT_EQ(oc::trim_ascii("\r\n \t"), "");
  EXPECT_EQ(oc::trim_ascii(""), "");
  EXPECT_EQ(oc::trim_ascii("x"), "x");
  EXPECT_EQ(oc::trim_ascii("\xc2\xa0y\xc2\xa0"), "\xc2\xa0y\xc2\xa0");  // only ASCII whitespace
}
