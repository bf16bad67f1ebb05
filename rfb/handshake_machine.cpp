#include "rfb/handshake_machine.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

namespace vhm::rfb::detail {
namespace {

std::size_t add(std::size_t a, std::size_t b) {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max() : a + b;
}

std::size_t mul(std::size_t a, std::size_t b) {
  return b != 0 && a > std::numeric_limits<std::size_t>::max() / b ? std::numeric_limits<std::size_t>::max() : a * b;
}

// The largest single message the limits allow: a step needs its whole message
// buffered, so the pending limit may never be below this.
std::size_t largest_message(const Limits& l) {
  const std::size_t caps = mul(l.max_tight_capabilities, tight_capability_size);
  return std::max({
      add(9, l.max_reason_length),                                 // count/type + length + reason
      add(24, l.max_desktop_name_length),                          // ServerInit
      add(add(8, l.max_user_name_length), l.max_password_length),  // Plain / Unix login
      add(4, caps),                                                // Tight tunnel / auth list
      add(8, mul(3, caps)),                                        // Tight interaction capabilities
      add(1, mul(4, std::min<std::size_t>(l.max_vencrypt_subtypes, 255))),
      add(4, mul(2, l.max_dh_key_length)),                          // Apple DH server key
      add(apple_dh_credentials_size, l.max_dh_key_length),          // Apple DH client answer
      4 + 2 * ra2_max_key_bytes,                                    // RA2ne key (the largest RA2ne message)
      mslogon_client_key_size,
  });
}

const char* side(Direction d) { return d == Direction::server_to_client ? "server" : "client"; }

}  // namespace

Machine::Machine(const Limits& l) : limits(l), pending_limit(std::max(l.max_pending_bytes, largest_message(l))) {}

Direction direction_of(Step step) {
  switch (step) {
    case Step::client_version:
    case Step::security_choice:
    case Step::vnc_response:
    case Step::tight_tunnel_choice:
    case Step::tight_auth_choice:
    case Step::credentials:
    case Step::ident:
    case Step::vencrypt_client_version:
    case Step::vencrypt_choice:
    case Step::xvp_credentials:
    case Step::apple_dh_client_key:
    case Step::mslogon_client_key:
    case Step::ra2_client_key:
    case Step::ra2_client_random:
    case Step::ra2_client_hash:
    case Step::ra2_client_credentials:
    case Step::client_init:
      return Direction::client_to_server;
    default:
      return Direction::server_to_client;
  }
}

Outcome run_step(Machine& m, ByteReader& in) {
  switch (m.step) {
    case Step::server_version:
      return step_server_version(m, in);
    case Step::client_version:
      return step_client_version(m, in);
    case Step::security_33:
      return step_security_33(m, in);
    case Step::security_types:
      return step_security_types(m, in);
    case Step::security_choice:
      return step_security_choice(m, in);
    case Step::vnc_challenge:
      return step_vnc_challenge(m, in);
    case Step::vnc_response:
      return step_vnc_response(m, in);
    case Step::security_result:
      return step_security_result(m, in);
    case Step::tight_tunnels:
      return step_tight_tunnels(m, in);
    case Step::tight_tunnel_choice:
      return step_tight_tunnel_choice(m, in);
    case Step::tight_auth_types:
      return step_tight_auth_types(m, in);
    case Step::tight_auth_choice:
      return step_tight_auth_choice(m, in);
    case Step::credentials:
      return step_credentials(m, in);
    case Step::ident:
      return step_ident(m, in);
    case Step::vencrypt_server_version:
      return step_vencrypt_server_version(m, in);
    case Step::vencrypt_client_version:
      return step_vencrypt_client_version(m, in);
    case Step::vencrypt_ack:
      return step_vencrypt_ack(m, in);
    case Step::vencrypt_subtypes:
      return step_vencrypt_subtypes(m, in);
    case Step::vencrypt_choice:
      return step_vencrypt_choice(m, in);
    case Step::vencrypt_tls_ack:
      return step_vencrypt_tls_ack(m, in);
    case Step::xvp_credentials:
      return step_xvp_credentials(m, in);
    case Step::apple_dh_server_key:
      return step_apple_dh_server_key(m, in);
    case Step::apple_dh_client_key:
      return step_apple_dh_client_key(m, in);
    case Step::mslogon_server_key:
      return step_mslogon_server_key(m, in);
    case Step::mslogon_client_key:
      return step_mslogon_client_key(m, in);
    case Step::ra2_server_key:
      return step_ra2_server_key(m, in);
    case Step::ra2_client_key:
      return step_ra2_client_key(m, in);
    case Step::ra2_server_random:
      return step_ra2_server_random(m, in);
    case Step::ra2_client_random:
      return step_ra2_client_random(m, in);
    case Step::ra2_server_hash:
      return step_ra2_server_hash(m, in);
    case Step::ra2_client_hash:
      return step_ra2_client_hash(m, in);
    case Step::ra2_server_subtype:
      return step_ra2_server_subtype(m, in);
    case Step::ra2_client_credentials:
      return step_ra2_client_credentials(m, in);
    case Step::client_init:
      return step_client_init(m, in);
    case Step::server_init:
      return step_server_init(m, in);
    case Step::tight_interaction_caps:
      return step_tight_interaction_caps(m, in);
    case Step::done:
    case Step::failed:
      break;
  }
  return Outcome::need_more;
}

void Machine::run() {
  while (!terminal()) {
    PendingBuffer& buffer = pending[static_cast<std::size_t>(direction_of(step))];
    ByteReader in(buffer.view());
    const Outcome outcome = run_step(*this, in);
    if (outcome == Outcome::need_more) return;
    buffer.consume(in.consumed());
  }
  // Bytes after the handshake are the caller's (a recorder starts with them);
  // the parser keeps nothing: drop (and wipe) what is left.
  if (step == Step::done)
    for (std::size_t d = 0; d < pending.size(); ++d) {
      const auto left = pending[d].view();
      after[d].assign(left.begin(), left.end());
    }
  for (auto& buffer : pending) buffer.clear();
}

void Machine::feed(Direction direction, std::span<const std::uint8_t> bytes) {
  PendingBuffer& buffer = pending[static_cast<std::size_t>(direction)];
  // Take at most what fits, run, repeat: a large read (say ServerInit followed
  // by a framebuffer update) is consumed step by step, and once finished the
  // rest is ignored without ever being copied.
  while (!bytes.empty() && !terminal()) {
    const std::size_t room = pending_limit - buffer.size();
    if (room == 0) {
      fail(std::string(side(direction)) +
           " sent more bytes than the handshake parser may hold before it can use them (limit " +
           std::to_string(pending_limit) + ")");
      break;
    }
    const std::size_t take = std::min(room, bytes.size());
    buffer.append(bytes.first(take));
    bytes = bytes.subspan(take);
    run();
  }
  if (step == Step::done) {  // the rest of this chunk was never buffered
    auto& rest = after[static_cast<std::size_t>(direction)];
    rest.insert(rest.end(), bytes.begin(), bytes.end());
  }
}

void Machine::emit(Event event) {
  std::visit(
      [this](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, SecurityTypeChosen>) {
          summary.security_type = e.type;
          summary.security_name = security_type_name(e.type);
        } else if constexpr (std::is_same_v<E, VeNCryptSubtypeChosen>) {
          summary.vencrypt_subtype = e.subtype;
          summary.security_name = "VeNCrypt/" + vencrypt_subtype_name(e.subtype);
        } else if constexpr (std::is_same_v<E, UserNameSeen>) {
          summary.user = e.user;
        } else if constexpr (std::is_same_v<E, ClientInitSeen>) {
          summary.shared = e.shared;
        } else if constexpr (std::is_same_v<E, ServerInitSeen>) {
          summary.width = e.width;
          summary.height = e.height;
          summary.desktop_name = e.desktop_name;
          summary.pixel_format = e.pixel_format;
        }
      },
      event);
  if (events) events->push_back(std::move(event));
}

Outcome Machine::fail(std::string message) {
  error = std::move(message);
  step = Step::failed;
  for (auto& buffer : pending) buffer.clear();
  return Outcome::error;
}

std::string too_long(const char* who_sent_what, std::uint64_t size, std::uint64_t limit) {
  return std::string(who_sent_what) + " of " + std::to_string(size) + " bytes (limit " + std::to_string(limit) + ")";
}

}  // namespace vhm::rfb::detail
