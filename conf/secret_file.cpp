#include "conf/secret_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vhm::conf {
namespace {

// A secret is a line of text; anything much bigger is not a secret file.
constexpr std::size_t max_secret_file_bytes = 4096;

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string_view without_white_space(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::optional<std::string> read_secret_file(const std::filesystem::path& file, const Entry& entry,
                                            ProblemList& problems, const std::string& what) {
  const auto fail = [&](const std::string& message) {
    problems.add(entry.line, entry.key, message);
    return std::nullopt;
  };
  const std::string name = quote_value(file.string());
  struct stat info{};
  if (::stat(file.c_str(), &info) != 0)
    return fail("cannot read the " + what + " file " + name + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return fail("the " + what + " file " + name + " is not a regular file");
  if ((info.st_mode & 077) != 0)
    return fail("the " + what + " file " + name + " is mode " + octal_mode(info.st_mode) +
                ": group or others may read or write it; run chmod 600 " + file.string());
  if (static_cast<std::uintmax_t>(info.st_size) > max_secret_file_bytes)
    return fail("the " + what + " file " + name + " has " + std::to_string(info.st_size) + " bytes; a " + what +
                " has at most " + std::to_string(max_secret_file_bytes));
  std::ifstream in(file, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in) return fail("cannot read the " + what + " file " + name);
  const std::string text = content.str();
  const std::string_view secret = without_white_space(text);
  if (secret.empty()) return fail("the " + what + " file " + name + " is empty");
  if (secret.find_first_of("\r\n") != std::string_view::npos)
    return fail("the " + what + " file " + name + " must hold one line");
  return std::string(secret);
}

}  // namespace vhm::conf
