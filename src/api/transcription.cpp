#include "api/transcription.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "common/strings.h"

namespace oc::api {
namespace {

[[noreturn]] void invalid(const std::string& param, const std::string& message, const std::string& code) {
  throw Error(ErrorKind::InvalidRequest, message, param, code);
}

[[noreturn]] void unsupported(const std::string& param, const std::string& message) {
  throw Error(ErrorKind::Unsupported, message, param, "unsupported_parameter");
}

bool parse_bool(const std::string& param, const std::string& v) {
  const std::string s = to_lower(v);
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0" || s.empty()) return false;
  invalid(param, "Invalid '" + param + "': expected true or false, but got '" + v + "'.", "invalid_value");
}

}  // namespace

TranscriptionRequest parse_transcription_request(const std::vector<FormField>& form, bool translate) {
  TranscriptionRequest r;
  r.translate = translate;
  bool has_file = false, has_model = false;
  for (const auto& f : form) {
    const std::string& key = f.name;
    if (key == "file") {
      has_file = true;
      r.file = f.data;
      r.filename = f.filename;
      r.file_content_type = f.content_type;
    } else if (key == "model") {
      has_model = true;
      r.model = f.data;
    } else if (key == "language" && !translate) {
      r.language = to_lower(f.data);
      bool ok = r.language.size() <= 16;
      for (char c : r.language) ok &= (c >= 'a' && c <= 'z') || c == '-' || c == '_';
      if (!ok)
        invalid(key, "Invalid 'language': expected an ISO-639-1 code such as 'en', but got '" + f.data + "'.",
                "invalid_value");
    } else if (key == "prompt") {
      r.prompt = f.data;
    } else if (key == "response_format") {
      r.response_format = f.data.empty() ? "json" : f.data;
      const std::string& v = r.response_format;
      if (v != "json" && v != "text" && v != "srt" && v != "verbose_json" && v != "vtt")
        invalid(key,
                "Invalid 'response_format': expected one of 'json', 'text', 'srt', 'verbose_json', 'vtt', but got '" +
                    v + "'.",
                "invalid_value");
    } else if (key == "temperature") {
      if (f.data.empty()) continue;
      char* end = nullptr;
      double t = std::strtod(f.data.c_str(), &end);
      if (*end || !std::isfinite(t) || t < 0 || t > 1)
        invalid(key, "Invalid 'temperature': expected a number between 0 and 1, but got '" + f.data + "'.",
                "invalid_value");
      r.temperature = t;
    } else if (key == "stream") {
      r.stream = parse_bool(key, f.data);
    } else if (key == "timestamp_granularities[]" || key == "timestamp_granularities") {
      if (f.data == "word") unsupported(key, "word timestamps are not supported (segments only)");
      if (f.data != "segment")
        invalid(key, "Invalid 'timestamp_granularities': expected 'segment' or 'word', but got '" + f.data + "'.",
                "invalid_value");
    } else if (key == "include[]" || key == "include") {
      unsupported(key, "'include' (" + f.data + ") is not supported");
    } else if (key == "chunking_strategy") {
      if (f.data != "auto")
        unsupported(key, "only chunking_strategy 'auto' is supported (the audio is cut at quiet points)");
    } else {
      invalid(key, "Unrecognized request argument supplied: " + key, "unknown_parameter");
    }
  }
  if (!has_file) invalid("file", "Missing required parameter: 'file'.", "missing_required_parameter");
  if (r.file.empty()) invalid("file", "file: the uploaded file is empty (0 bytes)", "invalid_audio");
  if (!has_model) invalid("model", "Missing required parameter: 'model'.", "missing_required_parameter");
  if (r.stream && r.response_format != "json" && r.response_format != "text")
    unsupported("stream",
                "streaming is available with response_format 'json' or 'text', not '" + r.response_format + "'");
  return r;
}

std::string language_name(const std::string& code) {
  static const std::pair<const char*, const char*> names[] = {
      {"af", "Afrikaans"}, {"ar", "Arabic"},   {"bg", "Bulgarian"},  {"bn", "Bengali"},    {"ca", "Catalan"},
      {"cs", "Czech"},     {"da", "Danish"},   {"de", "German"},     {"el", "Greek"},      {"en", "English"},
      {"es", "Spanish"},   {"et", "Estonian"}, {"fa", "Persian"},    {"fi", "Finnish"},    {"fr", "French"},
      {"he", "Hebrew"},    {"hi", "Hindi"},    {"hr", "Croatian"},   {"hu", "Hungarian"},  {"id", "Indonesian"},
      {"it", "Italian"},   {"ja", "Japanese"}, {"ko", "Korean"},     {"lt", "Lithuanian"}, {"lv", "Latvian"},
      {"ms", "Malay"},     {"nl", "Dutch"},    {"no", "Norwegian"},  {"pl", "Polish"},     {"pt", "Portuguese"},
      {"ro", "Romanian"},  {"ru", "Russian"},  {"sk", "Slovak"},     {"sl", "Slovenian"},  {"sr", "Serbian"},
      {"sv", "Swedish"},   {"sw", "Swahili"},  {"ta", "Tamil"},      {"th", "Thai"},       {"tr", "Turkish"},
      {"uk", "Ukrainian"}, {"ur", "Urdu"},     {"vi", "Vietnamese"}, {"zh", "Chinese"},
  };
  for (const auto& [c, name] : names)
    if (code == c) return name;
  return code;
}

std::string transcription_instruction(const TranscriptionRequest& r) {
  std::string s;
  if (r.translate) {
    s = "Translate the speech in this audio into English. Reply with the English translation only.";
  } else {
    s = "Transcribe this audio";
    if (!r.language.empty()) s += " (the speech is in " + language_name(r.language) + ")";
    s += ". Reply with the transcript only.";
  }
  if (!r.prompt.empty()) s += " Context and spellings: " + r.prompt;
  return s;
}

std::string subtitle_time(double seconds, char millis_separator) {
  if (!(seconds > 0)) seconds = 0;
  const long long ms = std::llround(seconds * 1000.0);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                millis_separator, ms % 1000);
  return buf;
}

std::string to_srt(const std::vector<TranscriptSegment>& segments) {
  std::string out;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    out += std::to_string(i + 1) + "\n" + subtitle_time(s.start, ',') + " --> " + subtitle_time(s.end, ',') + "\n" +
           s.text + "\n\n";
  }
  return out;
}

std::string to_vtt(const std::vector<TranscriptSegment>& segments) {
  std::string out = "WEBVTT\n\n";
  for (const auto& s : segments)
    out += subtitle_time(s.start, '.') + " --> " + subtitle_time(s.end, '.') + "\n" + s.text + "\n\n";
  return out;
}

}  // namespace oc::api
