#include "common/utf8.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/sha256.h"

namespace utf8 = oc::utf8;

TEST(Utf8, DecodesAndEncodesEveryLength) {
  const std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";
  size_t i = 0;
  EXPECT_EQ(utf8::next(s, i), U'a');
  EXPECT_EQ(utf8::next(s, i), U'\u00E9');
  EXPECT_EQ(utf8::next(s, i), U'\u4E2D');
  EXPECT_EQ(utf8::next(s, i), U'\U0001F600');
  EXPECT_EQ(i, s.size());
  EXPECT_EQ(utf8::encode(U'a') + utf8::encode(U'\u00E9') + utf8::encode(U'\u4E2D') + utf8::encode(U'\U0001F600'), s);
  EXPECT_TRUE(utf8::is_valid(s));
  EXPECT_TRUE(utf8::is_valid("\xEF\xBF\xBD"));  // U+FFFD itself
}

// As TextDecoder (WHATWG): each maximal subpart of an ill-formed sequence is one U+FFFD.
TEST(Utf8, IllFormedSequencesAsTextDecoder) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::decode_lossy("a\xFF"
                               "b"),
            "a" + r + "b");
  EXPECT_EQ(utf8::decode_lossy("\xE4\xB8"), r);                      // truncated: one
  EXPECT_EQ(utf8::decode_lossy("\xE4\xB8x"), r + "x");               // cut short: one, then x
  EXPECT_EQ(utf8::decode_lossy("\xC0\x80"), r + r);                  // overlong: lead and trail apart
  EXPECT_EQ(utf8::decode_lossy("\xED\xA0\x80"), r + r + r);          // surrogate
  EXPECT_EQ(utf8::decode_lossy("\xF4\x90\x80\x80"), r + r + r + r);  // past U+10FFFF
  EXPECT_EQ(utf8::decode_lossy("\xF0\x9F\x98"), r);
  EXPECT_EQ(utf8::decode_lossy("\xEF\xBB\xBFhi", true), "hi");
  EXPECT_EQ(utf8::decode_lossy("\xEF\xBB\xBFhi"), "\xEF\xBB\xBFhi");
  for (const char* bad : {"\xC3", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF0\x9F\x98", "\x80"})
    EXPECT_FALSE(utf8::is_valid(bad)) << bad;
  char32_t cp = 0;
  EXPECT_EQ(utf8::decode("\xF0\x9F\x98x", 0, cp), 3u);
  EXPECT_EQ(cp, 0xFFFDu);
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(oc::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(oc::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Incremental updates across block boundaries give the one-shot digest.
  const std::string million(1000000, 'a');
  oc::Sha256 h;
  for (size_t i = 0; i < million.size(); i += 999) h.update(million.substr(i, 999));
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  const auto path = std::filesystem::temp_directory_path() / "oc_sha256_test.bin";
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_EQ(oc::sha256_file(path), oc::sha256_hex("abc"));
  oc::Sha256 prefix;
  oc::sha256_update_from_file(prefix, path, 2);
  EXPECT_EQ(prefix.hex_digest(), oc::sha256_hex("ab"));
  std::filesystem::remove(path);
}
