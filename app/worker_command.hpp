#pragma once
// `vnc-hooks-manager worker --config FILE` (docs/workers.md): consumes the
// proxies' event stream in Redis and runs the file's `events:` hooks for each
// event, under the inline hooks' rules, acknowledging each entry after its
// hooks finished (at-least-once).
namespace vhm::app {

int run_worker_command(int argc, char** argv);

}  // namespace vhm::app
