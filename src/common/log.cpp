#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/log_fields.h"

namespace oc::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<int> g_format{static_cast<int>(Format::Text)};
std::mutex g_mutex;

const char* const kNames[] = {"debug", "info", "warn", "error"};

nlohmann::ordered_json to_json(const Value& v) {
  return std::visit([](const auto& x) { return nlohmann::ordered_json(x); }, v);
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// key=value; strings that are empty or hold spaces, quotes or '=' are JSON-quoted.
std::string text_field(const std::string& key, const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    bool plain = !s->empty() && s->find_first_of(" \"=\t\n\\") == std::string::npos;
    return key + "=" + (plain ? *s : dump(*s));
  }
  return key + "=" + dump(to_json(v));
}

}  // namespace

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load()); }

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug")
    out = Level::Debug;
  else if (text == "info")
    out = Level::Info;
  else if (text == "warn" || text == "warning")
    out = Level::Warn;
  else if (text == "error")
    out = Level::Error;
  else if (text == "off" || text == "none")
    out = Level::Off;
  else
    return false;
  return true;
}

void set_format(Format f) { g_format = static_cast<int>(f); }

bool parse_format(std::string_view text, Format& out) {
  if (text == "text")
    out = Format::Text;
  else if (text == "json")
    out = Format::Json;
  else
    return false;
  return true;
}

void write(Level l, std::string_view message) { write(l, message, Fields{}); }

void write(Level l, std::string_view message, const Fields& fields) {
  if (static_cast<int>(l) < g_level.load()) return;
  const char* name = kNames[static_cast<int>(l)];
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string line;
  if (static_cast<Format>(g_format.load()) == Format::Json) {
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    char full[48];
    std::snprintf(full, sizeof full, "%s.%03dZ", stamp, static_cast<int>(ms));
    nlohmann::ordered_json j = {{"time", full}, {"level", name}, {"msg", std::string(message)}};
    for (const auto& [k, v] : fields) j[k] = to_json(v);
    line = dump(j);
  } else {
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    char head[48];
    std::snprintf(head, sizeof head, "%s %-5s ", stamp, name);
    line = head;
    line += message;
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += text_field(k, v);
    }
  }
  line += '\n';
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace oc::log
