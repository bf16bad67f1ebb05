#include "proxy/tracking/clipboard_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace vhm::proxy {

ClipboardFile write_clipboard_file(const std::filesystem::path& dir, std::string_view session_id, unsigned number,
                                   std::string_view direction, std::string_view text) {
  ClipboardFile result;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return {{}, "cannot create " + dir.string() + ": " + ec.message()};
    ::chmod(dir.c_str(), 0700);
  }
  const auto path = dir / (std::string(session_id) + "-" + std::to_string(number) + "-" + std::string(direction) + ".txt");
  // O_EXCL and O_NOFOLLOW: a planted file or link is never written through.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return {{}, "cannot create " + path.string() + ": " + std::strerror(errno)};
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return {{}, "cannot write " + path.string() + ": " + why};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return {{}, "cannot write " + path.string() + ": " + std::strerror(errno)};
  result.path = path;
  return result;
}

}  // namespace vhm::proxy
