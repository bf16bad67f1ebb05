// The configuration loader on arbitrary YAML text, in memory
// (load_config_string: no temporary file per run). Beyond not crashing and not
// throwing: a result is either a config or problems, and every problem names
// the file and a line that exists.
#include <algorithm>
#include <string_view>

#include "conf/config_loader.hpp"
#include "fuzz/support/check.hpp"

namespace {

// The loader opens the certificate files a config names. Reading a device
// such as /dev/zero or /dev/stdin never ends; such inputs are skipped rather
// than reported as hangs (a real config names regular files).
bool names_special_files(std::string_view text) {
  for (std::string_view dir : {"dev/", "proc/", "sys/"})
    if (text.find(dir) != std::string_view::npos) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  if (names_special_files(yaml)) return -1;  // not added to the corpus

  // Relative paths resolve against a directory that does not exist.
  const auto result = vhm::conf::load_config_string(yaml, "fuzz.yaml", "/nonexistent-vhm-fuzz");

  VHM_FUZZ_CHECK(result.problems.empty() == (result.config != nullptr), "a config together with problems");
  if (result.ok()) VHM_FUZZ_CHECK(!result.config->listeners.empty(), "a valid config without listeners");
  // YAML ends lines with \n, \r\n or \r: counting both is an upper bound.
  const int lines = static_cast<int>(std::count(yaml.begin(), yaml.end(), '\n') +
                                     std::count(yaml.begin(), yaml.end(), '\r')) + 1;
  for (const auto& problem : result.problems) {
    const std::string text = problem.to_string();
    VHM_FUZZ_CHECK(problem.file == "fuzz.yaml" && !problem.message.empty(), text);
    VHM_FUZZ_CHECK(problem.line >= 0 && problem.line <= lines, text + " (the input has " + std::to_string(lines) + " lines)");
  }
  return 0;
}
