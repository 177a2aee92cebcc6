// Facts about the machine the process runs on.
#pragma once

#include <cstdint>

namespace oc {

// Memory the system can give the process without swapping (/proc/meminfo MemAvailable; physical
// memory when that is unknown), in bytes.
uint64_t available_memory();

}  // namespace oc
