#include "record/file_io.hpp"

#include <fcntl.h>
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

int open_new_below(const std::filesystem::path& base, const std::filesystem::path& file, unsigned mode,
                   std::filesystem::path& failed) {
  const std::filesystem::path relative = file.lexically_normal().lexically_relative(base.lexically_normal());
  failed = file;
  if (relative.empty() || !relative.has_filename()) return -EINVAL;
  for (const auto& part : relative)
    if (part == ".." || part == ".") return -EINVAL;
  int dir = ::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    failed = base;
    return -errno;
  }
  std::filesystem::path walked = base;
  const std::filesystem::path name = relative.filename();
  for (const auto& part : relative.parent_path()) {
    walked /= part;
    if (::mkdirat(dir, part.c_str(), 0700) != 0 && errno != EEXIST) {
      const int e = errno;
      ::close(dir);
      failed = walked;
      return -e;
    }
    const int next = ::openat(dir, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    struct stat st {};
    if (next < 0 && ::fstatat(dir, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
      e = ELOOP;  // O_DIRECTORY reports a link as ENOTDIR
    ::close(dir);
    if (next < 0) {
      failed = walked;
      return -e;
    }
    dir = next;
  }
  const int fd = ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  const int e = errno;
  ::close(dir);
  return fd >= 0 ? fd : -e;
}

}  // namespace vhm::record::io
