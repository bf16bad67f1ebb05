// Placeholder stub: the webhook feature replaces this with the Beast client.
#include "hooks/async_action.hpp"

namespace vhm::hooks {
namespace {

class UnavailableSender final : public AsyncAction {
 public:
  void start(const conf::HookConfig& hook, const Event&, Done done) override {
    HookResult result;
    result.name = hook.name;
    done(std::move(result));
  }
  void shutdown() override {}
};

}  // namespace

std::unique_ptr<AsyncAction> make_webhook_sender() { return std::make_unique<UnavailableSender>(); }

}  // namespace vhm::hooks
