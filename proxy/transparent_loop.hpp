#pragma once
// Loop detection beyond "the destination is our own listener": a firewall
// rule that also catches the proxy's own upstream connections (REDIRECT in
// the OUTPUT chain without an owner exception, TPROXY on lo) hands the proxy
// a connection from itself, whose original destination is the real server,
// so it would dial again, forever. Transparent sessions register the source
// endpoint of their upstream socket (bound before connect, so the registration
// happens before the kernel can deliver the looped connection); a listener
// refuses a connection whose peer is one of them. Process-wide: a loop may
// pass through two listeners.
#include <optional>

#include "proxy/asio.hpp"

namespace vhm::proxy {

// Registers one source endpoint for as long as it lives.
class OwnSource {
 public:
  OwnSource() = default;
  ~OwnSource() { reset(); }
  OwnSource(const OwnSource&) = delete;
  OwnSource& operator=(const OwnSource&) = delete;

  // `source` as bound: the unspecified address (redirect) stands for every
  // local address; port 0 is not registered.
  void set(const tcp::endpoint& source);
  void reset();

 private:
  std::optional<tcp::endpoint> source_;
};

// True when `peer` (of an accepted connection) is a registered source.
bool is_own_source(const tcp::endpoint& peer);

}  // namespace vhm::proxy
