#pragma once
// Internal state machine behind HandshakeParser. The handshake is strictly
// sequential: every step waits for one message from one direction. Bytes of
// the other direction wait in their own pending buffer until a step asks for
// them, so the interleaving of the two streams can never change the outcome.
//
// Step functions (handshake_steps_*.cpp) follow one rule: read the whole
// message first, then decide. On a short read they return need_more without
// touching any state, and the step runs again from the start of its message
// when more bytes arrive.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rfb/byte_reader.hpp"
#include "rfb/handshake_parser.hpp"
#include "rfb/pending_buffer.hpp"

namespace vhm::rfb::detail {

enum class Step : std::uint8_t {
  server_version,           // S: "RFB xxx.yyy\n"
  client_version,           // C: "RFB xxx.yyy\n"
  security_33,              // S: u32 type (0: u32 length + reason)
  security_types,           // S: u8 count + types (0: u32 length + reason)
  security_choice,          // C: u8 type
  vnc_challenge,            // S: 16 bytes
  vnc_response,             // C: 16 bytes
  security_result,          // S: u32 (+ u32 length + reason on failure, 3.8)
  tight_tunnels,            // S: u32 count + count x 16-byte capabilities
  tight_tunnel_choice,      // C: u32 code
  tight_auth_types,         // S: u32 count + count x 16-byte capabilities
  tight_auth_choice,        // C: u32 code
  credentials,              // C: u32 user length, u32 password length, user, password
  ident,                    // C: u32 user length, user
  vencrypt_server_version,  // S: u8 major, u8 minor
  vencrypt_client_version,  // C: u8 major, u8 minor
  vencrypt_ack,             // S: u8 (0 = accepted)
  vencrypt_subtypes,        // S: u8 count + count x u32
  vencrypt_choice,          // C: u32 subtype
  vencrypt_tls_ack,         // S: u8 (1 = TLS starts)
  xvp_credentials,          // C: u8 user length, u8 target length, user, target
  apple_dh_server_key,      // S: u16 generator, u16 key length, prime, public value
  apple_dh_client_key,      // C: 128 bytes encrypted credentials, public value
  mslogon_server_key,       // S: u64 generator, u64 modulus, u64 public value
  mslogon_client_key,       // C: u64 public value, 256 + 64 bytes encrypted credentials
  ra2_server_key,           // S: u32 key bits, modulus, exponent
  ra2_client_key,           // C: u32 key bits, modulus, exponent
  ra2_server_random,        // S: u16 length + RSA-encrypted random
  ra2_client_random,        // C: u16 length + RSA-encrypted random
  ra2_server_hash,          // S: AES-EAX message: u16 length, payload, 16-byte MAC
  ra2_client_hash,          // C: AES-EAX message
  ra2_server_subtype,       // S: AES-EAX message
  ra2_client_credentials,   // C: AES-EAX message
  client_init,              // C: u8 shared flag
  server_init,              // S: u16 w, u16 h, 16-byte pixel format, u32 length + name
  tight_interaction_caps,   // S: u16 x3 counts, u16 pad, (sum) x 16 bytes
  done,                     // finished: nothing more to learn
  failed,                   // protocol error reported
};

enum class Outcome : std::uint8_t { need_more, advanced, error };

inline constexpr std::size_t tight_capability_size = 16;
inline constexpr std::size_t vnc_challenge_size = 16;
inline constexpr std::size_t apple_dh_credentials_size = 128;  // AES-128-ECB of user[64] + password[64]
inline constexpr std::size_t mslogon_server_key_size = 3 * 8;  // generator, modulus, public value
inline constexpr std::size_t mslogon_client_key_size = 8 + 256 + 64;  // public value, user, password
inline constexpr std::size_t ra2_max_key_bytes = 8192 / 8;     // TigerVNC's MaxKeyLength, in bytes

struct Machine {
  explicit Machine(const Limits& limits);

  // Runs steps until one needs bytes that are not there yet (or the end).
  void run();
  // Queues bytes of one direction, honouring the pending limit, and runs.
  void feed(Direction direction, std::span<const std::uint8_t> bytes);

  // --- helpers for step functions ---
  void emit(Event event);  // appends to the current feed's events, updates the summary
  Outcome go(Step next) {
    step = next;
    return Outcome::advanced;
  }
  Outcome fail(std::string message);
  Outcome finish() { return go(Step::done); }
  bool is_38() const { return negotiated.minor >= 8; }
  bool terminal() const { return step == Step::done || step == Step::failed; }

  Limits limits;
  TlsVisibility tls_visibility = TlsVisibility::opaque;
  std::size_t pending_limit = 0;  // limits.max_pending_bytes, raised to fit the largest message
  Step step = Step::server_version;
  Summary summary;
  Version server_version;
  Version negotiated;  // lower of both, once the client's version is known
  std::vector<std::uint8_t> offered_types;
  std::vector<std::uint32_t> tight_tunnels;
  std::vector<std::uint32_t> tight_auth_types;
  std::vector<std::uint32_t> vencrypt_offered;
  bool tight_active = false;  // ServerInit carries Tight interaction capabilities
  std::size_t dh_key_length = 0;         // Apple DH: bytes of the client's public value
  std::size_t ra2_server_key_bytes = 0;  // RA2ne: bytes of each server key part
  std::size_t ra2_client_key_bytes = 0;  // RA2ne: bytes of each client key part
  std::string error;
  std::vector<Event>* events = nullptr;  // sink of the feed in progress
  std::array<PendingBuffer, 2> pending;  // indexed by Direction
  // Once done: the bytes of each direction fed beyond the handshake.
  std::array<std::vector<std::uint8_t>, 2> after;
};

// Which direction's bytes a step waits for.
Direction direction_of(Step step);

// One step: reads from `in`, which views the pending bytes of direction_of(step).
Outcome run_step(Machine& m, ByteReader& in);

// --- step functions, by file ---
// handshake_steps_version.cpp
Outcome step_server_version(Machine& m, ByteReader& in);
Outcome step_client_version(Machine& m, ByteReader& in);
// handshake_steps_security.cpp
Outcome step_security_33(Machine& m, ByteReader& in);
Outcome step_security_types(Machine& m, ByteReader& in);
Outcome step_security_choice(Machine& m, ByteReader& in);
Outcome step_vnc_challenge(Machine& m, ByteReader& in);
Outcome step_vnc_response(Machine& m, ByteReader& in);
Outcome step_security_result(Machine& m, ByteReader& in);
Outcome begin_security_type(Machine& m, std::uint8_t type);  // after the type is settled
Outcome begin_none(Machine& m);                              // None: SecurityResult in 3.8, implied ok before
Outcome begin_opaque(Machine& m);                            // result hidden or not understood
// handshake_steps_credentials.cpp
Outcome step_credentials(Machine& m, ByteReader& in);
Outcome step_ident(Machine& m, ByteReader& in);
// handshake_steps_tight.cpp
Outcome step_tight_tunnels(Machine& m, ByteReader& in);
Outcome step_tight_tunnel_choice(Machine& m, ByteReader& in);
Outcome step_tight_auth_types(Machine& m, ByteReader& in);
Outcome step_tight_auth_choice(Machine& m, ByteReader& in);
Outcome step_tight_interaction_caps(Machine& m, ByteReader& in);
// handshake_steps_vencrypt.cpp
Outcome step_vencrypt_server_version(Machine& m, ByteReader& in);
Outcome step_vencrypt_client_version(Machine& m, ByteReader& in);
Outcome step_vencrypt_ack(Machine& m, ByteReader& in);
Outcome step_vencrypt_subtypes(Machine& m, ByteReader& in);
Outcome step_vencrypt_choice(Machine& m, ByteReader& in);
Outcome step_vencrypt_tls_ack(Machine& m, ByteReader& in);
// handshake_steps_xvp.cpp
Outcome step_xvp_credentials(Machine& m, ByteReader& in);
// handshake_steps_dh.cpp
Outcome step_apple_dh_server_key(Machine& m, ByteReader& in);
Outcome step_apple_dh_client_key(Machine& m, ByteReader& in);
Outcome step_mslogon_server_key(Machine& m, ByteReader& in);
Outcome step_mslogon_client_key(Machine& m, ByteReader& in);
// handshake_steps_ra2ne.cpp
Outcome step_ra2_server_key(Machine& m, ByteReader& in);
Outcome step_ra2_client_key(Machine& m, ByteReader& in);
Outcome step_ra2_server_random(Machine& m, ByteReader& in);
Outcome step_ra2_client_random(Machine& m, ByteReader& in);
Outcome step_ra2_server_hash(Machine& m, ByteReader& in);
Outcome step_ra2_client_hash(Machine& m, ByteReader& in);
Outcome step_ra2_server_subtype(Machine& m, ByteReader& in);
Outcome step_ra2_client_credentials(Machine& m, ByteReader& in);
// handshake_steps_init.cpp
Outcome step_client_init(Machine& m, ByteReader& in);
Outcome step_server_init(Machine& m, ByteReader& in);

// "server sent a desktop name of 70000 bytes (limit 65536)"
std::string too_long(const char* who_sent_what, std::uint64_t size, std::uint64_t limit);
// "1, 2, 16"
template <typename T>
std::string list_text(const std::vector<T>& values) {
  std::string out;
  for (const auto v : values) {
    if (!out.empty()) out += ", ";
    out += std::to_string(v);
  }
  return out;
}

}  // namespace vhm::rfb::detail
