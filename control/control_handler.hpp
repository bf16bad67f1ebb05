#pragma once
// What the control socket can ask of the running proxy. The proxy implements
// this interface; control/ knows nothing of proxy types, so the rows are plain
// strings and numbers. Every method is called on the io thread (the one that
// runs the ControlServer's io_context), so an implementation may touch
// io-thread-only state (session registry, ban table) without locking.
#include <cstdint>
#include <string>
#include <vector>

namespace vhm::control {

// One live session, as `ctl sessions` shows it. Text fields use the event
// field spellings (client_ip "192.0.2.1" or "2001:db8::1", ports as text);
// empty = not known yet.
struct SessionRow {
  std::string session_id;
  std::string client_ip;
  std::string client_port;
  std::string target_host;
  std::string target_port;
  std::string listen;
  std::string user;
  std::string security_type;
  std::string state;  // free text chosen by the proxy, e.g. "handshake", "relaying"
  std::uint64_t age_seconds = 0;
  std::uint64_t bytes_in = 0;   // viewer -> server
  std::uint64_t bytes_out = 0;  // server -> viewer
  std::string recording_path;   // the file while the session is being recorded, else empty
  bool view_only = false;       // the viewer's input does not reach the server (session: rules)
  std::string tracking;         // "on", "off", "opaque: ..."; empty before the handshake ended
  std::string transport;        // how the viewer came: tcp, tls, ws, wss
};

// One entry of the ban table: a key that has failures counted or is banned.
struct BanRow {
  std::string key;           // e.g. "203.0.113.7/32" or "2001:db8:1:2::/64"
  std::uint64_t failures = 0;  // failures within the current window
  std::string banned_until;  // ISO 8601 UTC; empty = not banned (failures only)
  std::uint32_t level = 0;   // how many bans this key had (1 = first ban)
};

// Outcome of unban/kill. ok: `message` is one human line ("unbanned ...");
// not ok: `message` is the error ("no ban or failures for ...").
struct CommandResult {
  bool ok = false;
  std::string message;
};

class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  virtual std::vector<SessionRow> sessions() = 0;
  virtual std::vector<BanRow> bans() = 0;
  // `address` is untrusted text from the request (a client address as the
  // user typed it); the implementation parses and validates it.
  virtual CommandResult unban(const std::string& address) = 0;
  // Ends the session with disconnect reason `killed`.
  virtual CommandResult kill(const std::string& session_id) = 0;
};

}  // namespace vhm::control
