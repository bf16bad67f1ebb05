#include "proxy/frontend/token_table.hpp"

namespace vhm::proxy::frontend {

TokenFileParse parse_token_file(std::string_view, std::string_view) { return {}; }

std::string redact_token(std::string_view) { return "sha256:00000000"; }

TokenTable::TokenTable(std::filesystem::path file_or_directory) : path_(std::move(file_or_directory)) {}

bool TokenTable::load(std::string&) { return true; }

std::optional<conf::HostPort> TokenTable::lookup(std::string_view token) {
  refresh_if_changed();
  auto found = tokens_.find(token);
  if (found == tokens_.end()) return std::nullopt;
  return found->second;
}

void TokenTable::refresh_if_changed() {}

std::optional<std::string> requested_token(std::string_view, std::string_view, bool) { return std::nullopt; }

}  // namespace vhm::proxy::frontend
