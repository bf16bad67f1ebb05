#pragma once
// Internal to the loader: a listener's VeNCrypt termination keys, `vencrypt:`
// and the `tls:` map (docs/vencrypt.md). Everything is checked here, at load,
// with file:line: the PEM files are read (missing, unreadable, not PEM, a key
// that does not belong to its certificate) and an impossible combination
// (terminate with no way to secure the server leg) is reported, so a session
// never discovers a configuration mistake.
#include "conf/config.hpp"
#include "conf/config_reader.hpp"

namespace vhm::conf {

// Takes `vencrypt` and `tls` from the listener's map, when present.
void load_listener_tls(MapReader& listener, ListenerConfig& config, ProblemList& problems);

}  // namespace vhm::conf
