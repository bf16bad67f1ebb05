#include "policy/ban_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/printable.hpp"
#include "util/write_all.hpp"

namespace vhm::policy {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace {

constexpr std::int64_t format_version = 1;
// Far more than BanTable's key limit needs; a larger file is not ours.
constexpr std::uintmax_t max_file_size = 64 * 1024 * 1024;

std::string errno_text(int error) { return std::strerror(error); }

// Milliseconds, rounded up: a restart neither shortens a ban nor moves the
// end it was announced with (events and logs show milliseconds too).
std::int64_t unix_milliseconds_rounded_up(TimePoint when) {
  const auto since = when.time_since_epoch();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since);
  if (millis < since) millis += std::chrono::milliseconds(1);
  return millis.count();
}

// A non-negative integer member, or nullopt.
std::optional<std::int64_t> integer_member(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) return std::nullopt;
  if (const auto* i = value->if_int64(); i && *i >= 0) return *i;
  if (const auto* u = value->if_uint64(); u && *u <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(*u);
  return std::nullopt;
}

// Parses one entry; on failure sets `error` to what is wrong with it.
std::optional<Ban> parse_entry(const json::value& value, std::size_t index, std::string& error) {
  const std::string where = "bans[" + std::to_string(index) + "]";
  const json::object* object = value.if_object();
  if (object == nullptr) {
    error = where + " is not an object";
    return std::nullopt;
  }
  Ban ban;
  const json::value* key = object->if_contains("key");
  if (key == nullptr || !key->is_string()) {
    error = where + ".key is missing or not a string";
    return std::nullopt;
  }
  ban.key = std::string(key->get_string());
  std::string cidr_error;
  const auto block = conf::parse_cidr(ban.key, cidr_error);
  if (!block || conf::format_cidr(*block) != ban.key) {
    error = where + ".key \"" + util::printable(ban.key, 100) + "\" is not an address or address block";
    return std::nullopt;
  }
  // Bounds keep time_point arithmetic far from overflow. The end must fit
  // TimePoint, whose nanoseconds reach only 2262: at most half its range
  // (2116), so an end plus max_ban still fits. Durations stay in seconds.
  constexpr std::int64_t max_until_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::max().time_since_epoch()).count() / 2;
  constexpr std::int64_t max_seconds = 100'000'000'000;
  const auto until = integer_member(*object, "until_ms");
  const auto failures = integer_member(*object, "failures");
  const auto duration = integer_member(*object, "duration");
  const auto level = integer_member(*object, "level");
  if (!until || *until > max_until_ms) {
    error = where + ".until_ms is missing or not a Unix time in milliseconds";
    return std::nullopt;
  }
  if (!failures || *failures > UINT32_MAX || !duration || *duration < 1 || *duration > max_seconds || !level ||
      *level < 1 || *level > 64) {
    error = where + ": failures, duration and level must be positive whole numbers";
    return std::nullopt;
  }
  ban.until = TimePoint(std::chrono::milliseconds(*until));
  ban.failures = static_cast<unsigned>(*failures);
  ban.duration = std::chrono::seconds(*duration);
  ban.level = static_cast<unsigned>(*level);
  return ban;
}

using util::write_all;

}  // namespace

std::string bans_to_json(const std::vector<Ban>& bans) {
  json::array entries;
  for (const Ban& ban : bans) {
    entries.push_back(json::object{{"key", ban.key},
                                   {"until_ms", unix_milliseconds_rounded_up(ban.until)},
                                   {"failures", ban.failures},
                                   {"duration", ban.duration.count()},
                                   {"level", ban.level}});
  }
  json::object root{{"version", format_version}, {"bans", std::move(entries)}};
  return json::serialize(root) + "\n";
}

LoadedBans bans_from_json(std::string_view text, TimePoint now) {
  LoadedBans result;
  boost::system::error_code ec;
  json::value root;
  try {
    root = json::parse(text, ec);
  } catch (const std::exception& error) {  // allocation failure: still not fatal
    result.error = std::string("not valid JSON: ") + error.what();
    return result;
  }
  if (ec) {
    result.error = "not valid JSON: " + ec.message();
    return result;
  }
  const json::object* object = root.if_object();
  if (object == nullptr) {
    result.error = "expected a JSON object at the top";
    return result;
  }
  const auto version = integer_member(*object, "version");
  if (!version || *version != format_version) {
    result.error = "unknown format version (expected \"version\": 1)";
    return result;
  }
  const json::value* bans = object->if_contains("bans");
  if (bans == nullptr || !bans->is_array()) {
    result.error = "\"bans\" is missing or not a list";
    return result;
  }
  std::vector<Ban> loaded;
  std::size_t index = 0;
  for (const json::value& entry : bans->get_array()) {
    std::string error;
    auto ban = parse_entry(entry, index++, error);
    if (!ban) {
      result.error = error;  // one bad entry: the file is not trusted at all
      return result;
    }
    if (ban->until > now) loaded.push_back(std::move(*ban));
  }
  result.bans = std::move(loaded);
  return result;
}

LoadedBans load_bans(const fs::path& path, TimePoint now) {
  LoadedBans result;
  const std::string prefix = "ban state file " + path.string() + ": ";
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) return result;
  if (ec) {
    result.error = prefix + ec.message();
    return result;
  }
  if (!fs::is_regular_file(status)) {
    result.error = prefix + "not a regular file";
    return result;
  }
  const auto size = fs::file_size(path, ec);
  if (!ec && size > max_file_size) {
    result.error = prefix + "larger than " + std::to_string(max_file_size) + " bytes";
    return result;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    result.error = prefix + errno_text(errno);
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    result.error = prefix + "read error";
    return result;
  }
  result = bans_from_json(text.str(), now);
  if (!result.error.empty()) result.error = prefix + result.error;
  return result;
}

bool save_bans(const fs::path& path, const std::vector<Ban>& bans, std::string& error) {
  const std::string text = bans_to_json(bans);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  const auto fail = [&](const std::string& what, int code) {
    error = "cannot save ban state file " + path.string() + ": " + what + ": " + errno_text(code);
    return false;
  };

  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // created with mode 0600
  if (fd < 0) return fail("cannot create a temporary file in " + dir.string(), errno);
  const auto abandon = [&](const std::string& what) {
    const int code = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return fail(what, code);
  };
  if (::fchmod(fd, 0600) != 0) return abandon("chmod");
  if (!write_all(fd, text)) return abandon("write");
  if (::fsync(fd) != 0) return abandon("fsync");
  if (::close(fd) != 0) {
    const int code = errno;
    ::unlink(temp.c_str());
    return fail("close", code);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int code = errno;
    ::unlink(temp.c_str());
    return fail("rename", code);
  }
  // The rename is durable only once the directory entry is on disk.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return fail("open directory " + dir.string(), errno);
  const int synced = ::fsync(dir_fd);
  const int code = errno;
  ::close(dir_fd);
  if (synced != 0) return fail("fsync directory " + dir.string(), code);
  error.clear();
  return true;
}

}  // namespace vhm::policy
