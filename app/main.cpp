// vnc-hooks-manager: entry point. Parses the command line, loads and validates
// the configuration, sets up logging, binds, drops to global user: (docs/service.md),
// runs the proxy until SIGTERM/SIGINT, then waits for the hooks of the last
// events before exiting.
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <optional>
#include <string_view>

#include "util/log.hpp"

#include "app/cli.hpp"
#include "app/ctl_command.hpp"
#include "app/event_loop.hpp"
#include "app/logging.hpp"
#include "app/play_command.hpp"
#include "app/quick_config.hpp"
#include "app/recording_command.hpp"
#include "app/stdout_event_sink.hpp"
#include "app/websockify_command.hpp"
#include "app/worker_command.hpp"
#include "broker/stream_publisher.hpp"
#include "broker/tee_event_sink.hpp"
#include "app/version.hpp"
#include "conf/config_loader.hpp"
#include "conf/load_frontend.hpp"
#include "conf/load_session_policy.hpp"
#include "hooks/dispatcher.hpp"
#include "hooks/metrics/event_metrics.hpp"
#include "hooks/metrics/hook_metrics.hpp"
#include "metrics/process_metrics.hpp"
#include "proxy/connection_fields.hpp"
#include "proxy/server.hpp"
#include "service/held_event_sink.hpp"
#include "service/privileges.hpp"
#include "service/startup_checks.hpp"
#include "service/systemd_notifier.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_config = 1;
constexpr int exit_usage = 2;

// Two descriptors per session: take the whole hard limit up front.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void print_problems(const vhm::conf::LoadResult& result) {
  for (const auto& problem : result.problems) std::cerr << problem.to_string() << '\n';
}

std::size_t hook_count(const vhm::conf::Config& config) {
  std::size_t count = 0;
  for (const auto& [kind, hooks] : config.events) count += hooks.size();
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  // `ctl` is a client of a running proxy, with its own options.
  if (argc > 1 && std::string_view(argv[1]) == "ctl") return vhm::app::run_ctl_command(argc, argv);
  // `worker` consumes the proxies' event stream in Redis and runs hooks (docs/workers.md).
  if (argc > 1 && std::string_view(argv[1]) == "worker") return vhm::app::run_worker_command(argc, argv);
  // `play` and `recording` work on recording files, without a configuration.
  if (argc > 1 && std::string_view(argv[1]) == "play") return vhm::app::run_play_command(argc, argv);
  if (argc > 1 && std::string_view(argv[1]) == "recording") return vhm::app::run_recording_command(argc, argv);

  // `websockify`: websockify's command line as one listener (docs/browser-access.md).
  std::optional<vhm::app::WebsockifyRun> websockify;
  if (argc > 1 && std::string_view(argv[1]) == "websockify") {
    websockify = vhm::app::parse_websockify_command(argc, argv);
    if (websockify->exit_code) return *websockify->exit_code;
  }
  const auto options = websockify ? std::optional(websockify->cli) : vhm::app::parse_cli(argc, argv);
  if (!options) return exit_usage;
  if (options->show_help) {
    std::cout << options->help_text;
    return exit_ok;
  }
  if (options->show_version) {
    std::cout << "vnc-hooks-manager " << vhm::version << '\n';
    return exit_ok;
  }

  const bool quick_mode = options->config_file.empty() && !websockify;
  // With --config, --listen/--target pairs add listeners to the file's, on
  // every reload too.
  vhm::conf::LoadOptions load_options;
  load_options.extra_listeners = vhm::app::listener_arguments(options->listen, options->target);
  const auto loaded = websockify ? websockify->load()
                     : quick_mode ? vhm::app::quick_config(options->listen, options->target)
                                 : vhm::conf::load_config_file(options->config_file, load_options);
  if (!loaded.ok()) {
    std::cerr << "vnc-hooks-manager: invalid configuration (" << loaded.problems.size() << " problem"
              << (loaded.problems.size() == 1 ? "" : "s") << "):\n";
    print_problems(loaded);
    return exit_config;
  }
  const auto& config = loaded.config;
  if (options->check_config) {
    const auto recorded = std::count_if(config->listeners.begin(), config->listeners.end(),
                                        [](const auto& listener) { return listener.recording.enabled; });
    // Hooks on resize/screen_change/desktop_name turn tracking on for every listener.
    const auto tracked = std::count_if(config->listeners.begin(), config->listeners.end(), [&](const auto& listener) {
      return vhm::conf::needs_message_tracking(*config, listener);
    });
    std::cout << "config OK: " << config->listeners.size() << " listener(s), " << hook_count(*config) << " hook(s)";
    if (recorded > 0) std::cout << ", recording on " << recorded << " listener(s)";
    if (tracked > 0) std::cout << ", message tracking on " << tracked << " listener(s)";
    if (auto browsers = vhm::conf::browser_access_summary(*config)) std::cout << ", " << *browsers;
    std::cout << '\n';
    return exit_ok;
  }

  const std::string level =
      !options->log_level.empty() ? options->log_level : options->verbose ? "debug" : config->global.log_level;
  if (auto error = vhm::app::setup_logging(config->global.log_file, level)) {
    std::cerr << "vnc-hooks-manager: " << *error << '\n';
    return exit_config;
  }

  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanishes is an error code, not a signal
  raise_file_limit();

  boost::asio::io_context io(1);
  // Before any thread exists: it takes the watchdog variables out of the environment.
  vhm::service::SystemdNotifier notifier(io);

  // Declared before the server (it outlives it) but started only after the
  // privilege drop: its worker threads keep the capabilities they are created
  // with. Until then the server publishes into `held`.
  std::optional<vhm::hooks::HookDispatcher> dispatcher;
  vhm::metrics::ScopedCollector dispatcher_metrics;  // after the dispatcher: removed first
  vhm::service::HeldEventSink held;
  vhm::app::StdoutEventSink stdout_sink;
  vhm::hooks::EventSink& local_events = quick_mode ? static_cast<vhm::hooks::EventSink&>(stdout_sink) : held;
  // broker: (docs/fleet.md): every event also goes to the Redis stream; the
  // publisher's threads start after the privilege drop, like the dispatcher's.
  std::optional<vhm::broker::StreamPublisher> publisher;
  if (config->broker) {
    publisher.emplace(*config->broker);
    vhm::proxy::set_proxy_host(config->broker->host_name);
  }
  vhm::metrics::ScopedCollector publisher_metrics;  // after the publisher: removed first
  vhm::broker::TeeEventSink events(local_events, publisher ? &*publisher : nullptr);
  // GET /metrics (docs/metrics.md): every event is counted on its way to the sink.
  auto& metrics = vhm::metrics::global_registry();
  vhm::metrics::add_process_collector(metrics);
  vhm::metrics::set_build_info(metrics, vhm::version);
  vhm::hooks::MetricsEventSink counted_events(events, metrics);

  vhm::proxy::Server server(io, config, counted_events);
  server.set_observer(&notifier);
  notifier.set_listener_count([&server] { return server.listening().size(); });
  std::string error;
  if (!server.start(error)) {
    spdlog::critical("{}", error);
    return exit_config;
  }
  // Listeners, control socket, log file and ban state are open: become global.user.
  const auto dropped = vhm::service::drop_privileges(*config);
  if (!dropped.ok) {
    spdlog::critical("{}", dropped.message);
    return exit_config;
  }
  spdlog::info("{}", dropped.message);
  for (const auto& warning : vhm::service::startup_warnings(*config)) spdlog::warn("{}", warning);

  for (const auto& address : server.listening()) counted_events.add_listener(address);
  dispatcher.emplace(config);
  dispatcher->set_attempt_observer(vhm::hooks::hook_attempt_metrics(metrics));
  dispatcher_metrics = vhm::metrics::ScopedCollector(
      metrics, vhm::hooks::dispatcher_stats_collector([&dispatcher] { return dispatcher->stats(); }));
  held.attach(*dispatcher);
  if (publisher) {
    if (!publisher->start(error)) {
      spdlog::critical("{}", error);
      return exit_config;
    }
    publisher_metrics = vhm::metrics::ScopedCollector(metrics, vhm::broker::stream_publisher_collector(*publisher));
  }
  std::optional<vhm::app::WebsockifyExitTimer> websockify_exit;  // --idle-timeout, --timeout
  if (websockify) {
    websockify_exit.emplace(io, server, *websockify);
    server.enable_reload([&run = *websockify] { return run.load(); }, &*dispatcher);
  } else if (!quick_mode) {
    // SIGHUP: the same file again; the server keeps the old config if this fails.
    server.enable_reload(
        [path = options->config_file, load_options, broker = config->broker] {
          auto loaded = vhm::conf::load_config_file(path, load_options);
          if (loaded.ok())
            if (auto note = vhm::broker::broker_reload_note(broker, loaded.config->broker); !note.empty())
              spdlog::warn("{}", note);
          return loaded;
        },
        &*dispatcher);
  }
  spdlog::info("vnc-hooks-manager {} running ({}; {} hook(s))", vhm::version,
               quick_mode ? "quick mode" : websockify ? "websockify drop-in" : config->source.string(), hook_count(*config));
  vhm::app::write_log_per_loop_turn(io.get_executor());
  vhm::app::run_event_loop(io, [&server] {
    const auto& global = server.config()->global;
    return vhm::app::busy_poll_budget(global.busy_poll_us, global.handshake_poll_us,
                                      server.sessions().handshakes_in_flight());
  });
  vhm::app::write_log_per_loop_turn(std::nullopt);
  spdlog::info("all sessions closed; waiting for running hooks");
  dispatcher->shutdown();
  // Redis gets a few seconds for what is spooled; the rest waits for the next start.
  if (publisher) publisher->shutdown(std::chrono::seconds(5));
  spdlog::info("stopped");
  spdlog::default_logger()->flush();
  return exit_ok;
}
