#include "control/socket_file.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include "util/log.hpp"
#include <system_error>

namespace vhm::control {
namespace {

enum class Probe { live, stale, unknown };

// Tries a non-blocking connect: accepted (or a full backlog) means a live
// server; ECONNREFUSED means nobody listens on that file any more.
Probe probe_socket(const std::filesystem::path& path, std::string& detail) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    detail = std::strerror(errno);
    return Probe::unknown;
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& text = path.native();
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  const int result = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int error = result == 0 ? 0 : errno;
  ::close(fd);
  if (result == 0 || error == EAGAIN || error == EINPROGRESS) return Probe::live;
  if (error == ECONNREFUSED) return Probe::stale;
  detail = std::strerror(error);
  return Probe::unknown;
}

}  // namespace

std::optional<FileIdentity> identity_of(const std::filesystem::path& path) {
  struct stat info{};
  if (::lstat(path.c_str(), &info) != 0) return std::nullopt;
  return FileIdentity{info.st_dev, info.st_ino};
}

bool prepare_socket_path(const std::filesystem::path& path, std::string& error) {
  const std::string& text = path.native();
  if (text.empty()) {
    error = "no control socket path given";
    return false;
  }
  if (text.size() >= sizeof(sockaddr_un::sun_path)) {
    error = "control socket path " + text + " is too long (" + std::to_string(text.size()) +
            " bytes; a unix socket path may have at most " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ")";
    return false;
  }

  if (path.has_parent_path()) {
    std::error_code fs_error;
    std::filesystem::create_directories(path.parent_path(), fs_error);
    if (fs_error) {
      error = "cannot create the directory of control socket " + text + ": " + fs_error.message();
      return false;
    }
  }

  struct stat info{};
  if (::lstat(text.c_str(), &info) != 0) {
    if (errno == ENOENT) return true;
    error = "cannot inspect control socket path " + text + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISSOCK(info.st_mode)) {
    error = "control socket path " + text + " exists and is not a socket; not replacing it";
    return false;
  }
  std::string detail;
  switch (probe_socket(path, detail)) {
    case Probe::live:
      error = "another process is already serving control socket " + text +
              " (is another vnc-hooks-manager running with the same `control: socket:`?)";
      return false;
    case Probe::unknown:
      error = "cannot check whether control socket " + text + " is in use: " + detail;
      return false;
    case Probe::stale:
      break;
  }
  if (::unlink(text.c_str()) != 0 && errno != ENOENT) {
    error = "cannot remove stale control socket " + text + ": " + std::strerror(errno);
    return false;
  }
  spdlog::info("control: removed stale socket file {}", text);
  return true;
}

void remove_socket_file(const std::filesystem::path& path, const FileIdentity& ours) {
  if (identity_of(path) != ours) return;  // gone, or replaced by another process
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    spdlog::warn("control: cannot remove socket file {}: {}", path.native(), std::strerror(errno));
}

}  // namespace vhm::control
