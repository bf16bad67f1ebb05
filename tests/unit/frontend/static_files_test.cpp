// Static files below a root: only regular files, index pages for
// directories, no way out of the root (.., %2e%2e, symlinks), and the
// conditional GETs browsers make.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend_test_support.hpp"
#include "proxy/frontend/static_files.hpp"

using namespace vhm::proxy::frontend;
using vhm::proxy::frontend::test::ScratchDir;
namespace fs = std::filesystem;

namespace {

// A root like Debian's noVNC: files, a directory, a symlink inside.
struct WebRoot {
  ScratchDir dir;
  fs::path root;
  StaticRoot files;

  static StaticRoot open_root(const fs::path& path) {
    std::string error;
    auto opened = StaticRoot::open(path, error);
    INFO(error);
    REQUIRE(opened);
    return std::move(*opened);
  }

  WebRoot() : root(make(dir)), files(open_root(root)) {}

  static fs::path make(const ScratchDir& dir) {
    dir.write("web/vnc.html", "<html>vnc</html>");
    dir.write("web/app/ui.js", "export {}");
    dir.write("web/app/styles/base.css", "body{}");
    dir.write("web/app/sounds/bell.oga", "OggS");
    dir.write("web/with index/index.html", "index");
    dir.write("web/with index/vnc.html", "not this one");
    dir.write("web/percent%41.txt", "literal");
    dir.mkdir("web/empty");
    dir.write("secret.txt", "outside");
    fs::create_symlink("vnc.html", dir.path() / "web/vnc_auto.html");
    fs::create_symlink("../vnc.html", dir.path() / "web/app/up.html");
    fs::create_symlink("../secret.txt", dir.path() / "web/escape.txt");
    fs::create_symlink("/etc/passwd", dir.path() / "web/passwd");
    fs::create_symlink("/proc/self/root/etc/passwd", dir.path() / "web/magic");
    fs::create_symlink("..", dir.path() / "web/parent");
    return dir.path() / "web";
  }

  StaticResult get(std::string_view target, std::string_view if_none_match = "",
                   std::string_view if_modified_since = "") const {
    return files.lookup(target, if_none_match, if_modified_since);
  }

  // The body of an ok lookup (and the descriptor closed).
  std::string body(std::string_view target) const {
    StaticResult result = get(target);
    if (result.status != StaticStatus::ok) return "status " + std::to_string(static_cast<int>(result.status));
    std::string text(result.file.size, '\0');
    const ssize_t got = ::pread(result.file.fd, text.data(), text.size(), 0);
    ::close(result.file.fd);
    if (got != static_cast<ssize_t>(text.size())) return "short read";
    return text;
  }
};

}  // namespace

TEST_CASE("static files: regular files below the root, percent-decoded, query and fragment ignored") {
  WebRoot web;
  CHECK(web.body("/vnc.html") == "<html>vnc</html>");
  CHECK(web.body("/app/ui.js?v=1.4#top") == "export {}");
  CHECK(web.body("/app//styles/./base.css") == "body{}");
  CHECK(web.body("/with%20index/index.html") == "index");
  CHECK(web.body("/percent%2541.txt") == "literal");  // decoded once only
  const StaticResult result = web.get("/vnc.html");
  REQUIRE(result.status == StaticStatus::ok);
  CHECK(result.file.size == 16);
  CHECK(result.file.mime == "text/html; charset=utf-8");
  CHECK((::fcntl(result.file.fd, F_GETFD) & FD_CLOEXEC) != 0);
  ::close(result.file.fd);
}

TEST_CASE("static files: a directory serves index.html, else vnc.html, else 404; never a listing") {
  WebRoot web;
  CHECK(web.body("/") == "<html>vnc</html>");
  CHECK(web.body("") == "status 4");  // not an origin-form target: bad request
  CHECK(web.body("/with%20index/") == "index");
  CHECK(web.body("/with%20index") == "index");
  CHECK(web.get("/empty/").status == StaticStatus::not_found);
  CHECK(web.get("/app/").status == StaticStatus::not_found);
  CHECK(web.get("/missing.html").status == StaticStatus::not_found);
  CHECK(web.get("/vnc.html/x").status == StaticStatus::not_found);
  const StaticResult index = web.get("/with%20index/");
  CHECK(index.file.mime == "text/html; charset=utf-8");
  ::close(index.file.fd);
}

TEST_CASE("static files: symlinks inside the root work, out of it never") {
  WebRoot web;
  CHECK(web.body("/vnc_auto.html") == "<html>vnc</html>");  // as in Debian's noVNC
  CHECK(web.body("/app/up.html") == "<html>vnc</html>");
  CHECK(web.get("/escape.txt").status == StaticStatus::forbidden);
  CHECK(web.get("/passwd").status == StaticStatus::forbidden);
  CHECK(web.get("/magic").status == StaticStatus::forbidden);
  CHECK(web.get("/parent/secret.txt").status == StaticStatus::forbidden);
}

TEST_CASE("static files: .. in any spelling, NUL and bad escapes are refused") {
  WebRoot web;
  CHECK(web.get("/../secret.txt").status == StaticStatus::forbidden);
  CHECK(web.get("/app/../../secret.txt").status == StaticStatus::forbidden);
  CHECK(web.get("/app/../vnc.html").status == StaticStatus::forbidden);  // even when it stays inside
  CHECK(web.get("/%2e%2e/secret.txt").status == StaticStatus::forbidden);
  CHECK(web.get("/%2E%2E%2Fsecret.txt").status == StaticStatus::forbidden);
  CHECK(web.get("/app%2f..%2f..%2fsecret.txt").status == StaticStatus::forbidden);
  CHECK(web.get("/..").status == StaticStatus::forbidden);
  CHECK(web.get("/vnc.html%00.png").status == StaticStatus::bad_request);
  CHECK(web.get("/vnc%2").status == StaticStatus::bad_request);
  CHECK(web.get("/vnc%zz").status == StaticStatus::bad_request);
  CHECK(web.get("vnc.html").status == StaticStatus::bad_request);
  CHECK(web.get("http://host/vnc.html").status == StaticStatus::bad_request);
  CHECK(web.get("//etc/passwd").status == StaticStatus::not_found);  // a path below the root, not absolute
}

TEST_CASE("static files: FIFOs and other non-regular files are not served (and do not block)") {
  WebRoot web;
  REQUIRE(::mkfifo((web.root / "pipe.html").c_str(), 0644) == 0);
  CHECK(web.get("/pipe.html").status == StaticStatus::not_found);
  fs::create_symlink("/dev/null", web.root / "null");
  CHECK(web.get("/null").status == StaticStatus::forbidden);
}

TEST_CASE("static files: ETag from mtime and size, Last-Modified as IMF-fixdate, and 304s") {
  WebRoot web;
  const fs::path file = web.root / "app/ui.js";
  struct timespec times[2] = {{784111777, 0}, {784111777, 123456789}};  // Sun, 06 Nov 1994 08:49:37 GMT
  REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
  StaticResult result = web.get("/app/ui.js");
  REQUIRE(result.status == StaticStatus::ok);
  ::close(result.file.fd);
  CHECK(result.file.last_modified == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(result.file.etag == "\"ae1b981c3a4d715-9\"");  // 784111777123456789 ns, 9 bytes
  CHECK(result.file.mime == "application/javascript");
  const std::string etag = result.file.etag;

  auto status = [&](std::string_view none_match, std::string_view modified_since) {
    StaticResult r = web.get("/app/ui.js", none_match, modified_since);
    if (r.status == StaticStatus::ok) ::close(r.file.fd);
    if (r.status == StaticStatus::not_modified) {
      CHECK(r.file.fd == -1);
      CHECK(r.file.etag == etag);
    }
    return r.status;
  };
  CHECK(status(etag, "") == StaticStatus::not_modified);
  CHECK(status("W/" + etag, "") == StaticStatus::not_modified);
  CHECK(status("\"other\", " + etag, "") == StaticStatus::not_modified);
  CHECK(status("*", "") == StaticStatus::not_modified);
  CHECK(status("\"other\"", "") == StaticStatus::ok);
  CHECK(status("\"other\"", "Sun, 06 Nov 1994 08:49:37 GMT") == StaticStatus::ok);  // If-None-Match decides
  CHECK(status("", "Sun, 06 Nov 1994 08:49:37 GMT") == StaticStatus::not_modified);
  CHECK(status("", "Mon, 07 Nov 1994 00:00:00 GMT") == StaticStatus::not_modified);
  CHECK(status("", "Sun, 06 Nov 1994 08:49:36 GMT") == StaticStatus::ok);
  CHECK(status("", "Sunday, 06-Nov-94 08:49:37 GMT") == StaticStatus::ok);  // other formats are ignored
  CHECK(status("", "garbage") == StaticStatus::ok);
  CHECK(status("", "Sun, 06 Xyz 1994 08:49:37 GMT") == StaticStatus::ok);

  // A change of content changes the ETag.
  web.dir.write("web/app/ui.js", "export {a}");
  result = web.get("/app/ui.js", etag, "");
  CHECK(result.status == StaticStatus::ok);
  CHECK(result.file.etag != etag);
  ::close(result.file.fd);
}

TEST_CASE("static files: MIME types for everything noVNC ships") {
  CHECK(mime_type("/vnc.html") == "text/html; charset=utf-8");
  CHECK(mime_type("a/b/c.JS") == "application/javascript");
  CHECK(mime_type("x.mjs") == "application/javascript");
  CHECK(mime_type("x.css") == "text/css; charset=utf-8");
  CHECK(mime_type("x.json") == "application/json");
  CHECK(mime_type("x.png") == "image/png");
  CHECK(mime_type("x.svg") == "image/svg+xml");
  CHECK(mime_type("x.ico") == "image/x-icon");
  CHECK(mime_type("x.ttf") == "font/ttf");
  CHECK(mime_type("x.woff") == "font/woff");
  CHECK(mime_type("x.woff2") == "font/woff2");
  CHECK(mime_type("x.mp3") == "audio/mpeg");
  CHECK(mime_type("x.oga") == "audio/ogg");
  CHECK(mime_type("x.ogg") == "audio/ogg");
  CHECK(mime_type("x.wav") == "audio/wav");
  CHECK(mime_type("x.txt") == "text/plain; charset=utf-8");
  CHECK(mime_type("x.map") == "application/json");
  CHECK(mime_type("x.wasm") == "application/wasm");
  CHECK(mime_type("Makefile") == "application/octet-stream");
  CHECK(mime_type("dir.d/file") == "application/octet-stream");
  CHECK(mime_type("x.pl") == "application/octet-stream");
}

TEST_CASE("static files: a root that is missing or no directory is refused at open") {
  ScratchDir dir;
  std::string error;
  CHECK_FALSE(StaticRoot::open(dir.path() / "missing", error));
  CHECK(error == (dir.path() / "missing").string() + ": No such file or directory");
  CHECK_FALSE(StaticRoot::open(dir.write("file", "x"), error));
  CHECK(error == (dir.path() / "file").string() + ": Not a directory");
}
