#include "proxy/server_versions.hpp"

#include <cstdio>

namespace vhm::proxy {

std::optional<VersionMessageBytes> ServerVersions::lookup(const std::string& target) const {
  std::lock_guard lock(mutex_);
  const auto found = versions_.find(target);
  if (found == versions_.end()) return std::nullopt;
  return found->second;
}

bool ServerVersions::learn(const std::string& target, const VersionMessageBytes& version) {
  std::lock_guard lock(mutex_);
  const auto found = versions_.find(target);
  if (found != versions_.end()) {
    if (found->second == version) return false;
    found->second = version;
    return true;
  }
  if (versions_.size() >= max_targets) versions_.clear();
  versions_.emplace(target, version);
  return true;
}

void ServerVersions::forget(const std::string& target) {
  std::lock_guard lock(mutex_);
  versions_.erase(target);
}

VersionMessageBytes version_message(int major, int minor) {
  char text[16];
  std::snprintf(text, sizeof text, "RFB %03d.%03d\n", major % 1000, minor % 1000);
  VersionMessageBytes bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(text[i]);
  return bytes;
}

}  // namespace vhm::proxy
