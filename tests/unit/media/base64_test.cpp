#include "media/base64.h"

#include <gtest/gtest.h>

#include "common/error.h"

using oc::media::base64_decode;
using oc::media::base64_encode;
using oc::media::parse_data_uri;

namespace {
std::string str(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::InvalidRequest);
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Base64, DecodesStandardUrlSafeAndWhitespace) {
  EXPECT_EQ(str(base64_decode("aGVsbG8=")), "hello");
  EXPECT_EQ(str(base64_decode("aGVsbG8")), "hello");  // padding optional
  EXPECT_EQ(str(base64_decode("aGVs\r\nbG8g d29y bGQ=")), "hello world");
  EXPECT_EQ(base64_decode("-_-_"), base64_decode("+/+/"));
  EXPECT_EQ(str(base64_decode("")), "");
  const uint8_t all[] = {0, 1, 2, 250, 251, 252, 253, 254, 255};
  for (size_t n = 0; n <= sizeof all; ++n) {
    EXPECT_EQ(base64_decode(base64_encode(all, n)), std::vector<uint8_t>(all, all + n));
  }
}

TEST(Base64, BadInputNamesTheProblemAndThePart) {
  EXPECT_EQ(error_of([] { base64_decode("aGVs*G8=", "image 2"); }), "image 2: not valid base64 ('*' at offset 4)");
  EXPECT_EQ(error_of([] { base64_decode("aGVsbG8=x", "audio"); }),
            "audio: not valid base64 (data after '=' padding at offset 8)");
  EXPECT_EQ(error_of([] { base64_decode("aGVsb", "image 1"); }),
            "image 1: not valid base64 (truncated: a dangling character at the end)");
  EXPECT_EQ(error_of([] { base64_decode("aGVsbG8==", "image 1"); }), "image 1: not valid base64 (wrong '=' padding)");
  EXPECT_NE(error_of([] { base64_decode("\xff\xfe", "image 1"); }).find("byte 0xff"), std::string::npos);
}

TEST(DataUri, ParsesMediaTypeAndPayload) {
  auto u = parse_data_uri("data:image/PNG;base64,aGVsbG8=");
  EXPECT_EQ(u.media_type, "image/png");
  EXPECT_EQ(str(u.bytes), "hello");
  u = parse_data_uri("DATA:audio/wav;name=x.wav;base64,aGk=");
  EXPECT_EQ(u.media_type, "audio/wav");
  EXPECT_EQ(str(u.bytes), "hi");
  u = parse_data_uri("data:,a%20b");
  EXPECT_EQ(u.media_type, "");
  EXPECT_EQ(str(u.bytes), "a b");
  EXPECT_TRUE(oc::media::is_data_uri("data:x/y,1"));
  EXPECT_FALSE(oc::media::is_data_uri("https://example.com/a.png"));
}

TEST(DataUri, MalformedUrisAreInvalidRequests) {
  EXPECT_EQ(error_of([] { parse_data_uri("data:image/png;base64", "image 1"); }),
            "image 1: malformed data: URI (no ',' before the payload)");
  EXPECT_EQ(error_of([] { parse_data_uri("data:png;base64,AAAA", "image 1"); }),
            "image 1: malformed data: URI (media type 'png' has no '/')");
  EXPECT_EQ(error_of([] { parse_data_uri("data:text/plain,%zz", "image 1"); }),
            "image 1: malformed data: URI (bad percent escape at offset 16)");
  EXPECT_EQ(error_of([] { parse_data_uri("data:image/png;base64,@@@@", "image 3"); }),
            "image 3: not valid base64 ('@' at offset 0)");
  EXPECT_EQ(error_of([] { parse_data_uri("http://x", "image 1"); }), "image 1: not a data: URI");
}
