#pragma once
// The whole configuration as plain structs with defaults. The loader
// (config_loader.hpp) fills and validates them; every other module only reads
// them. A loaded Config is immutable and shared (std::shared_ptr<const Config>)
// so a reload can swap it without touching running sessions.
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conf/cidr.hpp"
#include "conf/event_schema.hpp"
#include "conf/target_rule.hpp"

namespace vhm::conf {

struct HostPort {
  std::string host;  // listen: IP literal, empty = all addresses; target: name or IP
  std::uint16_t port = 0;
};

// VeNCrypt termination (issue 5, docs/vencrypt.md). pass: VeNCrypt is relayed
// untouched (TLS stays opaque); terminate: the proxy runs TLS with the viewer
// and with the server and sees the authentication inside.
enum class VeNCryptMode { pass, terminate };
// How the server leg is secured under terminate: the server's own VeNCrypt
// subtype, or (plain) its VncAuth over loopback while the viewer gets VeNCrypt.
enum class ServerSecurity { vencrypt, plain };

// A listener's `tls:` map; paths are absolute and were checked at load.
struct ListenerTlsConfig {
  std::filesystem::path cert;  // PEM chain toward viewers (X509* subtypes); empty = none
  std::filesystem::path key;   // its PEM key (unencrypted)
  std::filesystem::path server_ca;  // trusted CAs for the server's certificate; empty = none
  std::optional<std::array<std::uint8_t, 32>> server_fingerprint;  // pinned SHA-256 of the server's certificate
  std::string server_name;  // name the CA-verified certificate must carry; empty = the target host
  bool server_anonymous = false;  // anonymous TLS (TLSNone/TLSVnc/TLSPlain) toward the server allowed
  ServerSecurity server_security = ServerSecurity::vencrypt;
  int line = 0;  // of `tls:`, for messages
};

// How a listener finds its target (issue 4): the static target, the
// connection's original destination (iptables REDIRECT), or TPROXY.
enum class Transparent { off, redirect, tproxy };

// Session recording (docs/recording.md). The global `recording:` section gives
// defaults; a listener's own `recording:` map overrides them key by key. Each
// listener carries its effective settings (ListenerConfig::recording).
enum class RecordingOnError { continue_session, close_session };
enum class RecordingCompression { none, zstd };

struct RecordingConfig {
  bool enabled = false;
  std::filesystem::path dir;  // absolute; required when enabled
  // File name template below dir, e.g. "{timestamp}_{session_id}_{client_ip}.vhmrec"
  // (record/naming.hpp); may contain '/' for subdirectories, never ".." or a leading '/'.
  // The loader allows only start-of-session placeholders and requires {session_id}.
  std::string name = "{timestamp}_{session_id}_{client_ip}.vhmrec";
  // Octal however YAML spells it; the loader insists on owner read+write and
  // at most read for group/others (a recording must not be editable by others).
  mode_t mode = 0600;          // of the files (directories the proxy creates: 0700)
  bool include_input = false;  // keep the viewer's key, pointer and clipboard messages
  RecordingOnError on_error = RecordingOnError::continue_session;
  std::optional<std::chrono::seconds> max_age;  // retention: older files are pruned
  std::optional<std::uint64_t> max_total_size;  // retention: bytes under dir, oldest pruned first
  RecordingCompression compression = RecordingCompression::none;
  int zstd_level = 1;  // 1..19; 1 compresses screen data about as well as 3, twice as fast (docs/recording.md)
  std::uint64_t queue_size = 8u << 20;            // bytes a session may have waiting for the disk
  int line = 0;                                   // of the section that enabled it, for messages
};

// What happens after the handshake (docs/session-policy.md): the listener's
// `session:` section. Any of view_only, clipboard rules other than allow, a
// clipboard max_bytes, hooks on resize/screen_change/desktop_name or
// `track: true` turn the message tracker on (rfb/message_tracker.hpp);
// timers alone do not need it except input_idle_timeout, which follows the
// viewer's input. conf/load_session_policy.hpp: needs_message_tracking()
// is that rule, for --check-config and the session alike.
enum class ClipboardAction { allow, deny, log };
enum class UnknownEncodings { strip, opaque };
enum class ClipboardContent { none, file };

struct ClipboardRule {
  ClipboardAction action = ClipboardAction::allow;
};

struct SessionPolicyConfig {
  bool view_only = false;
  ClipboardRule viewer_to_server;  // `clipboard: {viewer_to_server: ...}`
  ClipboardRule server_to_viewer;  // `clipboard: {server_to_viewer: ...}`
  // Larger clipboard texts are dropped in either direction (with a log line);
  // nullopt: no limit beyond the tracker's own (64 MiB a message).
  std::optional<std::uint64_t> clipboard_max_bytes;
  ClipboardContent clipboard_content = ClipboardContent::none;  // `clipboard_content: file`
  std::filesystem::path clipboard_dir;  // absolute; required with clipboard_content: file
  std::optional<std::chrono::seconds> input_idle_timeout;
  std::optional<std::chrono::seconds> idle_warning;  // this long before input_idle_timeout; < it
  std::optional<std::chrono::seconds> max_duration;
  std::chrono::milliseconds screen_change_quiet{5'000};  // at least 100ms
  UnknownEncodings unknown_encodings = UnknownEncodings::strip;
  bool track = false;  // `track: true`: follow the messages even when no rule needs it (counters, events)
  int line = 0;        // of `session:`, for messages
};

// The front end of a listener (docs/browser-access.md): which protocols one
// port speaks, chosen by sniffing the viewer's first bytes, and the HTTP side
// of browser access (static files, tokens, Basic auth, origins, proxies).
enum class FrontProtocol : std::uint8_t { rfb = 1, tls = 2, ws = 4, wss = 8 };
enum class ClientCertMode { none, optional, required };

// `frontend_tls:`: TLS toward viewers and browsers (protocols tls and wss).
// Files are absolute, checked at load and read again on SIGHUP.
struct FrontendTlsConfig {
  std::filesystem::path cert;   // PEM certificate (may hold the chain)
  std::filesystem::path key;    // PEM key, unencrypted
  std::filesystem::path chain;  // optional extra chain certificates
  std::string ciphers;          // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's secure default
  std::string ciphersuites;     // TLS 1.3 suites; empty: default
  int min_version = 0x0303;     // TLS1_2_VERSION; `min_version: "1.3"` gives 0x0304
  std::filesystem::path client_ca;  // CAs for client certificates; required unless client_cert: none
  ClientCertMode client_cert = ClientCertMode::none;  // the CN (else first DNS SAN) becomes {user}
  int line = 0;
};

// The WebSocket and HTTP side (`web:`, `tokens:`, `websocket:`, `http_auth:`).
struct WebConfig {
  std::filesystem::path root;    // `web:` static files (noVNC); empty: no files, only upgrades
  std::filesystem::path tokens;  // `tokens:` websockify token file or directory; empty: the listener's target
  bool token_from_host = false;  // `token_from_host:` the Host name is a token too (websockify --host-token)
  std::vector<std::string> origins;  // `websocket: origins:` allowed Origin values; empty: any
  std::filesystem::path http_auth;   // `http_auth:` htpasswd file (crypt(3) hashes); empty: no Basic auth
  std::string realm = "vnc-hooks-manager";
  std::chrono::milliseconds heartbeat{30'000};      // ping every so often; 0: none
  std::optional<std::chrono::milliseconds> idle_timeout;  // no frame from the browser this long ends it
  std::uint64_t max_message = 16u << 20;          // one WebSocket message from the browser, bytes
  std::chrono::milliseconds request_timeout{10'000};  // a whole HTTP request (slowloris bound)
};

struct FrontendConfig {
  std::uint8_t protocols = static_cast<std::uint8_t>(FrontProtocol::rfb);  // `protocols:` bit set
  std::chrono::milliseconds sniff_timeout{300};  // silence this long means raw RFB
  FrontendTlsConfig tls;                          // `frontend_tls:`
  WebConfig web;
  std::vector<Cidr> trusted_proxies;  // X-Forwarded-For / Forwarded believed from these
  std::vector<Cidr> proxy_protocol;   // PROXY v1/v2 header required from these
  bool speaks(FrontProtocol p) const { return (protocols & static_cast<std::uint8_t>(p)) != 0; }
  // Anything but plain RFB with no PROXY header: the front end runs before the session.
  bool needed() const { return protocols != static_cast<std::uint8_t>(FrontProtocol::rfb) || !proxy_protocol.empty(); }
};

struct ListenerConfig {
  HostPort listen;
  HostPort target;  // unused (empty) when transparent
  // Transparent interception (docs/transparent.md): the target is each
  // connection's original destination, relayed only when one of
  // allow_targets (required, non-empty) matches it.
  Transparent transparent = Transparent::off;
  std::vector<TargetRule> allow_targets;
  std::string user;  // optional: who the target belongs to ({user} fallback)
  std::chrono::seconds handshake_timeout{30};
  std::chrono::seconds connect_timeout{10};
  // Connection policy, checked before the target is dialed (policy/connection_limits.hpp).
  std::vector<Cidr> allow;  // non-empty: only clients in these blocks may connect
  std::vector<Cidr> deny;   // clients in these blocks may not (deny wins over allow)
  std::optional<std::size_t> max_sessions;             // concurrent on this listener; nullopt = unlimited
  std::optional<std::size_t> max_sessions_per_ip;      // concurrent per client address; nullopt = unlimited
  std::optional<std::size_t> max_connects_per_minute;  // per client address, sliding 60 s; nullopt = unlimited
  // Scanner shield (docs/scanner-shield.md): the proxy greets the viewer with
  // the server's ProtocolVersion and dials only once the viewer answered with
  // a valid one, so scanners never reach (and never get blacklisted at) the server.
  bool scanner_shield = true;
  // `server_version:` ("3.8", "5.0"): the greeting before the target's own
  // version has been learned; nullopt: 3.8.
  std::optional<std::pair<int, int>> server_version;
  VeNCryptMode vencrypt = VeNCryptMode::pass;  // `vencrypt:`
  ListenerTlsConfig tls;                       // `tls:`; used with vencrypt: terminate
  RecordingConfig recording;                   // effective: global `recording:` + this listener's overrides
  SessionPolicyConfig session;                 // `session:`
  FrontendConfig frontend;                     // protocols, frontend_tls, web, tokens... (docs/browser-access.md)
  bool target_tls = false;                     // `target_tls:` TLS toward the target (websockify --ssl-target), unverified
  int line = 0;  // where in the config file it was defined, for messages
};

// A run_as user resolved at load time, so the child after fork() only calls
// async-signal-safe functions (setgroups/setgid/setuid), never getpwnam.
struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home;
  std::string shell;
};

// command: a process; log: JSON Lines to a file; webhook: an HTTP(S) request
// (hooks/webhook/); syslog: one RFC 5424 message (hooks/syslog/).
enum class HookAction { command, log, webhook, syslog };

// `action: webhook` (docs/webhooks.md). Templates are substituted per event,
// each placeholder escaped for where it stands (hooks/webhook/webhook_request.hpp).
struct WebhookConfig {
  std::string url;  // as written (never logged: a path may carry a secret); checked at load
  // Parsed from url at load. target: path and query, a template whose
  // placeholders are percent-encoded; user-info became an Authorization header.
  bool tls = false;  // https://
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 0;
  std::string target = "/";
  std::string method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;  // name, value template (control characters refused)
  std::optional<std::string> body;  // template; nullopt: the event as a JSON object
  bool body_is_json = false;        // placeholders in body are JSON-escaped (checked to parse at load)
  std::filesystem::path ca_file;    // absolute; empty: the system's trust store
  bool insecure = false;            // `insecure: true`: no certificate or host name verification
};

// `action: syslog` (docs/syslog.md).
enum class SyslogTransport { unix_socket, udp, tcp };
struct SyslogConfig {
  SyslogTransport transport = SyslogTransport::unix_socket;
  std::filesystem::path socket_path = "/dev/log";  // unix_socket
  HostPort address;                                // udp, tcp
  int facility = 10;                               // RFC 5424 number; 10 = authpriv
  std::string app_name = "vnc-hooks-manager";
  std::optional<int> severity;  // nullopt: by event (warning for auth_failure/ban/blocked, notice otherwise)
  std::optional<std::string> message;  // MSG template ({placeholders}); nullopt: a one-line summary of the event
};

struct HookConfig {
  std::string name;
  EventKind event = EventKind::connect;
  HookAction action = HookAction::command;
  // action: command. argv[0] is the resolved absolute executable; the other
  // elements are templates with {placeholders}, substituted per argument.
  std::vector<std::string> argv;
  // action: log. File that receives one JSON object per event, appended.
  std::filesystem::path path;
  WebhookConfig webhook;  // action: webhook
  SyslogConfig syslog;    // action: syslog
  std::chrono::milliseconds timeout{30'000};
  std::optional<RunAs> run_as;
  bool terminate_on_next_event = false;
  int retries = 0;
  // A gate decides whether the session may go on: exit 0 (a webhook: a 2xx
  // reply) lets it, anything else (or a timeout) refuses it. Only on connect
  // and auth_success handlers.
  bool gate = false;
  int line = 0;
};

struct GlobalConfig {
  std::filesystem::path hooks_dir;  // relative command paths resolve here
  std::filesystem::path log_file;   // empty: log to stderr
  std::string log_level = "info";   // trace, debug, info, warn, error, critical, off
  unsigned max_concurrent_hooks = 10;
  std::size_t hook_queue_limit = 1000;  // pending hook runs before new ones are dropped
  unsigned max_concurrent_webhooks = 64;  // webhook requests in flight at once; the rest wait in the hook queue
  std::chrono::milliseconds kill_grace{5'000};  // SIGTERM -> SIGKILL for timed-out hooks
  std::size_t max_sessions = 4096;              // concurrent sessions over all listeners
  std::size_t hook_output_max_lines = 200;      // per hook run; the rest is counted, not logged
  // SIGTERM/SIGINT: sessions may run on this long before they are closed with reason
  // `shutdown`; 0 closes them at once. Read when the signal arrives (a reload applies).
  std::chrono::milliseconds shutdown_grace{10'000};
  // Microseconds the io loop keeps looking for work without sleeping after
  // each burst (app/event_loop.hpp); 0 sleeps at once. Read each turn (a
  // reload applies). Trades CPU for latency, as haproxy's busy-polling does.
  unsigned busy_poll_us = 0;
  // The same, but only while a session is in its RFB handshake (accept to
  // ServerInit): the handshake's messages cross the proxy one by one, each
  // waiting on a wake-up, while a relaying or idle proxy never spins for it.
  unsigned handshake_poll_us = 50;
  // `user:`/`group:`: the account to switch to once listeners, control socket
  // and log file are open (service/privileges.hpp). Resolved at load time; gid
  // and groups already reflect `group:`. nullopt: keep running as started.
  // Read at startup only: a reload cannot change who the process is.
  std::optional<RunAs> user;
  std::string group;  // `group:` as written; empty = the user's own primary group
};

// One Redis deployment (docs/fleet.md): `broker:` and `blocking: shared:`
// use it. Written as a URL string or as a map with `url:`/`urls:` and the
// keys below. The password is read from password_file at load and never logged.
struct RedisAddress {
  std::string host;       // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 6379;
  bool tls = false;       // rediss://
  int database = 0;       // redis://host:port/N
};
struct RedisConfig {
  std::vector<RedisAddress> addresses;  // tried in order; the next one when a connection fails
  std::string user;                     // ACL user (AUTH user password); empty: AUTH password only
  std::filesystem::path password_file;  // absolute; empty: no AUTH
  std::string password;                 // read from password_file at load
  std::filesystem::path ca_file;        // rediss://: absolute; empty = the system's trust store
  std::filesystem::path cert_file;      // client certificate for TLS (optional)
  std::filesystem::path key_file;
  bool insecure = false;                // rediss:// without certificate or host name checks
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds command_timeout{5'000};
  int line = 0;
};

// `broker:` (docs/fleet.md): every event (or those of `events:`) is appended
// as JSON to a Redis Stream; while Redis cannot take them they wait in an
// fsync'ed on-disk spool. Workers (`vnc-hooks-manager worker`) read the same
// section to find the stream and their consumer group.
struct BrokerConfig {
  RedisConfig redis;
  std::string stream = "vnc-hooks-manager:events";
  std::size_t max_len = 1'000'000;                 // XADD MAXLEN ~ (approximate trimming)
  std::vector<EventKind> events;                   // empty: every kind
  std::filesystem::path spool_dir;                 // absolute; empty: <state dir> default chosen by the loader
  std::size_t spool_max_bytes = 256u << 20;        // oldest events dropped (counted, logged) beyond this
  std::string host_name;                           // empty: gethostname()
  // Worker side.
  std::string group = "vnc-hooks-manager";
  std::string consumer;                            // empty: <host name>-<pid>
  std::chrono::milliseconds claim_idle{60'000};    // XAUTOCLAIM entries pending longer than this
  std::size_t batch = 100;                         // XREADGROUP COUNT
  int line = 0;
};

// Auth-failure blocking. Present in Config only when the `blocking:` section
// exists and its `enabled` is not false.
struct BlockingConfig {
  unsigned max_failures = 5;             // failures within `window` that start a ban
  std::chrono::seconds window{600};
  std::chrono::seconds ban{3600};        // first ban of a key
  std::chrono::seconds max_ban{86'400};  // each further ban doubles the last one, capped here;
                                         // a key's level is forgotten after max_ban unbanned
  std::vector<Cidr> allow;               // never banned
  unsigned ipv4_prefix = 32;             // a client is counted by its address's /prefix
  unsigned ipv6_prefix = 64;
  std::filesystem::path state_file;      // absolute; empty = bans kept in memory only
  // `shared: redis://...`: failure counts and bans live in Redis, so every
  // proxy on it refuses a banned address; the local table is the fallback
  // while Redis is down (docs/fleet.md).
  std::optional<RedisConfig> shared;
  int line = 0;
};

// The admin HTTP listener (docs/events-out.md): Prometheus /metrics, health
// and a JSON API with the control socket's powers. Off unless `admin:` is given.
struct AdminConfig {
  bool enabled = false;
  HostPort listen{"127.0.0.1", 9810};
  // Bearer token for the API (and for /metrics when metrics_need_token); read
  // at load, from a file that others may not read. Empty: writes are refused.
  std::filesystem::path token_file;
  std::string token;
  bool metrics_need_token = false;  // /metrics, /healthz, /readyz are open unless this is set
  // One whole request (headers and body) must arrive within request_timeout
  // (slowloris); a kept-alive connection may wait idle_timeout for the next.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  int line = 0;
  int listen_line = 0;
};

struct Config {
  std::filesystem::path source;  // the file it came from; empty for --listen/--target mode
  GlobalConfig global;
  std::vector<ListenerConfig> listeners;
  std::map<EventKind, std::vector<HookConfig>> events;
  std::optional<BlockingConfig> blocking;   // nullopt: blocking is off
  std::filesystem::path control_socket;     // control: socket; absolute; empty = no control socket
  RecordingConfig recording;                // the global `recording:` section as written (listeners hold the effective ones)
  AdminConfig admin;                        // `admin:`
  std::optional<BrokerConfig> broker;       // `broker:`; nullopt: events stay on this host

  const std::vector<HookConfig>& hooks_for(EventKind kind) const {
    static const std::vector<HookConfig> none;
    auto it = events.find(kind);
    return it == events.end() ? none : it->second;
  }
};

}  // namespace vhm::conf
