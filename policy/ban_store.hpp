#pragma once
// Bans survive a restart through a small JSON state file (blocking.state_file).
// Saving is atomic (temp file in the same directory, fsync, rename, fsync of
// the directory; mode 0600) so a crash leaves the old or the new file, never
// half of one. Loading never throws and never stops the proxy: a missing file
// is simply no bans; an unreadable or corrupt one is no bans plus a message for
// the caller to log. Ended bans are not loaded.
//
// Format (version 1), one object:
//   {"version":1,"bans":[{"key":"192.0.2.7","until_ms":1795436682000,"failures":5,
//                         "duration":3600,"level":1}, ...]}
// `until_ms` is Unix time in milliseconds (rounded up, so a restart never
// shortens a ban); `duration` is seconds.
#include <filesystem>
#include <string>
#include <vector>

#include "policy/ban_table.hpp"

namespace vhm::policy {

struct LoadedBans {
  std::vector<Ban> bans;
  std::string error;  // empty when the file was missing or read fine
};

// Bans ending at or before `now` are left out.
LoadedBans load_bans(const std::filesystem::path& path, TimePoint now);

// Writes `bans` (e.g. BanTable::list(now)) to `path`. On failure returns false
// with `error` set; the previous file, if any, is untouched.
bool save_bans(const std::filesystem::path& path, const std::vector<Ban>& bans, std::string& error);

// The JSON text of a state file, and its parser (used by the two above).
std::string bans_to_json(const std::vector<Ban>& bans);
LoadedBans bans_from_json(std::string_view text, TimePoint now);

}  // namespace vhm::policy
