#include "proxy/gate.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "policy/refusal_text.hpp"
#include "util/printable.hpp"

namespace vhm::proxy {
namespace {

const std::string default_reason(policy::default_gate_text);

std::string describe(const conf::HookConfig& hook, const hooks::HookResult& result) {
  if (!result.ran) return "could not run";
  if (result.timed_out) return "timed out";
  if (hook.action == conf::HookAction::webhook)
    return result.http_status != 0 ? "answered HTTP " + std::to_string(result.http_status) : "got no reply";
  if (result.signal != 0) return "killed by signal " + std::to_string(result.signal);
  return "exited " + std::to_string(result.exit_code);
}

// "view_only" (or "view-only"), surrounding blanks ignored.
bool says_view_only(std::string_view line) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
  return line == "view_only" || line == "view-only";
}

}  // namespace

bool has_gate(const std::vector<conf::HookConfig>& handlers) {
  return std::any_of(handlers.begin(), handlers.end(), [](const conf::HookConfig& h) { return h.gate; });
}

GateDecision decide_gate(const std::vector<conf::HookConfig>& handlers, const hooks::EventOutcome& outcome) {
  if (outcome.dropped) return {false, false, default_reason, "hook queue full: the gate could not run"};
  bool view_only = false;
  for (const auto& handler : handlers) {
    if (!handler.gate) continue;
    const auto it = std::find_if(outcome.results.begin(), outcome.results.end(),
                                 [&](const hooks::HookResult& r) { return r.name == handler.name; });
    if (it == outcome.results.end()) return {false, false, default_reason, "gate " + handler.name + " did not report"};
    if (it->ok()) {
      view_only = view_only || says_view_only(it->first_stdout_line);
      continue;
    }
    const std::string reason = policy::gate_refusal_text(it->first_stdout_line);
    return {false, false, reason, "gate " + handler.name + " " + describe(handler, *it) + ": " + util::printable(reason)};
  }
  return {true, view_only, {}, {}};
}

OutcomeWaiter::OutcomeWaiter(const asio::any_io_executor& executor)
    : channel_(std::make_shared<Channel>(executor, 1)) {}

hooks::EventCompletion OutcomeWaiter::completion() const {
  return [channel = channel_](const hooks::EventOutcome& outcome) { channel->try_send(boost::system::error_code{}, outcome); };
}

awaitable<std::optional<hooks::EventOutcome>> OutcomeWaiter::wait() {
  auto [error, outcome] = co_await channel_->async_receive(use_tuple);
  if (error) co_return std::nullopt;
  co_return outcome;
}

void OutcomeWaiter::cancel() { channel_->cancel(); }

}  // namespace vhm::proxy
