#include "app/websockify_options.hpp"

#include <array>
#include <charconv>
#include <filesystem>
#include <string_view>

#include "conf/address.hpp"
#include "conf/load_frontend.hpp"
#include "tls/pem_files.hpp"

namespace vhm::app {
namespace fs = std::filesystem;
namespace {

enum class Arg { none, value };
enum class Use { map, ignore, refuse };

struct Spec {
  std::string_view name;  // long name without "--"
  char short_name;        // 0: none
  Arg arg;
  Use use;
  std::string_view why;   // ignore/refuse: the reason, after "--name "
};

constexpr std::string_view auth_hint =
    "is not supported: write the listener in a configuration file with http_auth: (an htpasswd file, "
    "docs/browser-access.md)";

// websockify 0.10's options (websocketproxy.py), in its --help order, plus
// --file-only (later websockify versions) and our own --config.
constexpr std::array<Spec, 36> specs = {{
    {"verbose", 'v', Arg::none, Use::map, ""},
    {"traffic", 0, Arg::none, Use::refuse,
     "is not supported (websockify's per-frame traffic marks); --verbose logs every session"},
    {"record", 0, Arg::value, Use::map, ""},
    {"daemon", 'D', Arg::none, Use::refuse,
     "is refused: vnc-hooks-manager does not daemonize; run it under systemd (see "
     "packaging/systemd/vnc-hooks-manager.service.in and docs/browser-access.md: "
     "ExecStart=/usr/bin/vnc-hooks-manager websockify ...)"},
    {"run-once", 0, Arg::none, Use::refuse,
     "is not supported: every connection is served; --idle-timeout exits once nobody is connected"},
    {"timeout", 0, Arg::value, Use::map, ""},
    {"idle-timeout", 0, Arg::value, Use::map, ""},
    {"cert", 0, Arg::value, Use::map, ""},
    {"key", 0, Arg::value, Use::map, ""},
    {"key-password", 0, Arg::value, Use::refuse,
     "is not supported: a service cannot use an encrypted key; decrypt it once (openssl pkey -in KEY -out "
     "PLAIN_KEY) and keep that file readable only by the service"},
    {"ssl-only", 0, Arg::none, Use::map, ""},
    {"ssl-target", 0, Arg::none, Use::map, ""},
    {"verify-client", 0, Arg::none, Use::map, ""},
    {"cafile", 0, Arg::value, Use::map, ""},
    {"ssl-version", 0, Arg::value, Use::map, ""},
    {"ssl-ciphers", 0, Arg::value, Use::map, ""},
    {"unix-target", 0, Arg::value, Use::refuse, "is not supported: targets are TCP addresses (host:port)"},
    {"inetd", 0, Arg::none, Use::refuse, "is not supported: vnc-hooks-manager opens its own listening socket"},
    {"web", 0, Arg::value, Use::map, ""},
    {"web-auth", 0, Arg::none, Use::refuse, auth_hint},
    {"wrap-mode", 0, Arg::value, Use::refuse, "is not supported: vnc-hooks-manager does not start or wrap programs"},
    {"prefer-ipv6", '6', Arg::none, Use::ignore,
     "has no effect: listen addresses are IP literals, and without source_addr IPv4 and IPv6 are both served"},
    {"libserver", 0, Arg::none, Use::ignore, "has no effect: there is one server engine"},
    {"target-config", 0, Arg::value, Use::map, ""},
    {"token-plugin", 0, Arg::value, Use::map, ""},
    {"token-source", 0, Arg::value, Use::map, ""},
    {"host-token", 0, Arg::none, Use::map, ""},
    {"auth-plugin", 0, Arg::value, Use::refuse, auth_hint},
    {"auth-source", 0, Arg::value, Use::refuse, auth_hint},
    {"heartbeat", 0, Arg::value, Use::map, ""},
    {"log-file", 0, Arg::value, Use::map, ""},
    {"syslog", 0, Arg::value, Use::refuse,
     "is not supported: the log goes to stderr (the journal) or --log-file; session events can go to syslog "
     "with an action: syslog hook in a --config file"},
    {"legacy-syslog", 0, Arg::none, Use::refuse, "is not supported (see --syslog)"},
    {"file-only", 0, Arg::none, Use::ignore, "has no effect: directories are never listed"},
    {"config", 0, Arg::value, Use::map, ""},
    {"help", 'h', Arg::none, Use::map, ""},
}};

const Spec* find_long(std::string_view typed, std::string& error) {
  const Spec* prefix_match = nullptr;
  std::string candidates;
  for (const Spec& spec : specs) {
    if (spec.name == typed) return &spec;
    if (spec.name.starts_with(typed)) {
      prefix_match = candidates.empty() ? &spec : nullptr;
      candidates += (candidates.empty() ? "--" : ", --") + std::string(spec.name);
    }
  }
  // optparse takes a unique abbreviation (--ver for --verbose).
  if (prefix_match) return prefix_match;
  if (!candidates.empty())
    error = "ambiguous option: --" + std::string(typed) + " (" + candidates + "?)";
  else
    error = "no such option: --" + std::string(typed);
  return nullptr;
}

const Spec* find_short(char c) {
  for (const Spec& spec : specs)
    if (spec.short_name == c) return &spec;
  return nullptr;
}

std::optional<long> parse_seconds(const std::string& name, const std::string& text, std::string& error) {
  long value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end) {
    error = "option --" + name + ": invalid integer value: '" + text + "'";
    return std::nullopt;
  }
  if (value < 0) {
    error = "option --" + name + ": must be 0 or more seconds, got " + text;
    return std::nullopt;
  }
  if (value > 100L * 365 * 24 * 3600) {
    error = "option --" + name + ": " + text + " seconds is more than a century";
    return std::nullopt;
  }
  return value;
}

// One recognised option with its value (empty for flags): into `options`.
bool apply(const Spec& spec, const std::string& value, WebsockifyOptions& options, std::string& error) {
  const std::string name(spec.name);
  if (spec.use == Use::refuse) {
    error = "--" + name + " " + std::string(spec.why);
    return false;
  }
  if (spec.use == Use::ignore) {
    options.ignored.push_back("--" + name + " " + std::string(spec.why));
    return true;
  }
  const auto seconds = [&](long& field) {
    auto parsed = parse_seconds(name, value, error);
    if (parsed) field = *parsed;
    return parsed.has_value();
  };
  if (name == "verbose") options.verbose = true;
  else if (name == "record") options.record = value;
  else if (name == "timeout") return seconds(options.timeout);
  else if (name == "idle-timeout") return seconds(options.idle_timeout);
  else if (name == "heartbeat") return seconds(options.heartbeat);
  else if (name == "cert") options.cert = value, options.cert_given = true;
  else if (name == "key") options.key = value;
  else if (name == "ssl-only") options.ssl_only = true;
  else if (name == "ssl-target") options.ssl_target = true;
  else if (name == "verify-client") options.verify_client = true;
  else if (name == "cafile") options.cafile = value;
  else if (name == "ssl-version") {
    if (value != "default" && value != "tlsv1_1" && value != "tlsv1_2" && value != "tlsv1_3") {
      error = "option --ssl-version: invalid choice: '" + value +
              "' (choose from 'default', 'tlsv1_1', 'tlsv1_2', 'tlsv1_3')";
      return false;
    }
    options.ssl_version = value;
  } else if (name == "ssl-ciphers") options.ssl_ciphers = value;
  else if (name == "web") options.web = value;
  else if (name == "target-config") options.token_plugin = "TokenFile", options.token_source = value;
  else if (name == "token-plugin") options.token_plugin = value;
  else if (name == "token-source") options.token_source = value;
  else if (name == "host-token") options.host_token = true;
  else if (name == "log-file") options.log_file = value;
  else if (name == "config") options.config_file = value;
  else if (name == "help") options.show_help = true;
  return true;
}

bool is_token_file_plugin(std::string name) {
  constexpr std::string_view module = "websockify.token_plugins.";
  if (name.starts_with(module)) name = name.substr(module.size());
  return name == "TokenFile" || name == "ReadOnlyTokenFile";
}

// websockify's "[addr:]port": the last ':' splits, brackets around the address go.
std::pair<std::string, std::string> split_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return {"", text};
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, text.substr(colon + 1)};
}

std::string join_address(const std::string& host, const std::string& port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

fs::path absolute(const std::string& path) {
  std::error_code ec;
  fs::path result = fs::absolute(path, ec);
  return (ec ? fs::path(path) : result).lexically_normal();
}

constexpr const char* system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

}  // namespace

std::optional<WebsockifyOptions> parse_websockify_options(const std::vector<std::string>& args, std::string& error) {
  WebsockifyOptions options;
  std::vector<std::string> words;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      error = "a WRAP_COMMAND_LINE after -- is not supported: vnc-hooks-manager does not start or wrap programs";
      return std::nullopt;
    }
    if (arg.starts_with("--")) {
      const auto equals = arg.find('=');
      const std::string typed = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
      const Spec* spec = find_long(typed, error);
      if (!spec) return std::nullopt;
      std::string value;
      if (spec->arg == Arg::none) {
        if (equals != std::string::npos) {
          error = "--" + std::string(spec->name) + " option does not take a value";
          return std::nullopt;
        }
      } else if (equals != std::string::npos) {
        value = arg.substr(equals + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        error = "--" + std::string(spec->name) + " option requires 1 argument";
        return std::nullopt;
      }
      if (!apply(*spec, value, options, error)) return std::nullopt;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      for (std::size_t k = 1; k < arg.size(); ++k) {  // -vD: several flags at once
        const Spec* spec = find_short(arg[k]);
        if (!spec) {
          error = std::string("no such option: -") + arg[k];
          return std::nullopt;
        }
        if (!apply(*spec, "", options, error)) return std::nullopt;
      }
      continue;
    }
    words.push_back(arg);
  }
  if (options.show_help) return options;

  if (!options.token_source.empty() && options.token_plugin.empty()) {
    error = "You must use --token-plugin to use --token-source";
    return std::nullopt;
  }
  if (options.host_token && options.token_plugin.empty()) {
    error = "You must use --token-plugin to use --host-token";
    return std::nullopt;
  }
  if (!options.token_plugin.empty()) {
    if (!is_token_file_plugin(options.token_plugin)) {
      error = "--token-plugin " + options.token_plugin +
              " is not supported: only TokenFile and ReadOnlyTokenFile (a token file or a directory of them)";
      return std::nullopt;
    }
    if (options.token_source.empty()) {
      error = "--token-plugin " + options.token_plugin + " needs --token-source FILE_OR_DIRECTORY";
      return std::nullopt;
    }
  }
  const std::size_t wanted = options.token_plugin.empty() ? 2 : 1;
  const std::string usage = options.token_plugin.empty()
                                ? "[source_addr:]source_port target_addr:target_port"
                                : "[source_addr:]source_port (the token plugin names the targets)";
  if (words.size() < wanted) {
    error = "too few arguments: expected " + usage;
    return std::nullopt;
  }
  if (words.size() > wanted) {
    error = "too many arguments: expected " + usage + ", got an extra \"" + words[wanted] + "\"";
    return std::nullopt;
  }
  options.source = words[0];
  if (wanted == 2) {
    options.target = words[1];
    if (options.target.find(':') == std::string::npos) {
      error = "cannot parse the target \"" + options.target + "\": expected target_addr:target_port";
      return std::nullopt;
    }
  }
  return options;
}

std::optional<WebsockifyPlan> plan_websockify(const WebsockifyOptions& options, std::string& error) {
  WebsockifyPlan plan;
  conf::ListenerConfig& listener = plan.listener;
  conf::FrontendConfig& front = listener.frontend;
  using conf::FrontProtocol;
  const auto fail = [&](std::string message) -> std::optional<WebsockifyPlan> {
    error = std::move(message);
    return std::nullopt;
  };

  const auto [source_host, source_port] = split_address(options.source);
  std::string problem;
  auto listen = conf::parse_listen_address(join_address(source_host, source_port), problem);
  if (!listen) return fail("source \"" + options.source + "\": " + problem);
  listener.listen = *listen;
  if (!options.target.empty()) {
    const auto [host, port] = split_address(options.target);
    auto target = conf::parse_target_address(join_address(host, port), problem);
    if (!target) return fail("target \"" + options.target + "\": " + problem);
    listener.target = *target;
  }

  // websockify's WebSocket side: no pings unless --heartbeat.
  front.web.heartbeat = std::chrono::seconds(options.heartbeat);
  if (!options.web.empty()) {
    front.web.root = absolute(options.web);
    if (auto why = conf::directory_problem(front.web.root)) return fail("--web " + options.web + ": " + *why);
  }
  if (!options.token_source.empty()) {
    front.web.tokens = absolute(options.token_source);
    if (auto why = conf::token_source_problem(front.web.tokens))
      return fail("--token-source " + options.token_source + ": " + *why);
    front.web.token_from_host = options.host_token;
  }

  // TLS when the certificate file exists, as websockify decides it.
  const fs::path cert = absolute(options.cert);
  std::error_code ec;
  const bool have_cert = fs::exists(cert, ec);
  if (have_cert) {
    const fs::path key = options.key.empty() ? cert : absolute(options.key);
    if (auto why = tls::certificate_and_key_problem(cert, key)) return fail("--cert/--key: " + *why);
    front.tls.cert = cert;
    front.tls.key = key;
    if (!options.ssl_ciphers.empty()) {
      if (auto why = conf::cipher_list_problem(options.ssl_ciphers))
        return fail("--ssl-ciphers " + options.ssl_ciphers + ": " + *why);
      front.tls.ciphers = options.ssl_ciphers;
    }
    if (options.ssl_version == "tlsv1_3") front.tls.min_version = 0x0304;
    if (options.ssl_version == "tlsv1_1")
      plan.notes.push_back("--ssl-version tlsv1_1: TLS 1.1 is not offered; the minimum is TLS 1.2");
    if (options.verify_client) {
      const fs::path ca = options.cafile.empty() ? fs::path(system_ca_bundle) : absolute(options.cafile);
      if (auto why = tls::ca_file_problem(ca))
        return fail((options.cafile.empty() ? "--verify-client without --cafile uses " + ca.string() : "--cafile " + options.cafile) +
                    ": " + *why);
      front.tls.client_ca = ca;
      front.tls.client_cert = conf::ClientCertMode::required;
    } else if (!options.cafile.empty()) {
      plan.notes.push_back("--cafile is only used with --verify-client (as in websockify)");
    }
  } else if (options.ssl_only) {
    return fail("SSL only and " + options.cert + " not found");
  } else if (options.cert_given) {
    plan.notes.push_back("--cert " + options.cert + " not found: no TLS (wss), as websockify does");
  }
  const auto bit = [](FrontProtocol p) { return static_cast<std::uint8_t>(p); };
  front.protocols = options.ssl_only ? bit(FrontProtocol::wss)
                    : have_cert      ? bit(FrontProtocol::ws) | bit(FrontProtocol::wss)
                                     : bit(FrontProtocol::ws);
  listener.target_tls = options.ssl_target;

  if (!options.record.empty()) {
    // websockify wrote FILE.N per session; here FILE.<session id>.vhmrec beside it.
    const fs::path file = absolute(options.record);
    const std::string base = file.filename().string();
    if (base.empty() || base.find_first_of("{}") != std::string::npos)
      return fail("--record " + options.record + ": the file name must not be empty or contain '{' or '}'");
    if (auto why = conf::directory_problem(file.parent_path())) return fail("--record " + options.record + ": " + *why);
    listener.recording.enabled = true;
    listener.recording.dir = file.parent_path();
    listener.recording.name = base + ".{session_id}.vhmrec";
  }
  if (!options.log_file.empty()) plan.log_file = absolute(options.log_file);
  for (const auto& note : options.ignored) plan.notes.push_back(note);
  return plan;
}

std::string websockify_help() {
  return "Usage:\n"
         "  vnc-hooks-manager websockify [options] [source_addr:]source_port target_addr:target_port\n"
         "  vnc-hooks-manager websockify [options] --token-plugin TokenFile --token-source PATH [source_addr:]source_port\n"
         "\n"
         "A drop-in for websockify 0.10: the same options with the same meaning, served by the\n"
         "proxy (hooks, bans, recording and every other feature stay available with --config).\n"
         "A systemd unit switches by replacing /usr/bin/websockify with\n"
         "/usr/bin/vnc-hooks-manager websockify. Details: docs/browser-access.md.\n"
         "\n"
         "Options (websockify's):\n"
         "  -v, --verbose          debug logging\n"
         "  --web DIR              serve static files (noVNC) from DIR on the same port\n"
         "  --cert FILE            TLS certificate, with its key unless --key (default self.pem;\n"
         "                         wss is offered only when the file exists)\n"
         "  --key FILE             TLS key, if separate from the certificate\n"
         "  --ssl-only             refuse unencrypted connections (needs the certificate)\n"
         "  --ssl-target           connect to the target with TLS (not verified, as websockify)\n"
         "  --ssl-version V        minimum TLS version: default, tlsv1_1 and tlsv1_2 mean 1.2; tlsv1_3\n"
         "  --ssl-ciphers LIST     TLS 1.2 cipher list (OpenSSL syntax)\n"
         "  --verify-client        require a client certificate (CN becomes {user})\n"
         "  --cafile FILE          CAs for --verify-client (default: the system's CA bundle)\n"
         "  --token-plugin CLASS   TokenFile or ReadOnlyTokenFile (also websockify.token_plugins.*)\n"
         "  --token-source PATH    token file or directory of token files (token: host:port lines)\n"
         "  --target-config PATH   the same as --token-plugin TokenFile --token-source PATH\n"
         "  --host-token           the Host name is the token\n"
         "  --heartbeat N          send a WebSocket ping every N seconds (default 0: none)\n"
         "  --idle-timeout N       exit after N seconds with no session\n"
         "  --timeout N            after N seconds, exit as soon as no session runs\n"
         "  --record FILE          record each session as FILE.<session id>.vhmrec (the proxy's\n"
         "                         recording format, not websockify's)\n"
         "  --log-file FILE        log to FILE instead of stderr\n"
         "  --prefer-ipv6, -6, --libserver, --file-only   accepted, no effect\n"
         "Options (vnc-hooks-manager's):\n"
         "  --config FILE          a configuration file for hooks, bans, control socket... (its\n"
         "                         listeners: run beside this one); SIGHUP re-reads it\n"
         "  -h, --help             print this help and exit\n"
         "\n"
         "Refused, with the reason: --daemon/-D (run under systemd), --run-once, --traffic,\n"
         "--key-password, --unix-target, --inetd, --wrap-mode and a command after --,\n"
         "--web-auth, --auth-plugin, --auth-source, --syslog, --legacy-syslog.\n";
}

}  // namespace vhm::app
