#include "pipeline/media_source.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <system_error>

#include "common/error.h"
#include "common/strings.h"
#include "hub/url_fetch.h"
#include "media/base64.h"

namespace oc::pipeline {
namespace {

namespace stdfs = std::filesystem;

[[noreturn]] void fail(const std::string& message, const char* code) {
  throw Error(ErrorKind::InvalidRequest, message, Location{}, code);
}

std::string as_string(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool inside(const stdfs::path& path, const stdfs::path& dir) {
  auto p = path.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++p) {
    if (d->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *d) return false;
  }
  return true;
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  return buf;
}

// The format a media type names for this modality ("image/png" -> "png"), without parameters.
std::string format_of_type(std::string type, Modality m) {
  type = to_lower(type);
  const std::string prefix = std::string(models::modality_name(m)) + "/";
  if (!starts_with(type, prefix)) return {};
  type.erase(0, prefix.size());
  if (auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
  return type;
}

// The encoded bytes of a part (and the format they came with, when its source names one).
void read_source(const ContentPart& part, const MediaPolicy& policy, models::MediaInput& in) {
  const MediaSource& s = part.source;
  const std::string what = models::modality_name(part.type);
  const uint64_t max_bytes = part.type == Modality::Image ? policy.image.max_bytes : policy.audio.max_bytes;
  if (s.kind == MediaSource::Kind::Bytes) {
    in.data = s.data;
  } else if (media::is_data_uri(s.data)) {  // Base64 sources may be data: URIs too
    media::DataUri d = media::parse_data_uri(s.data, "");
    if (in.format.empty()) in.format = format_of_type(d.media_type, part.type);
    in.data = as_string(d.bytes);
  } else if (s.kind == MediaSource::Kind::Base64) {
    in.data = as_string(media::base64_decode(s.data, ""));
  } else {
    const hub::UrlParts parts = hub::url_parts(s.data);
    if (parts.scheme == "http" || parts.scheme == "https") {
      if (policy.url_allow.empty())
        fail(what + " URLs (http/https) are disabled on this server: send the " + what +
                 " inline as a data: URI (data:image/png;base64,...), or start the server with --media-url-allow "
                 "HOST[,HOST...] (or ONNX_CHAT_MEDIA_URL_ALLOW)",
             "invalid_url");
      hub::UrlFetchOptions o;
      o.allowed_hosts = policy.url_allow;
      o.max_bytes = max_bytes;
      o.timeout_s = policy.fetch_timeout_s;
      hub::FetchedUrl f = hub::fetch_url(s.data, o, "");
      in.data = std::move(f.data);
      if (in.format.empty()) in.format = format_of_type(f.content_type, part.type);
    } else if (parts.scheme == "file" || starts_with(to_lower(s.data), "file:")) {
      in.data = read_file_url(s.data, policy.file_allow, max_bytes);
    } else {
      fail("unsupported " + what +
               " URL: expected a data: URI (data:image/png;base64,...), an http(s):// URL or a file:// URL",
           "invalid_url");
    }
  }
}

void check_size(size_t size, uint64_t max_bytes, const std::string& what, const char* code) {
  if (size == 0) fail("the " + what + " is empty (0 bytes)", code);
  if (max_bytes && size > max_bytes)
    fail("the " + what + " is " + mib(size) + ", over the server's limit of " + mib(max_bytes) + " (--max-media-mb)",
         code);
}

models::MediaInput resolve(const ContentPart& part, const MediaPolicy& policy) {
  models::MediaInput in;
  in.modality = part.type;
  in.format = part.source.format;
  if (part.source.kind == MediaSource::Kind::Samples) {
    in.samples = part.source.samples;
    in.sample_rate = part.source.sample_rate;
    return in;
  }
  read_source(part, policy, in);
  if (part.type == Modality::Image) {
    check_size(in.data.size(), policy.image.max_bytes, "image", "invalid_image");
    media::probe_image(as_bytes(in.data), policy.image, "");
    return in;
  }
  check_size(in.data.size(), policy.audio.max_bytes, "audio", "invalid_audio");
  if (media::audio_format_from_name(in.format) == media::AudioFormat::Unknown &&
      media::sniff_audio_format(as_bytes(in.data)) == media::AudioFormat::Unknown)
    fail("unknown audio format '" + in.format +
             "' (the data is not WAV, FLAC, MP3 or Ogg; formats: wav, mp3, flac, ogg, opus)",
         "invalid_audio");
  return in;
}

}  // namespace

models::MediaInput resolve_media(const ContentPart& part, const Location& where, const MediaPolicy& policy) {
  try {
    models::MediaInput in = resolve(part, policy);
    in.location = where;
    return in;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::InvalidRequest || !e.param().empty() || !e.location().empty()) throw;
    const char* code = part.type == Modality::Image ? "invalid_image" : "invalid_audio";
    throw Error(e.kind(), e.what(), where, e.code().empty() ? code : e.code());
  }
}

std::string read_file_url(const std::string& url, const std::vector<std::string>& allowed, uint64_t max_bytes) {
  if (allowed.empty())
    fail(
        "file:// URLs are disabled on this server: send the file inline as a data: URI, or start the server with "
        "--media-file-allow DIR[,DIR...] (or ONNX_CHAT_MEDIA_FILE_ALLOW)",
        "invalid_url");
  std::string_view rest = url;
  if (rest.size() < 5 || !iequals(rest.substr(0, 5), "file:")) fail("not a file:// URL", "invalid_url");
  rest.remove_prefix(5);
  if (starts_with(rest, "//")) {
    rest.remove_prefix(2);
    if (iequals(rest.substr(0, 9), "localhost")) rest.remove_prefix(9);
  }
  if (rest.empty() || rest.front() != '/')
    fail("file:// URLs must name an absolute path on this machine (file:///path/to/file)", "invalid_url");
  rest = rest.substr(0, rest.find_first_of("?#"));
  const std::string path_text = percent_decode(rest);
  if (path_text.find('\0') != std::string::npos) fail("malformed file:// URL", "invalid_url");
  const stdfs::path lexical = stdfs::path(path_text).lexically_normal();

  // The folders as they really are (symlinks resolved); the path is checked before and after
  // resolving its own symlinks, so that nothing outside them can be probed or reached.
  std::vector<stdfs::path> roots;
  for (const auto& dir : allowed) {
    std::error_code ec;
    stdfs::path c = stdfs::weakly_canonical(stdfs::path(dir), ec);
    if (!ec) roots.push_back(c);
    roots.push_back(stdfs::path(dir).lexically_normal());
  }
  auto allowed_path = [&](const stdfs::path& p) {
    for (const auto& r : roots)
      if (inside(p, r)) return true;
    return false;
  };
  const std::string outside = "the file is outside the folders this server allows (--media-file-allow)";
  if (!allowed_path(lexical)) fail(outside, "invalid_url");
  std::error_code ec;
  stdfs::path real = stdfs::canonical(lexical, ec);
  if (ec) fail("cannot read the file: " + ec.message(), "invalid_url");
  bool ok = false;
  for (const auto& dir : allowed) {
    std::error_code ec2;
    stdfs::path c = stdfs::canonical(stdfs::path(dir), ec2);
    if (!ec2 && inside(real, c)) ok = true;
  }
  if (!ok) fail(outside, "invalid_url");
  if (!stdfs::is_regular_file(real, ec)) fail("not a regular file", "invalid_url");
  const uint64_t size = stdfs::file_size(real, ec);
  if (ec) fail("cannot read the file: " + ec.message(), "invalid_url");
  if (max_bytes && size > max_bytes)
    fail("the file is " + mib(size) + ", over the server's limit of " + mib(max_bytes) + " (--max-media-mb)",
         "invalid_url");
  std::ifstream in(real, std::ios::binary);
  std::string data(static_cast<size_t>(size), '\0');
  if (!in || !in.read(data.data(), static_cast<std::streamsize>(size))) fail("cannot read the file", "invalid_url");
  return data;
}

}  // namespace oc::pipeline
