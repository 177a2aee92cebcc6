// A minimal thread-safe logger: one line per message on stderr, level from --log-level.
#pragma once

#include <string_view>

namespace oc::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

void set_level(Level level);
Level level();
// Parses "debug" / "info" / "warn" / "error" / "off"; false if unknown.
bool parse_level(std::string_view text, Level& out);
void write(Level level, std::string_view message);

inline void debug(std::string_view m) { write(Level::Debug, m); }
inline void info(std::string_view m) { write(Level::Info, m); }
inline void warn(std::string_view m) { write(Level::Warn, m); }
inline void error(std::string_view m) { write(Level::Error, m); }

}  // namespace oc::log
