// The proxy's live state for GET /metrics (docs/metrics.md): a registry
// collector the server adds at start and removes before its sessions,
// listeners and ban table go away. Runs on the io thread (the admin listener
// renders there), so it reads the session registry without locks.
#include <map>

#include "metrics/registry.hpp"
#include "proxy/blocking.hpp"
#include "proxy/server.hpp"
#include "proxy/session.hpp"

namespace vhm::proxy {

void Server::collect_metrics(metrics::SampleWriter& out) {
  std::map<std::string, std::size_t> active;  // listen address -> live sessions
  std::map<std::string, std::size_t> by_transport{{"tcp", 0}, {"tls", 0}, {"ws", 0}, {"wss", 0}};
  for (const auto& listener : listeners_) active[listener->address()];
  std::uint64_t viewer_to_server = 0;
  std::uint64_t server_to_viewer = 0;
  sessions_.for_each([&](Session& session) {
    ++active[std::string(session.fields().get(conf::Field::listen))];
    ++by_transport[std::string(session.fields().get(conf::Field::transport))];
    viewer_to_server += session.bytes_in();
    server_to_viewer += session.bytes_out();
  });
  for (const auto& [listen, count] : active) {
    out.gauge("vnc_hooks_manager_sessions_active", "Live sessions, by listener address.", {{"listener", listen}},
              static_cast<double>(count));
  }
  for (const auto& [transport, count] : by_transport) {
    out.gauge("vnc_hooks_manager_sessions_by_transport", "Live sessions, by how the viewer came (tcp, tls, ws, wss).",
              {{"transport", transport}}, static_cast<double>(count));
  }
  out.gauge("vnc_hooks_manager_sessions_in_handshake",
            "Live sessions not yet past ServerInit (the io loop polls while there are any: global.handshake_poll_us).",
            {}, static_cast<double>(sessions_.handshakes_in_flight()));
  // Joins the counter of finished sessions' bytes (hooks/metrics/event_metrics.cpp).
  const std::string_view bytes_help = "Bytes relayed, by direction: finished sessions plus the live sessions' counters.";
  out.counter("vnc_hooks_manager_bytes_total", bytes_help, {{"direction", "viewer_to_server"}},
              static_cast<double>(viewer_to_server));
  out.counter("vnc_hooks_manager_bytes_total", bytes_help, {{"direction", "server_to_viewer"}},
              static_cast<double>(server_to_viewer));
  out.gauge("vnc_hooks_manager_listeners", "Listeners accepting connections now.", {},
            static_cast<double>(stopping_ ? 0 : listeners_.size()));
  if (blocking_enabled_ && blocking_) {
    out.gauge("vnc_hooks_manager_bans_active", "Client addresses banned now (blocking:).", {},
              static_cast<double>(blocking_->bans().size()));
    if (const auto shared = blocking_->shared_up())
      out.gauge("vnc_hooks_manager_shared_bans_up",
                "1 while shared bans (blocking.shared) go through Redis; 0 while this proxy counts and bans alone.", {},
                *shared ? 1.0 : 0.0);
  }
}

}  // namespace vhm::proxy
