// The io loop with and without busy polling: every handler runs, timers fire,
// the loop ends when the work does or when stopped, and the polling setting
// is asked again before each sleep (a reload changes it).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/event_loop.hpp"

using namespace std::chrono_literals;
using vhm::app::run_event_loop;

namespace {

// Posts `count` handlers, each posting the next; a timer fires after them.
struct Chain {
  boost::asio::io_context& io;
  int ran = 0;
  bool timer_fired = false;
  boost::asio::steady_timer timer{io};

  void start(int count) {
    step(count);
    timer.expires_after(5ms);
    timer.async_wait([this](const boost::system::error_code& error) { timer_fired = !error; });
  }
  void step(int left) {
    if (left == 0) return;
    boost::asio::post(io, [this, left] {
      ++ran;
      step(left - 1);
    });
  }
};

}  // namespace

TEST_CASE("event loop: without busy polling it runs everything and ends with the work") {
  boost::asio::io_context io(1);
  Chain chain{io};
  chain.start(100);
  int asked = 0;
  run_event_loop(io, [&] {
    ++asked;
    return 0us;
  });
  CHECK(chain.ran == 100);
  CHECK(chain.timer_fired);
  CHECK(io.stopped());
  CHECK(asked > 0);
}

TEST_CASE("event loop: busy polling runs everything, also work posted from another thread while it polls") {
  boost::asio::io_context io(1);
  Chain chain{io};
  chain.start(100);
  auto guard = boost::asio::make_work_guard(io);
  std::atomic<int> from_outside{0};
  std::thread outsider([&] {
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(i % 2 ? 100us : 3ms);  // within the polling time, and after it
      boost::asio::post(io, [&] { ++from_outside; });
    }
    boost::asio::post(io, [&] { guard.reset(); });
  });
  run_event_loop(io, [] { return 500us; });
  outsider.join();
  CHECK(chain.ran == 100);
  CHECK(chain.timer_fired);
  CHECK(from_outside == 20);
  CHECK(io.stopped());
}

TEST_CASE("event loop: stop() ends it, polling or not") {
  for (const auto spin : {0us, 300us}) {
    boost::asio::io_context io(1);
    auto guard = boost::asio::make_work_guard(io);
    boost::asio::steady_timer timer(io);
    timer.expires_after(2ms);
    timer.async_wait([&](const boost::system::error_code&) { io.stop(); });
    run_event_loop(io, [spin] { return spin; });
    CHECK(io.stopped());
  }
}

TEST_CASE("event loop: the polling setting is asked before each sleep, so a reload can switch it on and off") {
  boost::asio::io_context io(1);
  Chain chain{io};
  chain.start(50);
  int fired = 0;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  for (int i = 1; i <= 4; ++i) {  // four waits apart: four sleeps at least
    timers.push_back(std::make_unique<boost::asio::steady_timer>(io, std::chrono::milliseconds(10 + 3 * i)));
    timers.back()->async_wait([&](const boost::system::error_code& error) { fired += !error; });
  }
  int asked = 0;
  run_event_loop(io, [&] { return ++asked % 2 ? 200us : 0us; });
  CHECK(chain.ran == 50);
  CHECK(chain.timer_fired);
  CHECK(fired == 4);
  CHECK(asked >= 4);
}

TEST_CASE("event loop: handshake polling applies only while a handshake is in flight, and the longer setting wins") {
  using vhm::app::busy_poll_budget;
  CHECK(busy_poll_budget(0, 50, 0) == 0us);     // no handshake: the default loop sleeps at once
  CHECK(busy_poll_budget(0, 50, 1) == 50us);    // one handshake in flight: poll
  CHECK(busy_poll_budget(0, 50, 900) == 50us);
  CHECK(busy_poll_budget(0, 0, 3) == 0us);      // handshake_poll_us: 0 turns it off
  CHECK(busy_poll_budget(200, 50, 0) == 200us);  // busy_poll_us polls always
  CHECK(busy_poll_budget(200, 50, 2) == 200us);  // ... and the longer of the two wins
  CHECK(busy_poll_budget(20, 50, 2) == 50us);
}
