#include "record/file_io.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace vhm::record::io {

std::string errno_text(int error_number) { return std::system_category().message(error_number); }

int write_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return 0;
}

int make_parent_directories(const std::filesystem::path& file, std::filesystem::path& failed) {
  const std::filesystem::path parent = file.parent_path();
  if (parent.empty()) return 0;
  std::filesystem::path prefix;
  for (const auto& part : parent) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST) continue;
    const int e = errno;
    struct stat st {};
    if (::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;  // e.g. EACCES on an existing "/"
    failed = prefix;
    return e;
  }
  return 0;
}

}  // namespace vhm::record::io
