#pragma once
// Internal to the loader: a listener's transparent-interception keys.
//   transparent: redirect | tproxy | off (default)
//   allow_targets: ["10.0.0.0/24:5900-5999", "[2001:db8::/64]:5901"]
// The two go together: a transparent listener without allow_targets would
// relay to wherever a connection was headed (an open relay), and allow_targets
// without transparent would suggest a check that never runs. A transparent
// listener takes its target from each connection, so `target:` is an error there.
#include "conf/config.hpp"
#include "conf/config_reader.hpp"

namespace vhm::conf {

// Takes `transparent`, `allow_targets` and, for a transparent listener, rejects
// `target`. True when the listener is transparent (the caller then reads no target).
bool load_transparent(MapReader& map, ListenerConfig& config, ProblemList& problems);

}  // namespace vhm::conf
