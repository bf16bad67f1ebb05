#pragma once
// write(2) until every byte is out, retrying after signals: for the files
// that must hold a whole record (the ban state file, the event spool).
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace vhm::util {

// False on any other error (errno says which).
inline bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace vhm::util
