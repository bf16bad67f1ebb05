#include "proxy/frontend/static_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "proxy/frontend/percent_decoding.hpp"

namespace vhm::proxy::frontend {
namespace {

constexpr const char* day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// glibc 2.36 has no openat2() wrapper. RESOLVE_BENEATH: no "..", absolute
// path or symlink may leave the root; RESOLVE_NO_MAGICLINKS: no /proc/self/fd tricks.
int open_beneath(int dir_fd, const std::string& relative) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: a FIFO cannot block the open
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  return static_cast<int>(fd);
}

StaticStatus open_error_status(int error) {
  switch (error) {
    case EXDEV:   // would leave the root
    case ELOOP:   // a magic link, or a symlink loop
    case EACCES:
    case EPERM: return StaticStatus::forbidden;
    default: return StaticStatus::not_found;  // ENOENT, ENOTDIR, ENAMETOOLONG...
  }
}

std::string imf_fixdate(std::time_t seconds) {
  std::tm utc{};
  if (!::gmtime_r(&seconds, &utc) || utc.tm_year + 1900 > 9999 || utc.tm_year + 1900 < 0) return {};
  char text[32];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[utc.tm_wday], utc.tm_mday,
                month_names[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return text;
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7) as seconds; nullopt otherwise
// (a date in another format is ignored, as RFC 9110 13.1.3 allows).
std::optional<std::time_t> parse_imf_fixdate(std::string_view text) {
  if (text.size() != 29 || text.substr(3, 2) != ", " || text.substr(25) != " GMT") return std::nullopt;
  auto number = [&](std::size_t at, std::size_t digits) -> int {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  std::tm utc{};
  utc.tm_mday = number(5, 2);
  utc.tm_year = number(12, 4) - 1900;
  utc.tm_hour = number(17, 2);
  utc.tm_min = number(20, 2);
  utc.tm_sec = number(23, 2);
  utc.tm_mon = -1;
  for (int m = 0; m < 12; ++m)
    if (text.substr(8, 3) == month_names[m]) utc.tm_mon = m;
  if (utc.tm_mon < 0 || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':')
    return std::nullopt;
  if (utc.tm_mday < 1 || utc.tm_mday > 31 || utc.tm_year < 0 || utc.tm_hour < 0 || utc.tm_hour > 23 ||
      utc.tm_min < 0 || utc.tm_min > 59 || utc.tm_sec < 0 || utc.tm_sec > 60)
    return std::nullopt;
  return ::timegm(&utc);
}

std::string_view trim_header_space(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// If-None-Match: "*" or a list of entity tags, compared weakly (W/ ignored).
bool none_match_hits(std::string_view header, std::string_view etag) {
  std::size_t start = 0;
  while (start <= header.size()) {
    const std::size_t comma = header.find(',', start);
    std::string_view tag = trim_header_space(header.substr(start, comma - start));
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::string_view mime_type(std::string_view path) {
  const std::string_view name = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string extension(name.substr(dot + 1));
  for (char& c : extension) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  // Everything Debian's noVNC ships, and what a newer one adds.
  static constexpr std::pair<std::string_view, std::string_view> types[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "application/javascript"},
      {"mjs", "application/javascript"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"md", "text/plain; charset=utf-8"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"svg", "image/svg+xml"},
      {"ico", "image/x-icon"},
      {"ttf", "font/ttf"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"mp3", "audio/mpeg"},
      {"oga", "audio/ogg"},
      {"ogg", "audio/ogg"},
      {"wav", "audio/wav"},
      {"wasm", "application/wasm"},
  };
  for (const auto& [known, type] : types)
    if (extension == known) return type;
  return "application/octet-stream";
}

std::optional<StaticRoot> StaticRoot::open(const std::filesystem::path& root, std::string& error) {
  const int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = root.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  // openat2 needs Linux 5.6: fail at load rather than with every request.
  const int probe = open_beneath(fd, ".");
  if (probe < 0) {
    error = root.string() + ": openat2: " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  ::close(probe);
  return StaticRoot(fd);
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

StaticResult StaticRoot::lookup(std::string_view request_target, std::string_view if_none_match,
                                std::string_view if_modified_since) const {
  StaticResult result;
  if (dir_fd_ < 0) return result;
  request_target = request_target.substr(0, request_target.find_first_of("?#"));
  if (request_target.empty() || request_target.front() != '/') return {StaticStatus::bad_request, {}};
  const auto decoded = percent_decode_strict(request_target);
  if (!decoded || decoded->find('\0') != std::string::npos) return {StaticStatus::bad_request, {}};
  // The path below the root, segment by segment: "" and "." dropped, ".." refused
  // (openat2 would refuse it too, but only when it leaves the root).
  std::string relative;
  std::size_t start = 0;
  while (start <= decoded->size()) {
    const std::size_t slash = std::min(decoded->find('/', start), decoded->size());
    const std::string_view segment = std::string_view(*decoded).substr(start, slash - start);
    start = slash + 1;
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") return {StaticStatus::forbidden, {}};
    if (!relative.empty()) relative += '/';
    relative += segment;
  }
  std::string name = relative.empty() ? "." : relative;
  int fd = open_beneath(dir_fd_, name);
  if (fd < 0) return {open_error_status(errno), {}};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    return result;
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    fd = -1;
    // A directory serves its index, never a listing.
    for (const char* index : {"index.html", "vnc.html"}) {
      const std::string candidate = relative.empty() ? index : relative + "/" + index;
      const int index_fd = open_beneath(dir_fd_, candidate);
      if (index_fd < 0) continue;
      if (::fstat(index_fd, &info) == 0 && S_ISREG(info.st_mode)) {
        fd = index_fd;
        name = candidate;
        break;
      }
      ::close(index_fd);
    }
    if (fd < 0) return result;
  }
  if (!S_ISREG(info.st_mode)) {  // devices, FIFOs, sockets
    ::close(fd);
    return result;
  }
  // Reads of a regular file ignore O_NONBLOCK; cleared anyway for whoever reads it.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  StaticFile& file = result.file;
  file.size = static_cast<std::uint64_t>(info.st_size);
  const std::uint64_t mtime_ns =
      static_cast<std::uint64_t>(info.st_mtim.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(info.st_mtim.tv_nsec);
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(mtime_ns),
                static_cast<unsigned long long>(file.size));
  file.etag = etag;
  file.last_modified = imf_fixdate(info.st_mtim.tv_sec);
  file.mime = mime_type(name);
  // RFC 9110 13.2.2: If-None-Match decides when present; If-Modified-Since only without it.
  bool not_modified = false;
  if (!trim_header_space(if_none_match).empty()) {
    not_modified = none_match_hits(if_none_match, file.etag);
  } else if (const auto since = parse_imf_fixdate(trim_header_space(if_modified_since))) {
    not_modified = info.st_mtim.tv_sec <= *since;
  }
  if (not_modified) {
    ::close(fd);
    file.fd = -1;
    result.status = StaticStatus::not_modified;
  } else {
    file.fd = fd;
    result.status = StaticStatus::ok;
  }
  return result;
}

}  // namespace vhm::proxy::frontend
