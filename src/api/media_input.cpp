#include "api/media_input.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <system_error>

#include "common/strings.h"
#include "hub/url_fetch.h"
#include "media/base64.h"

namespace oc::api {
namespace {

namespace stdfs = std::filesystem;

[[noreturn]] void fail(const std::string& label, const std::string& message, const char* code) {
  throw Error(ErrorKind::InvalidRequest, label + ": " + message, label, code);
}

// Runs `fn`; an InvalidRequest without a param (from the media or hub layers, whose messages start
// with the label) gets the label as param and `code`.
template <typename Fn>
auto labelled(const std::string& label, const char* code, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::InvalidRequest && e.param().empty())
      throw Error(e.kind(), e.what(), label, e.code().empty() ? code : e.code());
    throw;
  }
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

void check_size(const std::string& label, size_t size, uint64_t max_bytes, const char* what, const char* code) {
  if (size == 0) fail(label, std::string("the ") + what + " is empty (0 bytes)", code);
  if (max_bytes && size > max_bytes)
    fail(label,
         std::string("the ") + what + " is " + mib(size) + ", over the server's limit of " + mib(max_bytes) +
             " (--max-media-mb)",
         code);
}

models::MediaInput resolve_image(const ContentPart& part, const MediaPolicy& policy) {
  models::MediaInput in;
  in.modality = models::Modality::Image;
  in.label = part.label;
  const std::string& label = part.label;
  const std::string& url = part.url;
  if (part.bare_base64) {
    in.data = labelled(label, "invalid_image", [&] { return as_string(media::base64_decode(url, label)); });
  } else if (media::is_data_uri(url)) {
    media::DataUri d = labelled(label, "invalid_image", [&] { return media::parse_data_uri(url, label); });
    if (starts_with(d.media_type, "image/")) in.format = d.media_type.substr(6);
    in.data = as_string(d.bytes);
  } else {
    hub::UrlParts parts = hub::url_parts(url);
    if (parts.scheme == "http" || parts.scheme == "https") {
      if (policy.url_allow.empty())
        fail(label,
             "image URLs (http/https) are disabled on this server: send the image inline as a data: URI "
             "(data:image/png;base64,...), or start the server with --media-url-allow HOST[,HOST...] "
             "(or ONNX_CHAT_MEDIA_URL_ALLOW)",
             "invalid_url");
      hub::UrlFetchOptions o;
      o.allowed_hosts = policy.url_allow;
      o.max_bytes = policy.image.max_bytes;
      o.timeout_s = policy.fetch_timeout_s;
      hub::FetchedUrl f = labelled(label, "invalid_url", [&] { return hub::fetch_url(url, o, label); });
      in.data = std::move(f.data);
      if (starts_with(to_lower(f.content_type), "image/")) in.format = to_lower(f.content_type.substr(6));
      if (auto semi = in.format.find(';'); semi != std::string::npos) in.format.resize(semi);
    } else if (parts.scheme == "file" || starts_with(to_lower(url), "file:")) {
      in.data = read_file_url(url, policy.file_allow, policy.image.max_bytes, label);
    } else {
      fail(label,
           "unsupported image URL: expected a data: URI (data:image/png;base64,...), an http(s):// URL or a "
           "file:// URL",
           "invalid_url");
    }
  }
  check_size(label, in.data.size(), policy.image.max_bytes, "image", "invalid_image");
  labelled(label, "invalid_image", [&] { return media::probe_image(as_bytes(in.data), policy.image, label); });
  return in;
}

models::MediaInput resolve_audio(const ContentPart& part, const MediaPolicy& policy) {
  models::MediaInput in;
  in.modality = models::Modality::Audio;
  in.label = part.label;
  in.format = part.audio_format;
  const std::string& label = part.label;
  if (media::is_data_uri(part.audio_data)) {  // some clients send a data: URI here
    in.data = as_string(
        labelled(label, "invalid_audio", [&] { return media::parse_data_uri(part.audio_data, label); }).bytes);
  } else {
    in.data = labelled(label, "invalid_audio", [&] { return as_string(media::base64_decode(part.audio_data, label)); });
  }
  check_size(label, in.data.size(), policy.audio.max_bytes, "audio", "invalid_audio");
  if (media::audio_format_from_name(in.format) == media::AudioFormat::Unknown &&
      media::sniff_audio_format(as_bytes(in.data)) == media::AudioFormat::Unknown)
    fail(label,
         "unknown audio format '" + in.format +
             "' (the data is not WAV, FLAC, MP3 or Ogg; formats: wav, mp3, flac, "
             "ogg, opus)",
         "invalid_audio");
  return in;
}

}  // namespace

void check_modalities(const models::Model& model, const std::vector<const ContentPart*>& parts) {
  for (const ContentPart* p : parts) {
    const models::Modality m = p->is_image() ? models::Modality::Image : models::Modality::Audio;
    if (model.supports(m)) continue;
    const std::string name = models::modality_name(m);
    throw Error(ErrorKind::Unsupported,
                "The model '" + model.id() + "' does not take " + name + " input ('" + p->label + "' is " +
                    (p->is_image() ? "an image" : "audio") + "): it is served without a " + name +
                    " encoder. If its hub repo has one, start the server with --modalities " + name +
                    " (or all, the default) to fetch it; /v1/models lists the modalities it takes.",
                p->label, "unsupported_modality");
  }
}

std::vector<models::MediaInput> resolve_media(const std::vector<const ContentPart*>& parts, const MediaPolicy& policy) {
  std::vector<models::MediaInput> out;
  out.reserve(parts.size());
  for (const ContentPart* p : parts)
    out.push_back(p->is_image() ? resolve_image(*p, policy) : resolve_audio(*p, policy));
  return out;
}

Error label_media_error(const Error& e, const std::vector<models::MediaInput>& media) {
  if (e.kind() != ErrorKind::InvalidRequest || !e.param().empty()) return e;
  const std::string_view message = e.what();
  const models::MediaInput* best = nullptr;
  for (const auto& m : media) {
    if (m.label.empty() || !starts_with(message, m.label)) continue;
    if (message.size() > m.label.size() && message[m.label.size()] != ':' && message[m.label.size()] != ' ') continue;
    if (!best || m.label.size() > best->label.size()) best = &m;  // "images[1]" vs "images[10]"
  }
  if (!best) return e;
  std::string code = e.code();
  if (code.empty()) code = best->modality == models::Modality::Image ? "invalid_image" : "invalid_audio";
  return Error(e.kind(), e.what(), best->label, code);
}

std::string read_file_url(const std::string& url, const std::vector<std::string>& allowed, uint64_t max_bytes,
                          const std::string& what) {
  if (allowed.empty())
    fail(what,
         "file:// URLs are disabled on this server: send the file inline as a data: URI, or start the server with "
         "--media-file-allow DIR[,DIR...] (or ONNX_CHAT_MEDIA_FILE_ALLOW)",
         "invalid_url");
  std::string_view rest = url;
  if (rest.size() < 5 || !iequals(rest.substr(0, 5), "file:")) fail(what, "not a file:// URL", "invalid_url");
  rest.remove_prefix(5);
  if (starts_with(rest, "//")) {
    rest.remove_prefix(2);
    if (iequals(rest.substr(0, 9), "localhost")) rest.remove_prefix(9);
  }
  if (rest.empty() || rest.front() != '/')
    fail(what, "file:// URLs must name an absolute path on this machine (file:///path/to/file)", "invalid_url");
  rest = rest.substr(0, rest.find_first_of("?#"));
  const std::string path_text = percent_decode(rest);
  if (path_text.find('\0') != std::string::npos) fail(what, "malformed file:// URL", "invalid_url");
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
  if (!allowed_path(lexical)) fail(what, outside, "invalid_url");
  std::error_code ec;
  stdfs::path real = stdfs::canonical(lexical, ec);
  if (ec) fail(what, "cannot read the file: " + ec.message(), "invalid_url");
  bool ok = false;
  for (const auto& dir : allowed) {
    std::error_code ec2;
    stdfs::path c = stdfs::canonical(stdfs::path(dir), ec2);
    if (!ec2 && inside(real, c)) ok = true;
  }
  if (!ok) fail(what, outside, "invalid_url");
  if (!stdfs::is_regular_file(real, ec)) fail(what, "not a regular file", "invalid_url");
  const uint64_t size = stdfs::file_size(real, ec);
  if (ec) fail(what, "cannot read the file: " + ec.message(), "invalid_url");
  if (max_bytes && size > max_bytes)
    fail(what, "the file is " + mib(size) + ", over the server's limit of " + mib(max_bytes) + " (--max-media-mb)",
         "invalid_url");
  std::ifstream in(real, std::ios::binary);
  std::string data(static_cast<size_t>(size), '\0');
  if (!in || !in.read(data.data(), static_cast<std::streamsize>(size)))
    fail(what, "cannot read the file", "invalid_url");
  return data;
}

}  // namespace oc::api
