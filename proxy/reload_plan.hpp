#pragma once
// What a config reload changes, decided before anything is touched: which
// running listeners keep their socket (same listen address), which open and
// which close, and which changed settings only a restart can apply. Pure, so
// the matching rules are unit-tested without sockets.
//
// Matching: a new listener keeps the socket of an old one with the same
// listen address and socket options (IP_TRANSPARENT for tproxy), preferring
// one that also has the same target (two listeners on "127.0.0.1:0" stay
// apart by their targets); each old listener is kept at most once. A listener
// that would need a new socket on an address still bound by an old one (its
// tproxy mode changed) cannot be reloaded: closing first would refuse
// connections, binding first would fail.
#include <cstddef>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace vhm::proxy {

struct ListenerMatch {
  std::size_t old_index = 0;  // in the config in force
  std::size_t new_index = 0;  // in the reloaded config
};

struct ReloadPlan {
  std::vector<ListenerMatch> kept;
  std::vector<std::size_t> opened;  // new indices: bind these
  std::vector<std::size_t> closed;  // old indices: stop accepting, their sessions go on
  // One line per setting that changed but stays as it is until a restart.
  std::vector<std::string> needs_restart;
  // Non-empty: this reload cannot be applied (why, for the log).
  std::string refusal;
};

// True when `a` and `b` can share one listening socket.
bool same_socket(const conf::ListenerConfig& a, const conf::ListenerConfig& b);

ReloadPlan plan_reload(const conf::Config& current, const conf::Config& next);

}  // namespace vhm::proxy
