#pragma once
// A listener's front-end keys (docs/browser-access.md): which protocols one
// port speaks and the HTTP side of browser access.
//   protocols: [rfb, tls, ws, wss]      sniff_timeout: 300ms
//   frontend_tls: {cert, key, chain, ciphers, ciphersuites, min_version,
//                  client_ca, client_cert: none|optional|required}
//   web: DIR   tokens: PATH   token_from_host: bool   http_auth: FILE
//   http_realm: TEXT
//   websocket: {origins, heartbeat, idle_timeout, max_message, request_timeout}
//   trusted_proxies: [cidr]   proxy_protocol: [cidr]   target_tls: bool
//
// protocols: defaults to what the other keys ask for: [rfb] alone; with any
// HTTP key (web, tokens, websocket, http_auth, http_realm, token_from_host)
// rfb and ws, plus tls and wss when frontend_tls is given; frontend_tls alone
// gives rfb and tls. A listener with tokens and no target cannot relay raw
// RFB (a viewer has no way to name a token), so its default leaves rfb and
// tls out and an explicit list that has them is refused.
//
// Files are read at load (missing, unreadable, a key that is not the
// certificate's, a cipher list OpenSSL does not understand), so a typo is a
// file:line problem, not a failed session. Relative paths resolve against
// the config file's directory.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "conf/config_reader.hpp"

namespace vhm::conf {

// Takes the keys above from a listener's map into config.frontend and
// config.target_tls. `has_target`: the listener has a target of its own
// (static or transparent); without one, tokens must name every target.
void load_frontend(MapReader& listener, const std::filesystem::path& base_dir, bool has_target,
                   ListenerConfig& config, ProblemList& problems);

// The checks the loader makes, for the websockify drop-in (app/), which
// builds its listener from options instead of YAML. nullopt: fine.
std::optional<std::string> cipher_list_problem(const std::string& ciphers);       // TLS 1.2 list
std::optional<std::string> ciphersuites_problem(const std::string& ciphersuites);  // TLS 1.3 suites
std::optional<std::string> readable_file_problem(const std::filesystem::path& path);
std::optional<std::string> directory_problem(const std::filesystem::path& path);
// A token file or a directory of token files.
std::optional<std::string> token_source_problem(const std::filesystem::path& path);

// "rfb, tls, ws, wss": the set in that order.
std::string protocol_names(std::uint8_t protocols);

// For --check-config: "browser access on 2 listener(s): ws, wss; tokens from
// /etc/vnc/tokens", or nullopt when every listener speaks plain RFB only.
std::optional<std::string> browser_access_summary(const Config& config);

}  // namespace vhm::conf
