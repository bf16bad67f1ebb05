#include "app/quick_config.hpp"

#include "conf/address.hpp"

namespace vhm::app {

conf::LoadResult quick_config(const std::vector<std::string>& listen, const std::vector<std::string>& target) {
  conf::LoadResult result;
  auto config = std::make_shared<conf::Config>();
  for (std::size_t i = 0; i < listen.size() && i < target.size(); ++i) {
    conf::ListenerConfig listener;
    std::string error;
    if (auto address = conf::parse_listen_address(listen[i], error))
      listener.listen = *address;
    else
      result.problems.push_back({"command line", 0, "--listen " + listen[i], error});
    if (auto address = conf::parse_target_address(target[i], error))
      listener.target = *address;
    else
      result.problems.push_back({"command line", 0, "--target " + target[i], error});
    config->listeners.push_back(listener);
  }
  if (result.problems.empty()) result.config = std::move(config);
  return result;
}

}  // namespace vhm::app
