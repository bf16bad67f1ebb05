#pragma once
// Event timestamps: ISO 8601 UTC with milliseconds, e.g. 2026-11-23T12:00:00.123Z.
#include <chrono>
#include <string>

namespace vhm::util {

std::string iso8601_utc(std::chrono::system_clock::time_point when);
inline std::string iso8601_utc_now() { return iso8601_utc(std::chrono::system_clock::now()); }
// For file names: no ':' and no fraction, e.g. 20261123T120000Z.
std::string compact_utc(std::chrono::system_clock::time_point when);

}  // namespace vhm::util
