#pragma once
// What the service manager wants to hear about the proxy's life (systemd's
// READY/RELOADING/STOPPING/STATUS). The Server calls these from its io thread;
// app/ plugs in the systemd notifier, tests and quick mode plug in nothing.
#include <cstddef>
#include <string>

namespace vhm::proxy {

class LifecycleObserver {
 public:
  virtual ~LifecycleObserver() = default;
  virtual void ready(std::size_t listeners) { (void)listeners; }
  virtual void reloading() {}
  // ok: the new config is in force; otherwise `error` says why the old one stays.
  virtual void reloaded(bool ok, const std::string& error) { (void)ok, (void)error; }
  virtual void stopping() {}
  // The number of live sessions changed (for STATUS=); called at most a few times a second.
  virtual void sessions_changed(std::size_t sessions) { (void)sessions; }
};

}  // namespace vhm::proxy
