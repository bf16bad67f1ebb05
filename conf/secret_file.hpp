#pragma once
// Secrets read from files at load (the admin token, the Redis password): the
// file must be a regular file others cannot read, small, and hold one line.
// Messages name the file, never its content.
#include <filesystem>
#include <optional>
#include <string>

#include "conf/config_reader.hpp"

namespace vhm::conf {

// The file's text without surrounding white space, or nullopt after reporting
// the problem at `entry`. `what` names the secret in messages ("token", "password").
std::optional<std::string> read_secret_file(const std::filesystem::path& file, const Entry& entry,
                                            ProblemList& problems, const std::string& what);

}  // namespace vhm::conf
