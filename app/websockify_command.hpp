#pragma once
// `vnc-hooks-manager websockify ...` (app/websockify_options.hpp): the
// command line becomes one listener, optionally beside a --config file's
// sections, and main runs the proxy with it as with any configuration. What
// websockify did besides serving (exit after --idle-timeout / --timeout) is
// WebsockifyExitTimer, which watches the server's session count.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <optional>

#include "app/cli.hpp"
#include "app/websockify_options.hpp"
#include "conf/config_loader.hpp"

namespace vhm::proxy {
class Server;
}

namespace vhm::app {

struct WebsockifyRun {
  std::optional<int> exit_code;  // set: exit now (help printed, or a usage error printed)
  CliOptions cli;                // what main reads: config_file (--config), verbose
  WebsockifyOptions options;
  WebsockifyPlan plan;
  // The --config file's sections (if any) with the websockify listener after
  // its listeners; called at start and on every SIGHUP (files checked again).
  conf::LoadResult load() const;
};

// argv[1] is "websockify".
WebsockifyRun parse_websockify_command(int argc, char** argv);

// --idle-timeout N: stop once no session has run for N seconds.
// --timeout N: from N seconds after start, stop as soon as no session runs.
// Checks four times a second and ends when the server stops, so it never
// keeps io_context::run() alive. Also logs the plan's notes at start.
class WebsockifyExitTimer {
 public:
  WebsockifyExitTimer(boost::asio::io_context& io, proxy::Server& server, const WebsockifyRun& run);

 private:
  void arm();
  void tick();

  proxy::Server& server_;
  boost::asio::steady_timer timer_;
  std::chrono::seconds idle_limit_;
  std::chrono::seconds deadline_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_busy_;
};

}  // namespace vhm::app
