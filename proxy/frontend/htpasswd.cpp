#include "proxy/frontend/htpasswd.hpp"

#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "util/printable.hpp"

namespace vhm::proxy::frontend {
namespace {

using Digest = std::array<unsigned char, 32>;

constexpr auto remembered_for = std::chrono::seconds(60);
constexpr std::size_t remembered_max = 1024;
// A bcrypt hash of a random password, for unknown users when no user has a hash to borrow.
constexpr std::string_view fallback_hash = "$2y$10$xPqT4kElwmuiFls9Qv7hZeJTurElIWR0Q6PLKhiiG8upwcgz2dV4q";

bool crypt_alphabet(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

// The hash types libxcrypt verifies that htpasswd and mkpasswd write, with
// the length of their final field: a truncated or mangled line is caught at
// load instead of becoming a user who can never log in.
bool usable_hash(std::string_view hash) {
  if (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
    if (hash.size() != 60 || hash[6] != '$') return false;
    if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') return false;
    for (char c : hash.substr(7))
      if (!crypt_alphabet(c)) return false;
  } else {
    static constexpr std::pair<std::string_view, std::size_t> final_field[] = {
        {"$1$", 22}, {"$5$", 43}, {"$6$", 86}, {"$y$", 43}, {"$gy$", 43}, {"$7$", 43}};
    bool known = false;
    for (const auto& [prefix, length] : final_field) {
      if (!hash.starts_with(prefix)) continue;
      const std::size_t last = hash.rfind('$');
      if (last < prefix.size() || hash.size() - last - 1 != length) return false;
      known = true;
    }
    if (!known) return false;
    for (char c : hash)
      if (!crypt_alphabet(c) && c != '$' && c != '=') return false;
  }
  const std::string setting(hash);
  const int check = crypt_checksalt(setting.c_str());
  return check == CRYPT_SALT_OK || check == CRYPT_SALT_METHOD_LEGACY;
}

Digest cache_key(std::string_view user, std::string_view password, std::string_view hash) {
  Digest digest{};
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  unsigned int size = 0;
  const char nul = '\0';
  const bool done = context && EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1 &&
                    EVP_DigestUpdate(context, user.data(), user.size()) == 1 &&
                    EVP_DigestUpdate(context, &nul, 1) == 1 &&
                    EVP_DigestUpdate(context, password.data(), password.size()) == 1 &&
                    EVP_DigestUpdate(context, &nul, 1) == 1 &&
                    EVP_DigestUpdate(context, hash.data(), hash.size()) == 1 &&
                    EVP_DigestFinal_ex(context, digest.data(), &size) == 1;
  EVP_MD_CTX_free(context);
  if (!done) digest.fill(0);  // an all-zero key is never stored (see remember)
  return digest;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 4648 base64; padding optional, but if present it makes a multiple of 4.
std::optional<std::string> base64_decode(std::string_view text) {
  const std::size_t padded = text.size();
  while (!text.empty() && text.back() == '=' && padded - text.size() < 2) text.remove_suffix(1);
  if (padded != text.size() && padded % 4 != 0) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned bits = 0, count = 0;
  for (char c : text) {
    const int value = base64_value(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::string> read_small_file(const std::filesystem::path& file, std::string& error) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    error = file.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat info {};
  std::optional<std::string> text;
  constexpr off_t max_size = 4 << 20;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = file.string() + ": not a regular file";
  } else if (info.st_size > max_size) {
    error = file.string() + ": larger than 4 MiB";
  } else {
    text.emplace();
    char buffer[16384];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text->append(buffer, static_cast<std::size_t>(got));
    if (got < 0) {
      error = file.string() + ": " + std::strerror(errno);
      text.reset();
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

struct Htpasswd::Cache {
  std::mutex mutex;
  std::map<Digest, std::chrono::steady_clock::time_point> expiry;  // successful checks
};

HtpasswdParse parse_htpasswd(std::string_view text, std::string_view file_name) {
  HtpasswdParse result;
  std::size_t number = 0, start = 0;
  while (start < text.size() && result.error.empty()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = std::string(file_name) + ":" + std::to_string(number) + ": ";
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      result.error = where + "expected user:hash";
      break;
    }
    const std::string user(line.substr(0, colon));
    // Apache reads the hash up to a further ':' (extra fields are allowed).
    const std::string_view rest = line.substr(colon + 1);
    const std::string_view hash = rest.substr(0, rest.find(':'));
    const std::string who = "user " + util::printable(user, 64) + ": ";
    if (!usable_hash(hash)) {
      result.error = where + who + "hash type not supported by crypt(3); write it with `htpasswd -B`";
    } else if (!result.hashes.emplace(user, std::string(hash)).second) {
      result.error = where + who + "listed twice";
    }
  }
  if (!result.error.empty()) result.hashes.clear();
  return result;
}

std::optional<std::pair<std::string, std::string>> parse_basic_authorization(std::string_view header_value) {
  header_value = trim_spaces(header_value);
  constexpr std::string_view scheme = "basic";
  if (header_value.size() <= scheme.size() || (header_value[scheme.size()] != ' ' && header_value[scheme.size()] != '\t'))
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if ((header_value[i] | 0x20) != scheme[i]) return std::nullopt;
  const std::string_view credentials = trim_spaces(header_value.substr(scheme.size()));
  if (credentials.empty() || credentials.size() > 8192) return std::nullopt;
  auto decoded = base64_decode(credentials);
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::pair{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::optional<Htpasswd> Htpasswd::load(const std::filesystem::path& file, std::string& error) {
  const auto text = read_small_file(file, error);
  if (!text) return std::nullopt;
  auto parsed = parse_htpasswd(*text, file.string());
  if (!parsed.error.empty()) {
    error = std::move(parsed.error);
    return std::nullopt;
  }
  if (parsed.hashes.empty()) {
    error = file.string() + ": no users";
    return std::nullopt;
  }
  Htpasswd table;
  table.hashes_ = std::move(parsed.hashes);
  table.unknown_user_hash_ = table.hashes_.begin()->second;
  table.cache_ = std::make_shared<Cache>();
  return table;
}

bool Htpasswd::verify(std::string_view user, std::string_view password) const {
  const auto found = hashes_.find(user);
  const bool known = found != hashes_.end();
  const std::string& hash = known ? found->second : unknown_user_hash_;
  const Digest key = cache_key(user, password, hash);
  const auto now = std::chrono::steady_clock::now();
  if (known && cache_) {
    std::lock_guard lock(cache_->mutex);
    const auto remembered = cache_->expiry.find(key);
    if (remembered != cache_->expiry.end()) {
      if (remembered->second > now) return true;
      cache_->expiry.erase(remembered);
    }
  }
  // crypt(3) takes C strings: a password with a NUL is hashed (for the time)
  // but never accepted.
  const std::string phrase(password);
  const std::string setting = hash.empty() ? std::string(fallback_hash) : hash;
  auto data = std::make_unique<crypt_data>();  // 32 KiB: per call, zeroed, so calls run in parallel
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof *data);
  const bool ok = known && password.find('\0') == std::string_view::npos && out != nullptr && out[0] != '*' &&
                  std::strlen(out) == hash.size() && CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof *data);
  if (ok && cache_ && key != Digest{}) {
    std::lock_guard lock(cache_->mutex);
    if (cache_->expiry.size() >= remembered_max) {
      std::erase_if(cache_->expiry, [&](const auto& entry) { return entry.second <= now; });
      if (cache_->expiry.size() >= remembered_max) cache_->expiry.erase(cache_->expiry.begin());
    }
    cache_->expiry[key] = now + remembered_for;
  }
  return ok;
}

}  // namespace vhm::proxy::frontend
