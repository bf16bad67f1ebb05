#pragma once
// HTTP Basic credentials against an htpasswd file of crypt(3) hashes, as
// `htpasswd -B` (bcrypt), `-5`/`-2` (SHA-crypt) and mkpasswd write them;
// libxcrypt verifies them. Hashes crypt(3) cannot verify ($apr1$, {SHA},
// plain text) are refused at load naming the line, with the command that
// writes a usable one. Verifying is slow by design (bcrypt), so callers run
// it off the io thread; a successful check is remembered for a minute by a
// digest of user and password, so noVNC's many requests cost one hash.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhm::proxy::frontend {

struct HtpasswdParse {
  std::map<std::string, std::string, std::less<>> hashes;  // user -> crypt hash
  std::string error;  // non-empty: "FILE:LINE: why" (never the hash)
};

HtpasswdParse parse_htpasswd(std::string_view text, std::string_view file_name);

// The user and password of an `Authorization: Basic ...` value; nullopt when malformed.
std::optional<std::pair<std::string, std::string>> parse_basic_authorization(std::string_view header_value);

class Htpasswd {
 public:
  // Reads and checks the file; nullopt with `error` naming file and line.
  static std::optional<Htpasswd> load(const std::filesystem::path& file, std::string& error);
  // Thread-safe; may take ~100 ms (bcrypt): call from a worker thread.
  bool verify(std::string_view user, std::string_view password) const;

 private:
  std::map<std::string, std::string, std::less<>> hashes_;
  // An unknown user is checked against this (a real user's hash, same cost)
  // so the time of a refusal does not tell which users exist.
  std::string unknown_user_hash_;
  struct Cache;
  std::shared_ptr<Cache> cache_;
};

}  // namespace vhm::proxy::frontend
