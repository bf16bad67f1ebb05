#pragma once
// A property a fuzz target checks beyond "no crash". A violation aborts, so
// libFuzzer keeps the input as a crash reproducer like any sanitizer finding.
#include <cstdio>
#include <cstdlib>
#include <string>

namespace vhm::fuzz {

[[noreturn]] inline void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz check failed: %s\n%s\n", what, detail.c_str());
  std::abort();
}

// `detail` is only built when the check fails.
#define VHM_FUZZ_CHECK(condition, detail)                            \
  do {                                                               \
    if (!(condition)) ::vhm::fuzz::violated(#condition, (detail));   \
  } while (false)

}  // namespace vhm::fuzz
