#pragma once
// `web:` static files (noVNC): GET and HEAD of regular files below the root,
// with the MIME type by extension, ETag and Last-Modified (and 304 for
// If-None-Match / If-Modified-Since), never a directory listing ("/" and a
// directory serve their index.html or vnc.html, else 404). A path is
// percent-decoded, must not contain NUL or a ".." segment, and is opened with
// openat2(RESOLVE_BENEATH) from the root's descriptor, so a symlink may point
// within the root (Debian's noVNC has one) but never out of it.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::proxy::frontend {

struct StaticFile {
  int fd = -1;  // open, O_RDONLY|O_CLOEXEC; the caller owns it
  std::uint64_t size = 0;
  std::string etag;           // "\"<hex mtime>-<hex size>\""
  std::string last_modified;  // IMF-fixdate
  std::string_view mime;      // "text/html; charset=utf-8", "application/javascript"...
};

enum class StaticStatus : std::uint8_t { ok, not_modified, not_found, forbidden, bad_request };

struct StaticResult {
  StaticStatus status = StaticStatus::not_found;
  StaticFile file;  // ok and not_modified (fd closed for not_modified)
};

std::string_view mime_type(std::string_view path);

class StaticRoot {
 public:
  // Opens the root directory (O_PATH|O_DIRECTORY); nullopt with `error`.
  static std::optional<StaticRoot> open(const std::filesystem::path& root, std::string& error);
  StaticRoot(StaticRoot&&) noexcept;
  StaticRoot& operator=(StaticRoot&&) noexcept;
  ~StaticRoot();
  // `request_target`: as in the request line (query ignored). The two
  // conditional headers may be empty.
  StaticResult lookup(std::string_view request_target, std::string_view if_none_match,
                      std::string_view if_modified_since) const;

 private:
  explicit StaticRoot(int fd) : dir_fd_(fd) {}
  int dir_fd_ = -1;
};

}  // namespace vhm::proxy::frontend
