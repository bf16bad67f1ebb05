#pragma once
// `vnc-hooks-manager websockify`: websockify 0.10's command line, read the way
// websockify reads it (optparse: `--opt value` and `--opt=value`, unique
// abbreviations of long options, -v -D -6 -h, options between the positional
// words, `--` ends the options), and mapped onto one listener
// (docs/browser-access.md, "Migrating from websockify"). Pure: no sockets, no
// logging, so the mapping is unit-tested option by option.
//
// Every websockify option is either mapped, accepted without effect (it
// cannot change anything here, e.g. --libserver), or refused by name with
// the reason; an option websockify does not know is an error as in websockify.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace vhm::app {

struct WebsockifyOptions {
  // Positional words: [source_addr:]source_port [target_addr:target_port].
  std::string source;
  std::string target;  // empty with a token plugin
  bool verbose = false;
  std::string config_file;  // ours: --config FILE for hooks, bans, recording settings...
  std::string web;
  std::string cert = "self.pem";  // websockify's default: TLS only when it exists
  bool cert_given = false;
  std::string key;
  bool ssl_only = false;
  bool ssl_target = false;
  bool verify_client = false;
  std::string cafile;
  std::string ssl_version = "default";
  std::string ssl_ciphers;
  std::string token_plugin;
  std::string token_source;
  bool host_token = false;
  std::string record;
  std::string log_file;
  long heartbeat = 0;     // seconds; websockify's default: no pings
  long idle_timeout = 0;  // seconds without sessions, then exit; 0: never
  long timeout = 0;       // seconds after start, then exit once no session runs; 0: never
  bool show_help = false;
  // Accepted options that change nothing here, for a log line ("--libserver").
  std::vector<std::string> ignored;
};

// `args` are the words after "websockify". nullopt with `error` set (naming
// the option) when websockify would refuse them or they ask for something
// this proxy does not do.
std::optional<WebsockifyOptions> parse_websockify_options(const std::vector<std::string>& args, std::string& error);

// What the options describe: the listener (files checked now, paths made
// absolute against the working directory as websockify does), the log file,
// and notes worth a log line at start (e.g. "no self.pem: TLS is off").
struct WebsockifyPlan {
  conf::ListenerConfig listener;
  std::filesystem::path log_file;
  std::vector<std::string> notes;
};
std::optional<WebsockifyPlan> plan_websockify(const WebsockifyOptions& options, std::string& error);

std::string websockify_help();

}  // namespace vhm::app
