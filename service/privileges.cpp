#include "service/privileges.hpp"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "service/capabilities.hpp"

namespace vhm::service {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string group_name(gid_t gid) {
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) return entry.gr_name;
  return std::to_string(gid);
}

DropOutcome failure(std::string message) { return {false, std::move(message)}; }

// Removes from the bounding set everything not needed, so not even an exec'd
// root hook or a setuid-root program gets more. Needs CAP_SETPCAP; under a
// service manager that already limits the set, what is left is already small.
// Returns a note for the log when it could not.
std::string reduce_bounding_set(const std::vector<NeededCapability>& needed) {
  const auto kept = [&](cap_value_t capability) {
    for (const auto& item : needed)
      if (item.capability == capability) return true;
    return false;
  };
  for (cap_value_t capability = 0; capability < static_cast<cap_value_t>(cap_max_bits()); ++capability) {
    if (kept(capability) || CAP_IS_SUPPORTED(capability) != 1) continue;
    if (cap_get_bound(capability) != 1) continue;  // already gone
    if (cap_drop_bound(capability) != 0)
      return "bounding set left as it was (" + errno_text() + ")";
  }
  return {};
}

// Permitted and effective = exactly `needed`; inheritable and ambient empty.
bool set_capabilities(const std::vector<NeededCapability>& needed, std::string& error) {
  cap_t caps = cap_init();  // all flags clear
  if (!caps) {
    error = "cap_init: " + errno_text();
    return false;
  }
  std::vector<cap_value_t> values;
  for (const auto& item : needed) values.push_back(item.capability);
  bool ok = true;
  if (!values.empty()) {
    const int count = static_cast<int>(values.size());
    ok = cap_set_flag(caps, CAP_PERMITTED, count, values.data(), CAP_SET) == 0 &&
         cap_set_flag(caps, CAP_EFFECTIVE, count, values.data(), CAP_SET) == 0;
  }
  ok = ok && cap_set_proc(caps) == 0;
  if (!ok) error = "cannot set the capabilities (" + capability_list(needed) + "): " + errno_text();
  cap_free(caps);
  if (ok && CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0) {
    error = "cannot clear the ambient capabilities: " + errno_text();
    return false;
  }
  return ok;
}

bool identity_is(const conf::RunAs& user) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0) return false;
  return ruid == user.uid && euid == user.uid && suid == user.uid && rgid == user.gid && egid == user.gid &&
         sgid == user.gid;
}

}  // namespace

DropOutcome drop_privileges(const conf::Config& config) {
  const auto& user = config.global.user;
  if (!user) {
    if (::geteuid() == 0) return {true, "running as root (no global user: configured)"};
    return {true, "running as uid " + std::to_string(::geteuid()) + " (no global user: configured)"};
  }
  const std::string group = config.global.group.empty() ? group_name(user->gid) : config.global.group;
  const std::string account = user->name + ":" + group;
  if (::geteuid() != 0) {
    if (identity_is(*user)) return {true, "running as " + account + " (started as that user; nothing to drop)"};
    return failure("cannot switch to user " + account + " (global user:): started as uid " +
                   std::to_string(::geteuid()) + ", not root; start as root or remove user:");
  }

  const auto needed = needed_capabilities(config);
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return failure("cannot keep capabilities across the user switch: " + errno_text());
  const std::string bounding_note = reduce_bounding_set(needed);

  const std::string target = "cannot switch to user " + account + ": ";
  if (::setgroups(user->groups.size(), user->groups.data()) != 0) return failure(target + "setgroups: " + errno_text());
  if (::setresgid(user->gid, user->gid, user->gid) != 0) return failure(target + "setresgid: " + errno_text());
  if (::setresuid(user->uid, user->uid, user->uid) != 0) return failure(target + "setresuid: " + errno_text());
  if (!identity_is(*user)) return failure(target + "the ids did not change");

  std::string error;
  if (!set_capabilities(needed, error)) return failure(error);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return failure("cannot clear PR_SET_KEEPCAPS: " + errno_text());

  std::string reasons;
  for (const auto& item : needed)
    if (reasons.find(item.reason) == std::string::npos) reasons += (reasons.empty() ? "" : "; ") + item.reason;
  std::string message = "running as " + account + " with " + capability_list(needed);
  if (!reasons.empty()) message += " (" + reasons + ")";
  if (!bounding_note.empty()) message += "; " + bounding_note;
  return {true, message};
}

}  // namespace vhm::service
