#pragma once
// Internal to the loader: one function per top-level section. Each fills its
// part of Config from the YAML and reports problems; the loader decides whether
// the whole Config is usable.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf/config_reader.hpp"

namespace vhm::conf {

// Absolute, lexically normal; relative text is relative to base_dir.
std::filesystem::path resolve_config_path(const std::string& text, const std::filesystem::path& base_dir);

// `section` is absent when the file has no global: key. hooks_dir defaults to base_dir.
GlobalConfig load_global(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                         ProblemList& problems);

// Reports "no listeners" itself when the section is absent or empty and the
// command line adds none (unless options.require_listeners is false). Each
// listener's recording starts from `recording` (the top-level section) and its
// own recording: key overrides it; relative recording dirs resolve against base_dir.
// options.extra_listeners come last, with the top-level recording as it is.
std::vector<ListenerConfig> load_listeners(const std::optional<Entry>& section, const RecordingConfig& recording,
                                           const std::filesystem::path& base_dir, const LoadOptions& options,
                                           ProblemList& problems);

// Log action paths resolve against base_dir, commands against global.hooks_dir.
std::map<EventKind, std::vector<HookConfig>> load_events(const Entry& section, const GlobalConfig& global,
                                                         const std::filesystem::path& base_dir,
                                                         ProblemList& problems);

// `blocking:`: nullopt when the section is absent or says enabled: false (it is
// validated either way). state_file resolves against base_dir.
std::optional<BlockingConfig> load_blocking(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                                            ProblemList& problems);

// `control:`: the control socket path (absolute), empty when not configured.
std::filesystem::path load_control(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                                   ProblemList& problems);

// May a handler of this event be a gate (`gate: true`)? load_events.cpp.
bool gate_allowed(EventKind kind);

// The keys of one `action: webhook` / `action: syslog` handler (name, action
// and retries are read by the caller; these read the rest and call finish()
// is left to the caller). load_webhook.cpp, load_syslog.cpp.
void load_webhook_hook(MapReader& map, const std::filesystem::path& base_dir, HookConfig& hook, ProblemList& problems);
void load_syslog_hook(MapReader& map, HookConfig& hook, ProblemList& problems);

// Redis settings (load_redis.cpp). load_redis: a URL string or a map of
// url/urls, user, password_file, tls, connect_timeout, command_timeout.
// load_redis_keys reads those keys from a map that has others too (broker:);
// the caller calls finish(). Both return nullopt after reporting problems.
std::optional<RedisConfig> load_redis(const Entry& entry, const std::filesystem::path& base_dir,
                                      ProblemList& problems);
std::optional<RedisConfig> load_redis_keys(MapReader& map, const std::filesystem::path& base_dir,
                                           ProblemList& problems);
// `broker:`: nullopt when absent or `enabled: false`. spool_dir defaults to
// broker-spool/ beside the config file; host_name to gethostname().
std::optional<BrokerConfig> load_broker(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                                        ProblemList& problems);

// `admin:` (load_admin.cpp): disabled when the section is absent.
AdminConfig load_admin(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                       ProblemList& problems);

// A list of CIDR blocks or bare addresses (allow/deny); each bad item is a
// problem at its own line.
std::vector<Cidr> load_cidr_list(const Entry& entry, ProblemList& problems);

// A command hook's `cmd:`: split into argv, placeholders checked, argv[0]
// resolved to an absolute executable. nullopt after reporting problems.
std::optional<std::vector<std::string>> load_hook_command(const Entry& cmd, const std::filesystem::path& hooks_dir,
                                                          ProblemList& problems);

}  // namespace vhm::conf
