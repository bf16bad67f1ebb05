#pragma once
// YAML -> Config, validating everything at once. Every problem names the file,
// line and key, and all problems are reported together (not just the first).
// `--check-config` runs exactly this code.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"

namespace vhm::conf {

struct ConfigProblem {
  std::string file;
  int line = 0;     // 1-based; 0 when unknown
  std::string key;  // dotted path, e.g. "events.connect[0].cmd"
  std::string message;
  std::string to_string() const;  // "file:line: key: message"
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when there are problems
  std::vector<ConfigProblem> problems;
  bool ok() const { return problems.empty() && config != nullptr; }
};

// One --listen/--target pair from the command line, as typed.
struct ListenerArgument {
  std::string listen;
  std::string target;
};

// The same defaults as a quick-mode listener (a plain ListenerConfig),
// problems reported as "command line: --listen ADDR: ...". nullopt after
// adding problems.
std::optional<ListenerConfig> listener_from_argument(const ListenerArgument& argument,
                                                     std::vector<ConfigProblem>& problems);

struct LoadOptions {
  // --listen/--target pairs given with --config: added after the file's own
  // listeners (the file may then have none), with quick mode's defaults and
  // the file's top-level recording: section, as the file's listeners get it.
  std::vector<ListenerArgument> extra_listeners;
  // false for readers that only want other sections (ctl finds its socket
  // in a file that may rely on --listen): no listeners is not a problem.
  bool require_listeners = true;
};

// Relative paths inside the file (hooks_dir, log_file, log action paths)
// resolve against the directory that holds the file; hooks_dir defaults to
// that directory. A missing hooks_dir is reported only by a hook that needs it.
// Executables and run_as users are resolved here, once (see
// executable_lookup.hpp, user_lookup.hpp); Config.source is the absolute path.
LoadResult load_config_file(const std::filesystem::path& path, const LoadOptions& options = {});

// `name` is used in messages; `base_dir` resolves relative paths.
LoadResult load_config_string(std::string_view yaml, const std::string& name,
                              const std::filesystem::path& base_dir, const LoadOptions& options = {});

}  // namespace vhm::conf
