// Public face of the parser: keeps the machine behind a pointer so the header
// stays small and the proxy can hold a parser by value.
#include "rfb/handshake_parser.hpp"

#include "rfb/handshake_machine.hpp"

namespace vhm::rfb {

struct HandshakeParser::State {
  explicit State(const Limits& limits) : machine(limits) {}
  detail::Machine machine;
};

HandshakeParser::HandshakeParser(Limits limits, TlsVisibility tls) : state_(std::make_unique<State>(limits)) {
  state_->machine.tls_visibility = tls;
}
HandshakeParser::~HandshakeParser() = default;
HandshakeParser::HandshakeParser(HandshakeParser&&) noexcept = default;
HandshakeParser& HandshakeParser::operator=(HandshakeParser&&) noexcept = default;

FeedResult HandshakeParser::feed(Direction direction, std::span<const std::uint8_t> bytes) {
  FeedResult result;
  auto& m = state_->machine;
  if (m.step == detail::Step::failed) {
    result.status = Status::error;
    result.error = m.error;
    return result;
  }
  if (m.step == detail::Step::done) return result;  // after the handshake: ignored

  m.events = &result.events;
  m.feed(direction, bytes);
  m.events = nullptr;

  if (m.step == detail::Step::failed) {
    result.status = Status::error;
    result.error = m.error;
  } else if (!result.events.empty() || m.step == detail::Step::done) {
    result.status = Status::progressed;
  }
  return result;
}

bool HandshakeParser::finished() const { return state_->machine.step == detail::Step::done; }
bool HandshakeParser::failed() const { return state_->machine.step == detail::Step::failed; }
bool HandshakeParser::awaiting_security_result() const {
  const auto& machine = state_->machine;
  return machine.step == detail::Step::security_result &&
         machine.pending[static_cast<std::size_t>(Direction::server_to_client)].size() == 0;
}
const Summary& HandshakeParser::summary() const { return state_->machine.summary; }
std::size_t HandshakeParser::waiting_bytes(Direction direction) const {
  return state_->machine.pending[static_cast<std::size_t>(direction)].size();
}
std::span<const std::uint8_t> HandshakeParser::after_handshake(Direction direction) const {
  return state_->machine.after[static_cast<std::size_t>(direction)];
}

}  // namespace vhm::rfb
