#include "app/websockify_command.hpp"

#include <iostream>
#include <string>
#include <vector>

#include "util/log.hpp"

#include "conf/address.hpp"
#include "conf/load_frontend.hpp"
#include "proxy/server.hpp"

namespace vhm::app {
namespace {

constexpr int websockify_exit_ok = 0;
constexpr int websockify_exit_usage = 2;
constexpr auto tick_period = std::chrono::milliseconds(250);

int websockify_usage_error(const std::string& message) {
  std::cerr << "vnc-hooks-manager websockify: " << message << "\nTry 'vnc-hooks-manager websockify --help'.\n";
  return websockify_exit_usage;
}

}  // namespace

WebsockifyRun parse_websockify_command(int argc, char** argv) {
  WebsockifyRun run;
  const std::vector<std::string> args(argv + 2, argv + argc);
  std::string error;
  auto options = parse_websockify_options(args, error);
  if (!options) {
    run.exit_code = websockify_usage_error(error);
    return run;
  }
  if (options->show_help) {
    std::cout << websockify_help();
    run.exit_code = websockify_exit_ok;
    return run;
  }
  auto plan = plan_websockify(*options, error);
  if (!plan) {
    run.exit_code = websockify_usage_error(error);
    return run;
  }
  run.options = std::move(*options);
  run.plan = std::move(*plan);
  run.cli.config_file = run.options.config_file;
  run.cli.verbose = run.options.verbose;
  return run;
}

conf::LoadResult WebsockifyRun::load() const {
  conf::LoadResult result;
  std::shared_ptr<conf::Config> config;
  if (!options.config_file.empty()) {
    conf::LoadOptions load_options;
    load_options.require_listeners = false;  // the command line gives one
    auto file = conf::load_config_file(options.config_file, load_options);
    if (!file.ok()) return file;
    config = std::make_shared<conf::Config>(*file.config);
  } else {
    config = std::make_shared<conf::Config>();
  }
  // Checked again on every load: on SIGHUP a certificate, token file or web root may have changed.
  std::string error;
  auto again = plan_websockify(options, error);
  if (!again) {
    result.problems.push_back({"command line", 0, "websockify", error});
    return result;
  }
  config->listeners.push_back(again->listener);
  if (!plan.log_file.empty()) config->global.log_file = plan.log_file;
  result.config = std::move(config);
  return result;
}

WebsockifyExitTimer::WebsockifyExitTimer(boost::asio::io_context& io, proxy::Server& server, const WebsockifyRun& run)
    : server_(server),
      timer_(io),
      idle_limit_(run.options.idle_timeout),
      deadline_(run.options.timeout),
      started_(std::chrono::steady_clock::now()),
      last_busy_(started_) {
  const auto& front = run.plan.listener.frontend;
  spdlog::info("websockify drop-in on {}: {}{}{}", conf::format_host_port(run.plan.listener.listen),
               conf::protocol_names(front.protocols), front.web.root.empty() ? "" : ", web " + front.web.root.string(),
               front.web.tokens.empty() ? "" : ", tokens from " + front.web.tokens.string());
  for (const auto& note : run.plan.notes) spdlog::warn("websockify: {}", note);
  if (idle_limit_.count() > 0 || deadline_.count() > 0) arm();
}

void WebsockifyExitTimer::arm() {
  timer_.expires_after(tick_period);
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) tick();
  });
}

void WebsockifyExitTimer::tick() {
  if (server_.stopping()) return;  // a signal came first: nothing left to do
  const auto now = std::chrono::steady_clock::now();
  const bool busy = server_.sessions().size() > 0;
  if (busy) last_busy_ = now;
  if (!busy && deadline_.count() > 0 && now - started_ >= deadline_) {
    server_.stop("--timeout");
    return;
  }
  if (!busy && idle_limit_.count() > 0 && now - last_busy_ >= idle_limit_) {
    server_.stop("--idle-timeout");
    return;
  }
  arm();
}

}  // namespace vhm::app
