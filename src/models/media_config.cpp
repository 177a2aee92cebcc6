#include "models/media_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace oc::models {
namespace {

using nlohmann::json;

[[noreturn]] void bad(std::string_view source, const std::string& message) {
  throw Error(ErrorKind::ModelLoad, std::string(source) + ": " + message);
}

// The value of `key` unless absent or null (JavaScript's `??`).
const json* field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

double number(const json& j, const char* key, double fallback, std::string_view source) {
  const json* v = field(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) bad(source, std::string("'") + key + "' must be a number");
  return v->get<double>();
}

int integer(const json& j, const char* key, int fallback, std::string_view source) {
  const double v = number(j, key, fallback, source);
  if (v != std::floor(v) || std::fabs(v) > 1e9) bad(source, std::string("'") + key + "' must be an integer");
  return static_cast<int>(v);
}

bool boolean(const json& j, const char* key, bool fallback, std::string_view source) {
  const json* v = field(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) bad(source, std::string("'") + key + "' must be true or false");
  return v->get<bool>();
}

std::array<double, 3> triple(const json& j, const char* key, std::array<double, 3> fallback, std::string_view source) {
  const json* v = field(j, key);
  if (v == nullptr) return fallback;
  if (v->is_number()) {
    const double x = v->get<double>();
    return {x, x, x};
  }
  if (!v->is_array() || v->size() != 3) bad(source, std::string("'") + key + "' must be a number or 3 numbers");
  std::array<double, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    if (!(*v)[i].is_number()) bad(source, std::string("'") + key + "' must hold numbers");
    out[i] = (*v)[i].get<double>();
  }
  return out;
}

media::ImageProcessorConfig parse_image(const json& j, std::string_view source) {
  media::ImageProcessorConfig c;
  const json* size = field(j, "size");
  if (size == nullptr) size = field(j, "image_size");
  if (size != nullptr) {
    if (size->is_number_integer()) {
      c.width = c.height = size->get<uint32_t>();
    } else if (size->is_object() && size->contains("height") && size->contains("width")) {
      c.height = static_cast<uint32_t>(integer(*size, "height", 0, source));
      c.width = static_cast<uint32_t>(integer(*size, "width", 0, source));
    } else if (size->is_object() && size->contains("longest_edge") && !size->contains("shortest_edge")) {
      c.longest_edge = static_cast<uint32_t>(integer(*size, "longest_edge", 0, source));
      c.width = c.height = c.longest_edge;
    } else {
      bad(source, "'size' must be {\"height\", \"width\"} or {\"longest_edge\"}");
    }
    if (c.width == 0 || c.height == 0 || c.width > 8192 || c.height > 8192) bad(source, "'size' is out of range");
  }
  c.do_resize = boolean(j, "do_resize", size != nullptr, source);
  if (c.do_resize && size == nullptr) bad(source, "'do_resize' is true but no 'size' is given");
  c.resample = integer(j, "resample", 2, source);
  if (c.resample < 0 || c.resample > 5) bad(source, "'resample' must be a PIL filter code 0..5");
  // transformers.js resizes with lanczos through sharp's lanczos3 resize (antialiased), not the
  // affine transform it uses for the other filters.
  if (c.resample == 1) c.method = media::ResizeMethod::Antialiased;
  c.do_rescale = boolean(j, "do_rescale", true, source);
  c.rescale_factor = number(j, "rescale_factor", 1.0 / 255.0, source);
  c.do_normalize = boolean(j, "do_normalize", false, source);
  c.image_mean = triple(j, field(j, "image_mean") ? "image_mean" : "mean", {0.5, 0.5, 0.5}, source);
  c.image_std = triple(j, field(j, "image_std") ? "image_std" : "std", {0.5, 0.5, 0.5}, source);
  if (c.do_normalize) {
    for (double s : c.image_std) {
      if (s == 0.0) bad(source, "'image_std' must not be zero");
    }
  }
  c.do_convert_rgb = boolean(j, "do_convert_rgb", true, source);
  return c;
}

}  // namespace

MediaConfig parse_media_config(std::string_view json_text, std::string_view source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    bad(source, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad(source, "not a JSON object");
  MediaConfig out;
  const json* image_type = field(j, "image_processor_type");
  if (image_type != nullptr || field(j, "size") != nullptr || field(j, "image_size") != nullptr) {
    out.image = parse_image(j, source);
  }
  return out;
}

}  // namespace oc::models
