// Base64 and data: URIs, as clients send media in chat requests. Errors are oc::Error
// (InvalidRequest) whose message starts with the caller's label ("image 2: ...").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oc::media {

// Decodes standard (RFC 4648 §4) or URL-safe (§5) base64. Whitespace (space, tab, CR, LF) is
// skipped; padding is optional but, when present, must be at the end and complete the quantum.
// `what` starts error messages ("what: ..."; nothing when empty).
std::vector<uint8_t> base64_decode(std::string_view text, std::string_view what = "data");

std::string base64_encode(const uint8_t* data, size_t size);

// A parsed `data:[<mediatype>][;param=value...][;base64],<payload>` URI.
struct DataUri {
  std::string media_type;  // lowercased, e.g. "image/png"; empty when the URI names none
  std::vector<uint8_t> bytes;
};

// True when `text` starts with "data:" (case-insensitive).
bool is_data_uri(std::string_view text);

// Parses a data URI. The payload is base64 when `;base64` is present, percent-encoded text
// otherwise. Throws oc::Error(InvalidRequest) naming `what` when the URI is malformed.
DataUri parse_data_uri(std::string_view text, std::string_view what = "data");

}  // namespace oc::media
