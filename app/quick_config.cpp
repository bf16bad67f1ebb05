#include "app/quick_config.hpp"

namespace vhm::app {

conf::LoadResult quick_config(const std::vector<std::string>& listen, const std::vector<std::string>& target) {
  conf::LoadResult result;
  auto config = std::make_shared<conf::Config>();
  for (std::size_t i = 0; i < listen.size() && i < target.size(); ++i)
    if (auto listener = conf::listener_from_argument({listen[i], target[i]}, result.problems))
      config->listeners.push_back(std::move(*listener));
  if (result.problems.empty()) result.config = std::move(config);
  return result;
}

std::vector<conf::ListenerArgument> listener_arguments(const std::vector<std::string>& listen,
                                                       const std::vector<std::string>& target) {
  std::vector<conf::ListenerArgument> arguments;
  for (std::size_t i = 0; i < listen.size() && i < target.size(); ++i) arguments.push_back({listen[i], target[i]});
  return arguments;
}

}  // namespace vhm::app
