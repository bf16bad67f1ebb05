#include "fuzz/support/rfb_event_text.hpp"

#include <type_traits>

namespace vhm::fuzz {
namespace {

template <typename T>
std::string joined(const std::vector<T>& values) {
  std::string out;
  for (const auto v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::string version_text(const rfb::Version& v) { return std::to_string(v.major) + "." + std::to_string(v.minor); }

const char* result_text(rfb::AuthResult result) {
  switch (result) {
    case rfb::AuthResult::ok: return "ok";
    case rfb::AuthResult::failed: return "failed";
    case rfb::AuthResult::unknown: return "unknown";
  }
  return "?";
}

}  // namespace

std::string describe(const rfb::Event& event) {
  using namespace rfb;
  return std::visit(
      [](const auto& e) -> std::string {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, ServerVersionSeen>) return "server-version " + version_text(e.version) + " " + e.raw;
        if constexpr (std::is_same_v<E, ClientVersionSeen>) return "client-version " + version_text(e.version) + " " + e.raw;
        if constexpr (std::is_same_v<E, SecurityTypesOffered>) return "types-offered " + joined(e.types);
        if constexpr (std::is_same_v<E, ConnectionRefused>) return "refused: " + e.reason;
        if constexpr (std::is_same_v<E, SecurityTypeChosen>) return "type-chosen " + std::to_string(e.type);
        if constexpr (std::is_same_v<E, VeNCryptSubtypesOffered>) return "vencrypt-offered " + joined(e.subtypes);
        if constexpr (std::is_same_v<E, VeNCryptSubtypeChosen>) return "vencrypt-chosen " + std::to_string(e.subtype);
        if constexpr (std::is_same_v<E, UserNameSeen>) return "user " + e.user;
        if constexpr (std::is_same_v<E, AuthResultSeen>) return std::string("auth ") + result_text(e.result) + ": " + e.reason;
        if constexpr (std::is_same_v<E, ClientInitSeen>) return e.shared ? "client-init shared" : "client-init exclusive";
        if constexpr (std::is_same_v<E, ServerInitSeen>)
          return "server-init " + std::to_string(e.width) + "x" + std::to_string(e.height) + " " + e.desktop_name;
        if constexpr (std::is_same_v<E, TlsStarts>) return "tls-starts " + std::to_string(e.subtype);
        return "?";
      },
      event);
}

std::string describe(const rfb::Summary& s) {
  return "version=" + version_text(s.version) + " type=" + std::to_string(s.security_type) +
         " vencrypt=" + std::to_string(s.vencrypt_subtype) + " name=" + s.security_name + " user=" + s.user +
         " xvp_target=" + s.xvp_target + " size=" + std::to_string(s.width) + "x" + std::to_string(s.height) +
         " desktop=" + s.desktop_name + " shared=" + std::to_string(s.shared);
}

}  // namespace vhm::fuzz
