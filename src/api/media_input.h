// The media of a chat request: image and audio content parts -> models::MediaInput (bytes from
// base64 and data: URIs, from allowed http(s) hosts, or from files in allowed folders), checked
// early (sizes, image headers, audio formats) so that bad media fails before the prompt is built.
#pragma once

#include <string>
#include <vector>

#include "api/openai_types.h"
#include "common/error.h"
#include "media/audio.h"
#include "media/image.h"
#include "models/model.h"

namespace oc::api {

// Server-wide limits and sources of media input (the option table's --max-images,
// --max-audio-clips, --max-image-pixels, --max-audio-seconds, --max-media-mb,
// --media-url-allow, --media-file-allow, --media-fetch-timeout).
struct MediaPolicy {
  int max_images = 8;        // image parts per request
  int max_audio_clips = 4;   // audio parts per request
  media::ImageLimits image;  // max_pixels, max_bytes (encoded)
  media::AudioLimits audio;  // max_seconds, max_bytes (encoded)
  // Hosts http(s) image URLs may name ("*" any; "*.example.com" subdomains); empty: such URLs are
  // refused.
  std::vector<std::string> url_allow;
  // Folders file:// image URLs may name (symlinks and .. resolved first); empty: refused.
  std::vector<std::string> file_allow;
  int fetch_timeout_s = 10;  // whole transfer of one URL
};

// Throws oc::Error(Unsupported, code "unsupported_modality") naming the first part whose modality
// the model does not take.
void check_modalities(const models::Model& model, const std::vector<const ContentPart*>& parts);

// Resolves every part in order. Throws oc::Error(InvalidRequest) with param = the part's label and
// a message starting with it: bad base64 or data: URI, disabled or refused URL, fetch failure,
// empty or oversized data, not an image / over the pixel limit (from the header), unknown audio
// format.
std::vector<models::MediaInput> resolve_media(const std::vector<const ContentPart*>& parts, const MediaPolicy& policy);

// The error a model's processor raised about one input ("messages[1].content[0]: truncated PNG
// data") with param set to that input's label and code "invalid_image" / "invalid_audio"; other
// errors unchanged.
Error label_media_error(const Error& e, const std::vector<models::MediaInput>& media);

// The bytes of a file:// URL inside one of `allowed` folders (after resolving symlinks and ..),
// at most max_bytes. Throws oc::Error(InvalidRequest) whose message starts with `what`.
std::string read_file_url(const std::string& url, const std::vector<std::string>& allowed, uint64_t max_bytes,
                          const std::string& what);

}  // namespace oc::api
