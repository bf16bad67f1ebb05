#pragma once
// The set of live sessions: enforces max_sessions, lets shutdown close them
// all, and (later) lets the control socket list and kill them. io thread only.
#include <cstddef>
#include <functional>
#include <unordered_map>
#include <string>

namespace vhm::proxy {

class Session;

class SessionRegistry {
 public:
  void add(Session& session);
  void remove(Session& session);
  std::size_t size() const { return sessions_.size(); }
  // Sessions added and not yet past ServerInit (nor removed): the io loop
  // busy-polls while there are any (global.handshake_poll_us).
  std::size_t handshakes_in_flight() const { return handshakes_in_flight_; }
  // The session's RFB handshake ended (Session::handshake_finished, once).
  void handshake_finished(Session& session);
  void for_each(const std::function<void(Session&)>& action);
  Session* find(const std::string& session_id) const;
  // Called once when the registry becomes empty after close_all() was requested.
  void on_empty(std::function<void()> callback) { on_empty_ = std::move(callback); }

 private:
  std::unordered_map<std::string, Session*> sessions_;
  std::function<void()> on_empty_;
  std::size_t handshakes_in_flight_ = 0;
};

}  // namespace vhm::proxy
