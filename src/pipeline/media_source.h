// The media of a request: each image or audio part's source -> models::MediaInput (bytes from
// base64 and data: URIs, from allowed http(s) hosts, from files in allowed folders, or as the
// caller read them), checked early (sizes, image headers, audio formats) so that bad media fails
// before the prompt is built.
#pragma once

#include <string>
#include <vector>

#include "media/audio.h"
#include "media/image.h"
#include "models/model.h"
#include "pipeline/conversation.h"

namespace oc::pipeline {

// Limits and allowed sources of media input (the option table's --max-image-pixels,
// --max-audio-seconds, --max-media-mb, --media-url-allow, --media-file-allow,
// --media-fetch-timeout).
struct MediaPolicy {
  media::ImageLimits image;  // max_pixels, max_bytes (encoded)
  media::AudioLimits audio;  // max_seconds, max_bytes (encoded)
  // Hosts http(s) image URLs may name ("*" any; "*.example.com" subdomains); empty: such URLs are
  // refused.
  std::vector<std::string> url_allow;
  // Folders file:// image URLs may name (symlinks and .. resolved first); empty: refused.
  std::vector<std::string> file_allow;
  int fetch_timeout_s = 10;  // whole transfer of one URL
};

// One image or audio part as a model input located at `where`. Throws oc::Error(InvalidRequest)
// located there, code invalid_image / invalid_audio / invalid_url: bad base64 or data: URI,
// disabled or refused URL, fetch failure, empty or oversized data, not an image / over the pixel
// limit (from the header), unknown audio format.
models::MediaInput resolve_media(const ContentPart& part, const Location& where, const MediaPolicy& policy);

// The bytes of a file:// URL inside one of `allowed` folders (after resolving symlinks and ..),
// at most max_bytes. Throws oc::Error(InvalidRequest, code invalid_url) saying why not.
std::string read_file_url(const std::string& url, const std::vector<std::string>& allowed, uint64_t max_bytes);

}  // namespace oc::pipeline
