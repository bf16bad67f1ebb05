#include "tests/unit/rfb/event_text.hpp"

#include <sstream>
#include <type_traits>
#include <variant>
#include <vector>

namespace vhm::rfb::test {

namespace {

template <typename T>
std::string joined(const std::vector<T>& values) {
  std::string out;
  for (const auto v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::string version_text(const Version& v) { return std::to_string(v.major) + "." + std::to_string(v.minor); }

}  // namespace

std::string describe(const Event& event) {
  return std::visit(
      [](const auto& e) -> std::string {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, ServerVersionSeen>)
          return "server-version " + version_text(e.version) + " " + e.raw;
        if constexpr (std::is_same_v<E, ClientVersionSeen>)
          return "client-version " + version_text(e.version) + " " + e.raw;
        if constexpr (std::is_same_v<E, SecurityTypesOffered>) return "types-offered " + joined(e.types);
        if constexpr (std::is_same_v<E, ConnectionRefused>) return "refused: " + e.reason;
        if constexpr (std::is_same_v<E, SecurityTypeChosen>) return "type-chosen " + std::to_string(e.type);
        if constexpr (std::is_same_v<E, VeNCryptSubtypesOffered>) return "vencrypt-offered " + joined(e.subtypes);
        if constexpr (std::is_same_v<E, VeNCryptSubtypeChosen>) return "vencrypt-chosen " + std::to_string(e.subtype);
        if constexpr (std::is_same_v<E, UserNameSeen>) return "user " + e.user;
        if constexpr (std::is_same_v<E, AuthResultSeen>) {
          switch (e.result) {
            case AuthResult::ok:
              return "auth ok" + (e.reason.empty() ? "" : ": " + e.reason);
            case AuthResult::failed:
              return "auth failed" + (e.reason.empty() ? "" : ": " + e.reason);
            case AuthResult::unknown:
              return "auth unknown" + (e.reason.empty() ? "" : ": " + e.reason);
          }
        }
        if constexpr (std::is_same_v<E, ClientInitSeen>)
          return e.shared ? "client-init shared" : "client-init exclusive";
        if constexpr (std::is_same_v<E, ServerInitSeen>)
          return "server-init " + std::to_string(e.width) + "x" + std::to_string(e.height) + " " + e.desktop_name;
        if constexpr (std::is_same_v<E, TlsStarts>) return "tls-starts " + std::to_string(e.subtype);
        return "?";
      },
      event);
}

std::string describe(const Summary& s) {
  std::ostringstream out;
  out << "version=" << version_text(s.version) << " type=" << s.security_type << " vencrypt=" << s.vencrypt_subtype
      << " name=" << s.security_name << " user=" << s.user << " size=" << s.width << "x" << s.height
      << " desktop=" << s.desktop_name << " shared=" << s.shared;
  if (!s.xvp_target.empty()) out << " xvp_target=" << s.xvp_target;
  return out.str();
}

}  // namespace vhm::rfb::test
