#include "proxy/transparent_loop.hpp"

#include <map>
#include <mutex>

#include "proxy/endpoint_text.hpp"
#include "proxy/target_owner.hpp"

namespace vhm::proxy {
namespace {

struct Registry {
  std::mutex mutex;
  std::multimap<std::uint16_t, asio::ip::address> sources;  // by port: the check is a lookup
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

void OwnSource::set(const tcp::endpoint& source) {
  reset();
  if (source.port() == 0) return;
  const tcp::endpoint canonical(canonical_address(source.address()), source.port());
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.sources.emplace(canonical.port(), canonical.address());
  source_ = canonical;
}

void OwnSource::reset() {
  if (!source_) return;
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto [first, last] = r.sources.equal_range(source_->port());
  for (auto it = first; it != last; ++it) {
    if (it->second == source_->address()) {
      r.sources.erase(it);
      break;
    }
  }
  source_.reset();
}

bool is_own_source(const tcp::endpoint& peer) {
  const auto address = canonical_address(peer.address());
  bool wildcard = false;
  {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    auto [first, last] = r.sources.equal_range(peer.port());
    for (auto it = first; it != last; ++it) {
      if (it->second == address) return true;
      if (it->second.is_unspecified() && it->second.is_v6() == address.is_v6()) wildcard = true;
    }
  }
  // A wildcard-bound source connected from one of this host's addresses.
  return wildcard && is_local_address(address);
}

}  // namespace vhm::proxy
