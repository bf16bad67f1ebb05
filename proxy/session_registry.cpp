#include "proxy/session_registry.hpp"

#include <vector>

#include "proxy/session.hpp"

namespace vhm::proxy {

void SessionRegistry::add(Session& session) {
  if (sessions_.emplace(session.id(), &session).second && !session.handshake_done()) ++handshakes_in_flight_;
}

void SessionRegistry::remove(Session& session) {
  if (sessions_.erase(session.id()) > 0 && !session.handshake_done()) --handshakes_in_flight_;
  if (sessions_.empty() && on_empty_) std::exchange(on_empty_, nullptr)();
}

void SessionRegistry::handshake_finished(Session& session) {
  if (find(session.id()) == &session) --handshakes_in_flight_;
}

void SessionRegistry::for_each(const std::function<void(Session&)>& action) {
  // Copy first: the action may end sessions and so change the map.
  std::vector<Session*> snapshot;
  snapshot.reserve(sessions_.size());
  for (auto& [id, session] : sessions_) snapshot.push_back(session);
  for (Session* session : snapshot) action(*session);
}

Session* SessionRegistry::find(const std::string& session_id) const {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second;
}

}  // namespace vhm::proxy
