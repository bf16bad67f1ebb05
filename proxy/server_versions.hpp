#pragma once
// The scanner shield's memory (docs/scanner-shield.md): the ProtocolVersion
// each target last answered with, so the proxy can greet a viewer exactly as
// that server would before it dials. Learned only from sessions whose server
// went on to offer security types: a refusing server (e.g. a blacklisting Xvnc
// says "RFB 003.003" whatever it normally speaks) teaches nothing.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace vhm::proxy {

using VersionMessageBytes = std::array<std::uint8_t, 12>;

class ServerVersions {
 public:
  // Bounds the memory a transparent listener fronting many targets can use;
  // forgetting only costs one greeting in the default version.
  static constexpr std::size_t max_targets = 4096;

  std::optional<VersionMessageBytes> lookup(const std::string& target) const;
  // True when this changed what the target is greeted with.
  bool learn(const std::string& target, const VersionMessageBytes& version);
  // The target answered otherwise than learned: greet in the default again
  // until it is learned anew.
  void forget(const std::string& target);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, VersionMessageBytes> versions_;
};

// "RFB 003.008\n" for 3.8, "RFB 005.000\n" for 5.0.
VersionMessageBytes version_message(int major, int minor);

}  // namespace vhm::proxy
