#pragma once
// Test helper shared by the proxy tests: drive an io_context until a condition holds.
#include <chrono>

#include "proxy/asio.hpp"

namespace vhm::proxy::test {

// Runs the io_context until `done` or the time limit; true if `done`.
template <typename Predicate>
bool run_until(asio::io_context& io, Predicate done,
               std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace vhm::proxy::test
