#include "app/worker_command.hpp"
#include "app/subcommand_line.hpp"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/program_options.hpp>
#include "util/log.hpp"

#include "admin/admin_server.hpp"
#include "app/logging.hpp"
#include "app/version.hpp"
#include "broker/stream_worker.hpp"
#include "conf/config_loader.hpp"
#include "hooks/dispatcher.hpp"
#include "hooks/metrics/hook_metrics.hpp"
#include "metrics/process_metrics.hpp"
#include "service/privileges.hpp"

namespace vhm::app {
namespace po = boost::program_options;
namespace asio = boost::asio;
namespace {

constexpr int worker_exit_ok = 0;
constexpr int worker_exit_config = 1;
constexpr int worker_exit_usage = 2;

constexpr const char* worker_usage =
    "Usage:\n"
    "  vnc-hooks-manager worker --config FILE [--log-level LEVEL] [--stats-interval SECONDS]\n"
    "  vnc-hooks-manager worker --config FILE --check-config\n"
    "\n"
    "Runs hooks for the events every proxy publishes to Redis (docs/workers.md).\n"
    "FILE is a normal configuration file: `broker:` (required) names the Redis\n"
    "server, the stream and the consumer group; `events:` and `global:` are the\n"
    "hooks and their limits, with the same rules as on the proxy (argv without a\n"
    "shell, {placeholders}, timeouts, run_as, per-session order, concurrency cap);\n"
    "`admin:` (optional) serves /metrics, /healthz and /readyz. `listeners:` are\n"
    "not needed. Gates (`gate: true`) are refused: they run inline on the proxy.\n"
    "\n"
    "Every entry is acknowledged after all its hooks finished; entries another\n"
    "worker left pending longer than `broker: claim_idle` are claimed and run\n"
    "here (at-least-once: make hooks idempotent with {session_id} and {event}).\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop reading and let running hooks finish (up to\n"
    "global.shutdown_grace), then exit 0; a second one exits at once (status 1).\n"
    "SIGHUP reads FILE again and applies its hooks to new events.\n"
    "\nOptions";

int worker_usage_error(const std::string& message) {
  std::cerr << "vnc-hooks-manager worker: " << message << "\nTry 'vnc-hooks-manager worker --help'.\n";
  return worker_exit_usage;
}

// The file as a worker's configuration: what load_config_file checks, plus
// a `broker:` section and no gates. Problems are printed; nullptr then.
std::shared_ptr<const conf::Config> load_worker_config(const std::string& file, std::vector<std::string>& problems) {
  conf::LoadOptions options;
  options.require_listeners = false;
  const auto loaded = conf::load_config_file(file, options);
  for (const auto& problem : loaded.problems) problems.push_back(problem.to_string());
  if (!loaded.ok()) return nullptr;
  const auto& config = *loaded.config;
  const std::string source = config.source.empty() ? file : config.source.string();
  if (!config.broker)
    problems.push_back(source + ": broker: a worker needs a `broker:` section (enabled) naming the Redis server and stream");
  for (const auto& [kind, hooks] : config.events)
    for (std::size_t i = 0; i < hooks.size(); ++i)
      if (hooks[i].gate)
        problems.push_back(source + ":" + std::to_string(hooks[i].line) + ": events." +
                           std::string(conf::to_string(kind)) + "[" + std::to_string(i) + "].gate: hook " +
                           hooks[i].name +
                           ": gates run inline on the proxy (a refused viewer must be refused at once); "
                           "a worker cannot run them");
  if (!problems.empty()) return nullptr;
  return loaded.config;
}

std::size_t worker_hook_count(const conf::Config& config) {
  std::size_t count = 0;
  for (const auto& [kind, hooks] : config.events) count += hooks.size();
  return count;
}

std::string format_delay(const std::optional<double>& ms) {
  return ms ? std::to_string(static_cast<long long>(*ms)) + " ms" : std::string("-");
}

void log_worker_stats(const broker::StreamWorker& worker, const char* prefix) {
  const auto stats = worker.stats();
  spdlog::info("{}read {}, claimed {}, hooks finished {}, acknowledged {}, malformed {}, requeued {}, in flight {}; "
               "event to hooks done p50 {} p99 {} ({} events)",
               prefix, stats.read, stats.claimed, stats.finished, stats.acked, stats.malformed, stats.requeued,
               stats.in_flight, format_delay(stats.delay_p50_ms), format_delay(stats.delay_p99_ms),
               stats.delay_samples);
}

// The admin API's sessions and bans belong to proxies: a worker has none.
class WorkerControl final : public control::ControlHandler {
 public:
  std::vector<control::SessionRow> sessions() override { return {}; }
  std::vector<control::BanRow> bans() override { return {}; }
  control::CommandResult unban(const std::string&) override { return {false, "a worker has no ban table"}; }
  control::CommandResult kill(const std::string&) override { return {false, "a worker has no sessions"}; }
};

}  // namespace

int run_worker_command(int argc, char** argv) {
  std::string config_file;
  std::string log_level;
  long long stats_interval = 60;
  bool check_config = false;
  bool show_help = false;
  bool show_version = false;
  po::options_description description(worker_usage);
  description.add_options()
      ("config,c", po::value(&config_file)->value_name("FILE"), "the configuration file (required)")
      ("check-config", po::bool_switch(&check_config), "validate FILE as a worker's configuration and exit")
      ("log-level", po::value(&log_level)->value_name("LEVEL"),
       "trace, debug, info, warn, error, critical or off (default: global.log_level)")
      ("stats-interval", po::value(&stats_interval)->value_name("SECONDS")->default_value(60),
       "log the worker's counts this often when they changed; 0: only at exit")
      ("version", po::bool_switch(&show_version), "print the version and exit")
      ("help,h", po::bool_switch(&show_help), "print this help and exit");
  const auto line = parse_subcommand_line(argc, argv, description, 0);
  if (!line.error.empty()) return worker_usage_error(line.error);
  if (show_help) {
    std::cout << description
              << "\nExit status: 0 stopped by a signal (or --check-config passed); 1 invalid configuration\n"
                 "or a second signal during shutdown; 2 usage.\n";
    return worker_exit_ok;
  }
  if (show_version) {
    std::cout << "vnc-hooks-manager " << version << '\n';
    return worker_exit_ok;
  }
  if (config_file.empty()) return worker_usage_error("--config FILE is required");
  if (stats_interval < 0) return worker_usage_error("--stats-interval must be 0 or more seconds");

  std::vector<std::string> problems;
  auto config = load_worker_config(config_file, problems);
  if (!config) {
    std::cerr << "vnc-hooks-manager worker: invalid configuration (" << problems.size() << " problem"
              << (problems.size() == 1 ? "" : "s") << "):\n";
    for (const auto& problem : problems) std::cerr << problem << '\n';
    return worker_exit_config;
  }
  const conf::BrokerConfig broker_config = *config->broker;
  if (check_config) {
    std::cout << "config OK: worker of stream " << broker_config.stream << " in group " << broker_config.group << ", "
              << worker_hook_count(*config) << " hook(s)" << (config->admin.enabled ? ", admin listener" : "") << '\n';
    return worker_exit_ok;
  }
  if (auto error = setup_logging(config->global.log_file, log_level.empty() ? config->global.log_level : log_level)) {
    std::cerr << "vnc-hooks-manager worker: " << *error << '\n';
    return worker_exit_config;
  }
  std::signal(SIGPIPE, SIG_IGN);

  asio::io_context io(1);
  auto& registry = metrics::global_registry();
  metrics::add_process_collector(registry);
  metrics::set_build_info(registry, version);

  std::optional<broker::StreamWorker> worker;
  WorkerControl control;
  std::optional<admin::AdminServer> admin_server;
  if (config->admin.enabled) {
    admin_server.emplace(io, config->admin, control, [&worker] {
      if (!worker) return admin::Readiness::starting;
      return worker->stats().redis_up ? admin::Readiness::ready : admin::Readiness::starting;
    });
    std::string error;
    if (!admin_server->start(error)) {
      spdlog::critical("{}", error);
      return worker_exit_config;
    }
  }
  // Before the dispatcher's threads exist (service/privileges.hpp).
  const auto dropped = service::drop_privileges(*config);
  if (!dropped.ok) {
    spdlog::critical("{}", dropped.message);
    return worker_exit_config;
  }

  hooks::HookDispatcher dispatcher(config);
  dispatcher.set_attempt_observer(hooks::hook_attempt_metrics(registry));
  metrics::ScopedCollector dispatcher_metrics(
      registry, hooks::dispatcher_stats_collector([&dispatcher] { return dispatcher.stats(); }));
  broker::StreamWorkerOptions worker_options;
  worker_options.in_flight_limit = broker::in_flight_limit_for(*config);
  worker_options.registry = &registry;
  worker.emplace(io.get_executor(), broker_config, dispatcher, worker_options);
  metrics::ScopedCollector worker_metrics(registry, [&worker](metrics::SampleWriter& out) {
    const auto stats = worker->stats();
    out.gauge("vnc_hooks_manager_worker_entries_in_flight", "Stream entries read and not finished yet", {},
              static_cast<double>(stats.in_flight));
    out.gauge("vnc_hooks_manager_worker_redis_up", "1 while the worker's last exchange with Redis worked", {},
              stats.redis_up ? 1 : 0);
  });

  // SIGTERM/SIGINT: stop, then a second one exits at once. SIGHUP: reload hooks.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  bool stopping = false;
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      std::vector<std::string> reload_problems;
      auto fresh = load_worker_config(config_file, reload_problems);
      if (!fresh) {
        spdlog::error("reload: {} problem(s), keeping the running hooks:", reload_problems.size());
        for (const auto& problem : reload_problems) spdlog::error("  {}", problem);
      } else {
        if (fresh->broker->stream != broker_config.stream || fresh->broker->group != broker_config.group ||
            fresh->broker->batch != broker_config.batch || fresh->broker->claim_idle != broker_config.claim_idle)
          spdlog::warn("reload: broker: changes take effect at the next start; hooks and limits change now");
        dispatcher.set_config(fresh);
        config = fresh;
        worker->set_in_flight_limit(broker::in_flight_limit_for(*fresh));
        spdlog::info("reload: {} hook(s) for new events", worker_hook_count(*fresh));
      }
    } else if (!stopping) {
      stopping = true;
      const auto grace = config->global.shutdown_grace;  // of the file as last (re)loaded
      spdlog::info("stopping (signal {}): no new entries; running hooks get up to {} ms", signal, grace.count());
      worker->stop(grace);
    } else {
      spdlog::warn("second signal: exiting now; unfinished entries stay pending for other workers");
      spdlog::default_logger()->flush();
      std::_Exit(worker_exit_config);
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  asio::steady_timer stats_timer(io);
  std::function<void()> schedule_stats = [&] {
    if (stats_interval == 0) return;
    stats_timer.expires_after(std::chrono::seconds(stats_interval));
    stats_timer.async_wait([&, last = worker->stats().acked + worker->stats().requeued](boost::system::error_code ec) {
      if (ec) return;
      const auto stats = worker->stats();
      if (stats.acked + stats.requeued != last || stats.in_flight > 0) log_worker_stats(*worker, "worker: ");
      schedule_stats();
    });
  };
  schedule_stats();

  bool drained = false;
  bool failed = false;
  asio::co_spawn(io, worker->run(), [&](std::exception_ptr failure, bool all_done) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        spdlog::critical("worker failed: {}", e.what());
      }
    }
    failed = failure != nullptr;
    drained = all_done && !failure;
    signals.cancel();
    stats_timer.cancel();
    if (admin_server) admin_server->close();
  });
  spdlog::info("vnc-hooks-manager {} worker running ({}; {} hook(s))", version, config->source.string(),
               worker_hook_count(*config));
  io.run();
  log_worker_stats(*worker, "worker stopped: ");
  if (!drained) {
    // Hooks still running: leave them (their entries stay pending and are
    // claimed by another worker) rather than outwait shutdown_grace.
    spdlog::default_logger()->flush();
    std::_Exit(failed ? worker_exit_config : worker_exit_ok);
  }
  dispatcher.shutdown();
  spdlog::info("stopped");
  spdlog::default_logger()->flush();
  return worker_exit_ok;
}

}  // namespace vhm::app
