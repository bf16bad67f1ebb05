#pragma once
// co_spawn with a completion handler that logs what escaped the coroutine:
// `detached` would hide bugs (STYLE.md, Errors). Shared by proxy/ and control/.
#include "util/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <string>

namespace vhm::util {

template <typename Executor, typename Awaitable>
void spawn_logged(const Executor& executor, Awaitable&& task, std::string what) {
  boost::asio::co_spawn(executor, std::forward<Awaitable>(task), [what = std::move(what)](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("{} ended with an unexpected error: {}", what, e.what());
    } catch (...) {
      spdlog::error("{} ended with an unexpected error", what);
    }
  });
}

}  // namespace vhm::util
