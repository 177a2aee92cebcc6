# Writes OUTPUT: a C++ source defining `std::string_view NAMESPACE::FUNCTION()` that returns the
# bytes of INPUT. Run as a script (cmake -P) so that edits to INPUT rebuild it.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(LENGTH "${hex}" hex_length)
math(EXPR length "${hex_length} / 2")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT_NAME}; do not edit.\n#include <string_view>\n"
  "namespace ${NAMESPACE} {\nnamespace {\nconstexpr unsigned char kData[] = {${bytes}0};\n}\n"
  "std::string_view ${FUNCTION}() { return {reinterpret_cast<const char*>(kData), ${length}}; }\n}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
