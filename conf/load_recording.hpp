#pragma once
// Internal to the loader: session recording's `recording:` settings
// (docs/recording.md). The same keys appear as a top-level section (defaults
// for every listener) and under a listener (overrides, key by key):
//   enabled, dir, name, mode, include_input, on_error, max_age,
//   max_total_size, compression, zstd_level, queue_size
// A listener may also write `recording: true` / `recording: false`, short for
// `{enabled: true}` / `{enabled: false}`.
//
// `enabled` is false unless some level says true. A map that sets other keys
// while nothing enables recording must say `enabled:` itself: otherwise a
// section that looks like it records (dir, name...) would silently not.
#include <filesystem>
#include <optional>

#include "conf/config.hpp"
#include "conf/config_reader.hpp"

namespace vhm::conf {

// The top-level section; defaults when absent. `dir` is not required here: a
// listener may bring its own (load_listener_recording checks the result).
RecordingConfig load_global_recording(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                                      ProblemList& problems);

// Takes `recording` from a listener's map and sets config.recording to
// `global` with the listener's overrides; reports an enabled result without a
// dir at the listener's `recording:` line (or the listener's own line when it
// only inherits).
void load_listener_recording(MapReader& listener, const RecordingConfig& global,
                             const std::filesystem::path& base_dir, ListenerConfig& config, ProblemList& problems);

}  // namespace vhm::conf
