#pragma once
// POSIX file helpers for the writer and the exporter: whole writes despite
// EINTR and short writes, missing parent directories, errno as text.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace vhm::record::io {

std::string errno_text(int error_number);  // "No space left on device"

// Writes all of `bytes`; 0 or the errno of the failure (EIO for a write that makes no progress).
int write_all(int fd, std::span<const std::uint8_t> bytes);

// Creates the missing directories above `file` with mode 0700; 0 or errno
// with `failed` naming the directory that could not be made.
int make_parent_directories(const std::filesystem::path& file, std::filesystem::path& failed);

// Creates `file` new (O_EXCL, O_NOFOLLOW) below the existing directory
// `base`: the directories between are made (0700) or entered with
// O_NOFOLLOW. The fd, or -errno with `failed` naming the path that failed
// (ELOOP: a link; EINVAL: `file` is not below `base`).
int open_new_below(const std::filesystem::path& base, const std::filesystem::path& file, unsigned mode,
                   std::filesystem::path& failed);

}  // namespace vhm::record::io
