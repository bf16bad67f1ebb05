#pragma once
// The filesystem side of the control socket: deciding whether an existing
// socket file is stale (safe to remove) or served by a live process, and
// remembering which file we created so close() never unlinks someone else's.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace vhm::control {

// Identity of a file, to tell "our socket" from one that replaced it.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

std::optional<FileIdentity> identity_of(const std::filesystem::path& path);

// Makes `path` ready to bind: creates missing parent directories; if a socket
// file is there and nothing accepts on it, removes it. Fails (message in
// `error`) when the path is too long for sockaddr_un, when another process
// answers on it, or when something other than a socket is in the way.
bool prepare_socket_path(const std::filesystem::path& path, std::string& error);

// Removes `path` if it is still the file identified by `ours`.
void remove_socket_file(const std::filesystem::path& path, const FileIdentity& ours);

}  // namespace vhm::control
