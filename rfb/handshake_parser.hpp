#pragma once
// Sans-IO parser of the RFB handshake, fed with copies of the bytes the proxy
// relays in both directions. No sockets, clocks or logging: bytes in, events
// out, three-way result (need more / progressed / error). Any split of the two
// byte streams yields the same events. Every length field is checked against a
// limit before it is trusted. After ServerInit, or once the exchange becomes
// opaque (TLS the proxy does not terminate, unknown security type), finished()
// is true and the caller stops feeding: the relay after that is a plain byte pump.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace vhm::rfb {

enum class Direction : std::uint8_t { server_to_client, client_to_server };

enum class AuthResult : std::uint8_t { ok, failed, unknown };

struct Version {
  int major = 0;
  int minor = 0;  // effective version after alias mapping: 3.3, 3.7 or 3.8
  friend bool operator==(const Version&, const Version&) = default;
};

// --- events, in the order they happen on the wire ---
struct ServerVersionSeen { Version version; std::string raw; };   // raw: "RFB 003.008"
struct ClientVersionSeen { Version version; std::string raw; };
struct SecurityTypesOffered { std::vector<std::uint8_t> types; };  // 3.3: the one type the server set
// The server refused before authentication (3.7+: count 0, 3.3: type 0) with a reason.
struct ConnectionRefused { std::string reason; };
struct SecurityTypeChosen { std::uint8_t type = 0; };
struct VeNCryptSubtypesOffered { std::vector<std::uint32_t> subtypes; };
struct VeNCryptSubtypeChosen { std::uint32_t subtype = 0; };
// Visible in clear (VeNCrypt Plain/Ident, Tight Unix login, xvp), or inside TLS
// the proxy terminates (TLSPlain, X509Plain).
struct UserNameSeen { std::string user; };
// ok / failed come from a SecurityResult (or are implied, e.g. None before 3.8);
// unknown means the result is hidden (TLS, RA2ne that cannot be followed) or the
// type is not understood; reason may then say why ("result hidden by RA2ne").
struct AuthResultSeen { AuthResult result = AuthResult::unknown; std::string reason; };
struct ClientInitSeen { bool shared = false; };
using PixelFormatBytes = std::array<std::uint8_t, 16>;  // PIXEL_FORMAT as on the wire
struct ServerInitSeen {
  std::uint16_t width = 0;
  std::uint16_t height = 0;
  std::string desktop_name;
  PixelFormatBytes pixel_format{};
};
// The server accepted a TLS-based VeNCrypt subtype (ack 1): the next bytes on
// both legs are a TLS handshake. With TlsVisibility::opaque an AuthResultSeen
// (unknown) follows and the parser finishes. With TlsVisibility::terminated the
// caller runs TLS on both legs and from now on feeds only the DECRYPTED inner
// streams (never the TLS records); the parser follows the inner exchange of
// TLSNone/X509None, TLSVnc/X509Vnc and TLSPlain/X509Plain to ServerInit (other
// TLS subtypes: AuthResultSeen unknown, finished).
struct TlsStarts { std::uint32_t subtype = 0; };

using Event = std::variant<ServerVersionSeen, ClientVersionSeen, SecurityTypesOffered,
                           ConnectionRefused, SecurityTypeChosen, VeNCryptSubtypesOffered,
                           VeNCryptSubtypeChosen, UserNameSeen, AuthResultSeen, ClientInitSeen,
                           ServerInitSeen, TlsStarts>;

// What the caller can show the parser of a TLS-based VeNCrypt subtype: only
// the encrypted bytes (opaque: the result is unknown), or the decrypted inner
// exchange because the proxy terminates TLS on both legs.
enum class TlsVisibility : std::uint8_t { opaque, terminated };

enum class Status : std::uint8_t {
  need_more,   // nothing new could be decided; feed more bytes
  progressed,  // at least one event was produced (see FeedResult::events), or finished() became true
  error,       // protocol error; see FeedResult::error. Events decided before the error are still
               // in FeedResult::events. The parser stays in error: later feeds repeat the error.
};

struct FeedResult {
  Status status = Status::need_more;
  std::vector<Event> events;
  std::string error;  // human readable, no secrets, e.g. "server sent a desktop name of 4294967295 bytes (limit 65536)"
};

struct Limits {
  std::size_t max_reason_length = 65536;
  std::size_t max_desktop_name_length = 65536;
  std::size_t max_user_name_length = 1024;
  std::size_t max_password_length = 1024;  // VeNCrypt Plain / Tight Unix login: skipped, never stored
  std::uint32_t max_tight_capabilities = 256;  // per Tight capability list
  std::size_t max_vencrypt_subtypes = 64;      // the count is a u8; real servers offer about ten
  std::size_t max_dh_key_length = 1024;        // Apple DH (30): bytes of the prime and of each public value
  // Bytes of one direction buffered before the parser can use them (the other
  // direction is behind, or a message is incomplete). Raised internally to fit
  // the largest message the limits above allow, so a valid handshake always fits.
  std::size_t max_pending_bytes = 256 * 1024;
};

// Snapshot of what is known so far, for filling event fields.
struct Summary {
  Version version;                 // negotiated (lower of the two); {0,0} until both seen
  int security_type = -1;          // chosen type, -1 until chosen
  std::uint32_t vencrypt_subtype = 0;  // 0 if none
  std::string security_name;       // "None", "VncAuth", "VeNCrypt/TLSVnc", "Tight", "MSLogonII", "type-5", ...
  std::string user;                // from the protocol, if visible
  std::string xvp_target;          // xvp (22): the target system the client asked for, in clear
  std::uint16_t width = 0, height = 0;
  std::string desktop_name;
  PixelFormatBytes pixel_format{};
  bool shared = false;
};

class HandshakeParser {
 public:
  explicit HandshakeParser(Limits limits = {}, TlsVisibility tls = TlsVisibility::opaque);
  ~HandshakeParser();
  HandshakeParser(HandshakeParser&&) noexcept;
  HandshakeParser& operator=(HandshakeParser&&) noexcept;

  // Feed the next bytes seen travelling in `direction`. Bytes after the
  // handshake (once finished()) are ignored.
  FeedResult feed(Direction direction, std::span<const std::uint8_t> bytes);

  bool finished() const;  // nothing more to learn; stop feeding
  bool failed() const;    // a protocol error was reported
  // True when the next server bytes begin the SecurityResult (nothing of it
  // is buffered yet). A gate uses it to hold the result back from the viewer.
  bool awaiting_security_result() const;
  const Summary& summary() const;
  // Once finished() after ServerInit: the bytes of `direction` fed so far that
  // come after the handshake (the tail of the last chunk, or bytes that waited
  // for the other direction). A recorder starts with them. Empty otherwise.
  std::span<const std::uint8_t> after_handshake(Direction direction) const;
  // Bytes of `direction` fed but not yet taken by a handshake step: a
  // message split across chunks, or a peer running ahead of the protocol
  // (a viewer sending messages after ClientInit before ServerInit came).
  std::size_t waiting_bytes(Direction direction) const;

 private:
  struct State;
  std::unique_ptr<State> state_;  // implementation detail, free to change
};

// Human name of a security type number ("VncAuth", "VeNCrypt", "type-42").
std::string security_type_name(std::uint8_t type);
// Human name of a VeNCrypt subtype ("TLSVnc", "Plain", "subtype-999").
std::string vencrypt_subtype_name(std::uint32_t subtype);

}  // namespace vhm::rfb
