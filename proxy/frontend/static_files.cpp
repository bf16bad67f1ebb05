#include "proxy/frontend/static_files.hpp"

#include <unistd.h>

namespace vhm::proxy::frontend {

std::string_view mime_type(std::string_view) { return "application/octet-stream"; }

std::optional<StaticRoot> StaticRoot::open(const std::filesystem::path&, std::string& error) {
  error = "not implemented yet";
  return std::nullopt;
}

StaticRoot::StaticRoot(StaticRoot&& other) noexcept : dir_fd_(other.dir_fd_) { other.dir_fd_ = -1; }

StaticRoot& StaticRoot::operator=(StaticRoot&& other) noexcept {
  if (this != &other) {
    if (dir_fd_ >= 0) ::close(dir_fd_);
    dir_fd_ = other.dir_fd_;
    other.dir_fd_ = -1;
  }
  return *this;
}

StaticRoot::~StaticRoot() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

StaticResult StaticRoot::lookup(std::string_view, std::string_view, std::string_view) const { return {}; }

}  // namespace vhm::proxy::frontend
