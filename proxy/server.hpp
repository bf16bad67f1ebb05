#pragma once
// The proxy as a whole: every listener, the live sessions, reload and shutdown.
//
// SIGHUP: reload() re-reads the config through the loader main provides; a
// bad config is logged and changes nothing; a good one is applied in place
// (reload.cpp) and running sessions are never dropped.
// SIGTERM/SIGINT: stop accepting at once; sessions may run on for
// global.shutdown_grace, then the rest are closed with reason `shutdown`; a
// second signal closes them at once. Every session publishes its
// `disconnect`; when the last one is gone io_context::run() returns and the
// caller drains the hook dispatcher.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/signal_set.hpp>

#include "admin/admin_server.hpp"
#include "conf/config.hpp"
#include "conf/config_loader.hpp"
#include "control/control_server.hpp"
#include "hooks/dispatcher.hpp"
#include "hooks/event_sink.hpp"
#include "metrics/registry.hpp"
#include "proxy/asio.hpp"
#include "proxy/blocking.hpp"
#include "proxy/relay/buffer_pool.hpp"
#include "proxy/server_versions.hpp"
#include "proxy/lifecycle_observer.hpp"
#include "proxy/listener.hpp"
#include "proxy/proxy_control.hpp"
#include "proxy/recording/recorder_service.hpp"
#include "proxy/session_registry.hpp"

namespace vhm::proxy {

class Server {
 public:
  // Re-reads the configuration (main: conf::load_config_file on --config).
  using ConfigLoader = std::function<conf::LoadResult()>;

  Server(asio::io_context& io, std::shared_ptr<const conf::Config> config, hooks::EventSink& events);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens every listener (all or nothing); false with a message on failure.
  // Handles SIGINT, SIGTERM and SIGHUP from then on.
  bool start(std::string& error);

  // Makes SIGHUP reload: `loader` gives the new config, `dispatcher` (may be
  // null) gets it for new events. Without this (quick mode) SIGHUP only logs.
  void enable_reload(ConfigLoader loader, hooks::HookDispatcher* dispatcher);
  // Told about readiness (once io_context::run() runs), reloads, shutdown and
  // the session count. Not owned; must outlive the server. May be null.
  void set_observer(LifecycleObserver* observer) { observer_ = observer; }

  // What SIGHUP does; true when the re-read config is now in force.
  bool reload();
  // What SIGTERM/SIGINT do (see above); `why` names the signal for the log.
  void stop(const char* why);

  SessionRegistry& sessions() { return sessions_; }
  bool stopping() const { return stopping_; }
  const std::shared_ptr<const conf::Config>& config() const { return config_; }
  // Bound addresses of the listeners accepting now, in config order.
  std::vector<std::string> listening() const;

 private:
  SessionServices services();
  void spawn_accept_loop(Listener& listener);
  void wait_for_signals();
  void on_signal(int signal_number);
  void watch_session_count();
  void close_all_sessions();
  void finish_shutdown();
  // server_metrics.cpp: sessions, bytes, listeners and bans for GET /metrics.
  void collect_metrics(metrics::SampleWriter& out);
  // reload.cpp
  bool apply_config(std::shared_ptr<const conf::Config> next, std::string& error);
  void apply_blocking(const conf::Config& next);
  void apply_recording(const conf::Config& next);  // retention of each listener's recording dir
  // server_admin.cpp: the admin HTTP listener.
  bool start_admin(std::string& error);
  void apply_admin(const conf::Config& next);
  admin::Readiness readiness() const;

  asio::io_context& io_;
  std::shared_ptr<const conf::Config> config_;  // in force; sessions read hooks from it (live_config)
  hooks::EventSink& events_;
  ConfigLoader loader_;
  hooks::HookDispatcher* dispatcher_ = nullptr;
  LifecycleObserver* observer_ = nullptr;
  BufferPool buffers_;
  ServerVersions server_versions_;  // the scanner shield's greetings, kept across reloads
  SessionRegistry sessions_;
  RecorderService recorder_;  // every session's recording; its thread ends with the server
  std::unique_ptr<Blocking> blocking_;  // kept once made: sessions may hold it after a reload disables it
  bool blocking_enabled_ = false;
  std::filesystem::path blocking_state_file_;  // the one blocking_ was opened with
  std::vector<std::unique_ptr<Listener>> listeners_;  // accepting, in config order
  std::vector<std::unique_ptr<Listener>> retired_;    // closed by a reload; freed once their loop ended
  std::unique_ptr<ProxyControl> control_handler_;
  std::unique_ptr<control::ControlServer> control_server_;
  std::unique_ptr<admin::AdminServer> admin_server_;
  bool accepting_ = false;  // the listeners accept (GET /readyz); false until the io thread runs
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  asio::steady_timer status_timer_;
  std::size_t reported_sessions_ = 0;
  bool stopping_ = false;        // no longer accepting
  bool closing_sessions_ = false;  // the grace is over (or cut short)
  bool finished_ = false;
  metrics::ScopedCollector metrics_collector_;  // last: removed before what it reads
};

}  // namespace vhm::proxy
