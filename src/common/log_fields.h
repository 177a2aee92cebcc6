// Structured lines and the output format of the logger (common/log.h): text writes
// "HH:MM:SS level message key=value ..."; json writes every line as one JSON object
// {"time", "level", "msg", fields...} (--log-format).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/log.h"

namespace oc::log {

enum class Format { Text, Json };

// One named value of a structured line.
using Value = std::variant<std::string, int64_t, double, bool>;
using Fields = std::vector<std::pair<std::string, Value>>;

void set_format(Format format);
// Parses "text" / "json"; false if unknown.
bool parse_format(std::string_view text, Format& out);
// A line with named values after the message.
void write(Level level, std::string_view message, const Fields& fields);

}  // namespace oc::log
