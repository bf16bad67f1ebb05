// ProtocolVersion from both sides; the lower of the two decides the handshake.
#include "rfb/handshake_machine.hpp"
#include "rfb/protocol_version.hpp"
#include "rfb/quote.hpp"

namespace vhm::rfb::detail {
namespace {

// Reads one side's version. Returns advanced with `out` set, or need_more / error.
Outcome read_version(Machine& m, ByteReader& in, const char* who, VersionMessage& out) {
  out = read_version_message(in.unread());
  switch (out.kind) {
    case VersionMessage::Kind::incomplete:
      return Outcome::need_more;
    case VersionMessage::Kind::malformed:
      return m.fail(std::string(who) + " sent an invalid version string " + quote(in.unread().first(out.size)));
    case VersionMessage::Kind::repeater:
      return m.fail(std::string(who) + " sent \"RFB 000.000\": the UltraVNC repeater protocol, which is not supported");
    case VersionMessage::Kind::unsupported:
      return m.fail(std::string(who) + " sent an unsupported RFB version \"" + out.raw + "\"");
    case VersionMessage::Kind::valid:
      in.skip(out.size);
      return Outcome::advanced;
  }
  return Outcome::need_more;
}

}  // namespace

Outcome step_server_version(Machine& m, ByteReader& in) {
  VersionMessage msg;
  if (const Outcome o = read_version(m, in, "server", msg); o != Outcome::advanced) return o;
  m.server_version = msg.effective;
  m.emit(ServerVersionSeen{msg.effective, msg.raw});
  return m.go(Step::client_version);
}

Outcome step_client_version(Machine& m, ByteReader& in) {
  VersionMessage msg;
  if (const Outcome o = read_version(m, in, "client", msg); o != Outcome::advanced) return o;
  // All effective versions are 3.x, so the lower one is the lower minor.
  m.negotiated = msg.effective.minor < m.server_version.minor ? msg.effective : m.server_version;
  m.summary.version = m.negotiated;
  m.emit(ClientVersionSeen{msg.effective, msg.raw});
  return m.go(m.negotiated.minor == 3 ? Step::security_33 : Step::security_types);
}

}  // namespace vhm::rfb::detail
