#include "conf/user_lookup.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "util/printable.hpp"

namespace vhm::conf {

std::optional<RunAs> resolve_user(const std::string& name, std::string& error) {
  const std::string shown = "\"" + util::printable(name, 100) + "\"";
  if (name.empty()) {
    error = "run_as needs a user name";
    return std::nullopt;
  }
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < (1u << 20))
    buffer.resize(buffer.size() * 2);
  if (rc != 0) {
    error = "cannot look up user " + shown + ": " + std::strerror(rc);
    return std::nullopt;
  }
  if (found == nullptr) {
    error = "user " + shown + " does not exist";
    return std::nullopt;
  }

  RunAs user;
  user.name = name;
  user.uid = entry.pw_uid;
  user.gid = entry.pw_gid;
  user.home = entry.pw_dir ? entry.pw_dir : "";
  user.shell = entry.pw_shell ? entry.pw_shell : "";

  // getgrouplist reports the needed size when the array is too small.
  int count = 32;
  std::vector<gid_t> groups;
  for (int attempt = 0; attempt < 8; ++attempt) {
    groups.resize(static_cast<std::size_t>(count));
    int capacity = count;
    if (::getgrouplist(name.c_str(), user.gid, groups.data(), &capacity) >= 0) {
      groups.resize(static_cast<std::size_t>(capacity));
      user.groups = std::move(groups);
      return user;
    }
    count = capacity > count ? capacity : count * 2;
  }
  error = "cannot list the groups of user " + shown;
  return std::nullopt;
}

std::optional<gid_t> resolve_group(const std::string& name, std::string& error) {
  const std::string shown = "\"" + util::printable(name, 100) + "\"";
  const long hint = ::sysconf(_SC_GETGR_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  group entry{};
  group* found = nullptr;
  int rc = 0;
  while ((rc = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < (1u << 20))
    buffer.resize(buffer.size() * 2);
  if (rc != 0) {
    error = "cannot look up group " + shown + ": " + std::strerror(rc);
    return std::nullopt;
  }
  if (found == nullptr) {
    error = "group " + shown + " does not exist";
    return std::nullopt;
  }
  return entry.gr_gid;
}

}  // namespace vhm::conf
