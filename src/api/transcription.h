// POST /v1/audio/transcriptions and /v1/audio/translations: the multipart form as a struct, the
// instruction given to the chat model, and the subtitle formats (internal to the API layer).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/http_server.h"

namespace oc::api {

struct TranscriptionRequest {
  bool translate = false;  // /v1/audio/translations: into English
  std::string file;        // the uploaded bytes
  std::string filename;
  std::string file_content_type;
  std::string model;
  std::string language;                  // ISO-639-1 ("en"), transcriptions only
  std::string prompt;                    // hints: names, spelling, the previous text
  std::string response_format = "json";  // json, text, srt, verbose_json, vtt
  std::optional<double> temperature;     // unset: greedy
  bool stream = false;                   // SSE transcript.text.delta / transcript.text.done
};

// Parses and validates the form. Throws oc::Error: InvalidRequest naming the field (missing file or
// model, bad value, unknown field), Unsupported (word timestamps, logprobs, other chunking).
TranscriptionRequest parse_transcription_request(const std::vector<FormField>& form, bool translate);

// What the chat model is asked beside the audio ("Transcribe this audio. ...").
std::string transcription_instruction(const TranscriptionRequest& r);

// "English" for "en" (a few dozen common codes); the code itself for others.
std::string language_name(const std::string& code);

// Subtitle timestamps: "00:01:02,345" (SRT) or "00:01:02.345" (WebVTT).
std::string subtitle_time(double seconds, char millis_separator);

struct TranscriptSegment {
  double start = 0, end = 0;
  std::string text;
};
std::string to_srt(const std::vector<TranscriptSegment>& segments);
std::string to_vtt(const std::vector<TranscriptSegment>& segments);

}  // namespace oc::api
