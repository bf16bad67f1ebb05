#include "proxy/frontend/htpasswd.hpp"

namespace vhm::proxy::frontend {

struct Htpasswd::Cache {};

HtpasswdParse parse_htpasswd(std::string_view, std::string_view) { return {}; }

std::optional<std::pair<std::string, std::string>> parse_basic_authorization(std::string_view) {
  return std::nullopt;
}

std::optional<Htpasswd> Htpasswd::load(const std::filesystem::path&, std::string& error) {
  error = "not implemented yet";
  return std::nullopt;
}

bool Htpasswd::verify(std::string_view, std::string_view) const { return false; }

}  // namespace vhm::proxy::frontend
