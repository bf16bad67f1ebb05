#pragma once
// A time limit on whatever a coroutine does with one socket: when it expires
// the socket's pending operations are cancelled (or the socket is closed, so
// later ones fail too) and expired() says why they failed. Works under any
// stream (TLS, HTTP parser) without those layers knowing about timers.
#include <chrono>
#include <memory>

#include "proxy/asio.hpp"

namespace vhm::proxy::frontend {

class Deadline {
 public:
  enum class Action : std::uint8_t { cancel, close };

  explicit Deadline(const asio::any_io_executor& executor) : timer_(executor) {}
  ~Deadline() { disarm(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(tcp::socket& socket, std::chrono::steady_clock::duration after, Action action = Action::close) {
    disarm();
    state_ = std::make_shared<State>(State{&socket, action, false});
    timer_.expires_after(after);
    timer_.async_wait([state = state_](boost::system::error_code error) {
      if (error || state->socket == nullptr) return;  // disarmed or re-armed meanwhile
      state->expired = true;
      boost::system::error_code ignored;
      if (state->action == Action::close) {
        state->socket->shutdown(tcp::socket::shutdown_both, ignored);
        state->socket->close(ignored);
      } else {
        state->socket->cancel(ignored);
      }
    });
  }

  void disarm() {
    if (state_) state_->socket = nullptr;
    timer_.cancel();
  }

  bool expired() const { return state_ && state_->expired; }

 private:
  struct State {
    tcp::socket* socket;
    Action action;
    bool expired;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace vhm::proxy::frontend
