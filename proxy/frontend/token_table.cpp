#include "proxy/frontend/token_table.hpp"

#include <algorithm>
#include <fcntl.h>
#include <openssl/evp.h>
#include "util/log.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

#include "proxy/frontend/percent_decoding.hpp"

namespace vhm::proxy::frontend {
namespace fs = std::filesystem;
namespace {

using FileStamps = std::map<fs::path, std::pair<fs::file_time_type, std::uintmax_t>>;

// Python's str.isspace() for ASCII: websockify strips lines and splits on ":\s" with it.
bool python_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f'); }

std::string_view python_strip(std::string_view text) {
  while (!text.empty() && python_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && python_space(text.back())) text.remove_suffix(1);
  return text;
}

// Python's universal newlines: "\n", "\r\n" and "\r" all end a line.
std::vector<std::string_view> python_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1);
  }
  return lines;
}

// websockify's `re.split(':\s', line)` when it gives exactly two parts.
std::optional<std::pair<std::string_view, std::string_view>> split_token_line(std::string_view line) {
  std::optional<std::size_t> at;
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    if (line[i] != ':' || !python_space(line[i + 1])) continue;
    if (at) return std::nullopt;  // three parts or more
    at = i;
    ++i;
  }
  if (!at) return std::nullopt;
  return std::pair{line.substr(0, *at), line.substr(*at + 2)};
}

std::optional<std::uint16_t> target_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool stamp_files(const fs::path& path, FileStamps& stamps, std::string& error) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec) {
    error = path.string() + ": " + ec.message();
    return false;
  }
  auto stamp = [&](const fs::path& file) {
    std::error_code file_ec;
    const auto mtime = fs::last_write_time(file, file_ec);
    const auto size = file_ec ? 0 : fs::file_size(file, file_ec);
    if (!file_ec) stamps[file] = {mtime, size};
    return !file_ec;
  };
  if (fs::is_regular_file(status)) {
    if (stamp(path)) return true;
    error = path.string() + ": cannot read its size and time";
    return false;
  }
  if (!fs::is_directory(status)) {
    error = path.string() + ": neither a file nor a directory";
    return false;
  }
  fs::directory_iterator entries(path, ec);
  if (ec) {
    error = path.string() + ": " + ec.message();
    return false;
  }
  for (const auto& entry : entries) {
    // Dotfiles and editor backups are not token files (websockify would read them, and fail on a subdirectory).
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.' || name.back() == '~') continue;
    std::error_code entry_ec;
    if (entry.is_regular_file(entry_ec)) stamp(entry.path());
  }
  return true;
}

// The whole file; O_NONBLOCK so a FIFO put there cannot hang the io thread.
std::optional<std::string> read_token_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  struct stat info {};
  std::optional<std::string> text;
  constexpr off_t max_size = 16 << 20;
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size <= max_size) {
    text.emplace();
    char buffer[16384];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0 && text->size() <= static_cast<std::size_t>(max_size))
      text->append(buffer, static_cast<std::size_t>(got));
    if (got < 0) text.reset();
  }
  ::close(fd);
  return text;
}

}  // namespace

TokenFileParse parse_token_file(std::string_view text, std::string_view file_name) {
  TokenFileParse result;
  std::size_t number = 0;
  for (std::string_view raw : python_lines(text)) {
    ++number;
    const std::string_view line = python_strip(raw);
    if (line.empty() || line.front() == '#') continue;
    auto problem = [&](std::string_view why) {
      result.problems.push_back(std::string(file_name) + ":" + std::to_string(number) + ": " + std::string(why));
    };
    const auto parts = split_token_line(line);
    if (!parts) {
      problem("expected `token: host:port` (one \": \" between token and target)");
      continue;
    }
    const std::string_view target = python_strip(parts->second);
    const std::size_t colon = target.rfind(':');  // rsplit(':', 1), as websockify
    if (colon == std::string_view::npos) {
      problem("expected host:port after the token");
      continue;
    }
    std::string_view host = target.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto port = target_port(target.substr(colon + 1));
    if (host.empty()) {
      problem("the target has no host");
    } else if (host == "unix_socket") {
      problem("unix_socket targets are not supported");
    } else if (std::any_of(host.begin(), host.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
      problem("the target's host has a space or control character");  // no name or address has one
    } else if (!port) {
      problem("the target's port is not a number from 1 to 65535");
    } else {
      result.tokens[std::string(parts->first)] = conf::HostPort{std::string(host), *port};
    }
  }
  return result;
}

std::string redact_token(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1 || size < 4)
    return "sha256:?";
  static constexpr char hex[] = "0123456789abcdef";
  std::string text = "sha256:";
  for (int i = 0; i < 4; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 0x0f];
  }
  return text;
}

TokenTable::TokenTable(fs::path file_or_directory, Clock clock)
    : path_(std::move(file_or_directory)), clock_(std::move(clock)) {}

bool TokenTable::load(std::string& error) {
  FileStamps stamps;
  if (!stamp_files(path_, stamps, error)) return false;
  decltype(tokens_) tokens;
  for (const auto& [file, stamp] : stamps) {
    const auto text = read_token_file(file);
    if (!text) {
      if (stamps.size() == 1 && file == path_) {
        error = file.string() + ": cannot be read";
        return false;
      }
      spdlog::warn("tokens: {}: cannot be read, skipped", file.string());
      continue;
    }
    auto parsed = parse_token_file(*text, file.string());
    for (const auto& problem : parsed.problems) spdlog::warn("tokens: {} (line skipped)", problem);
    for (auto& [token, target] : parsed.tokens) tokens[token] = std::move(target);  // later files win
  }
  tokens_ = std::move(tokens);
  seen_ = std::move(stamps);
  last_check_ = clock_();
  unreadable_ = false;
  return true;
}

std::optional<conf::HostPort> TokenTable::lookup(std::string_view token) {
  refresh_if_changed();
  const auto found = tokens_.find(token);
  if (found == tokens_.end()) return std::nullopt;
  return found->second;
}

void TokenTable::refresh_if_changed() {
  const auto now = clock_();
  if (now - last_check_ < std::chrono::seconds(1)) return;
  last_check_ = now;
  FileStamps stamps;
  std::string error;
  if (stamp_files(path_, stamps, error) && stamps == seen_ && !unreadable_) return;
  const std::size_t before = tokens_.size();
  if (!load(error)) {
    // Fail closed: a token file that is gone revokes its tokens.
    if (!unreadable_) spdlog::error("tokens: {}; no tokens until it can be read again", error);
    tokens_.clear();
    seen_.clear();
    unreadable_ = true;
    last_check_ = now;
    return;
  }
  spdlog::info("tokens: {} re-read: {} token(s), {} before", path_.string(), tokens_.size(), before);
}

std::optional<std::string> requested_token(std::string_view request_target, std::string_view host,
                                           bool token_from_host) {
  const std::size_t fragment = request_target.find('#');
  request_target = request_target.substr(0, fragment);
  const std::size_t question = request_target.find('?');
  const std::string_view path = request_target.substr(0, question);
  if (question != std::string_view::npos) {
    // urllib.parse.parse_qs: "&"-separated name=value, blank values dropped, the first one wins.
    std::string_view query = request_target.substr(question + 1);
    while (true) {
      const std::size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const std::size_t equals = pair.find('=');
      if (equals != std::string_view::npos && equals + 1 < pair.size() &&
          percent_decode_lenient(pair.substr(0, equals), true) == "token") {
        std::string token = percent_decode_lenient(pair.substr(equals + 1), true);
        while (!token.empty() && token.back() == '\n') token.pop_back();  // websockify's rstrip('\n')
        return token;
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  if (path != "/" && path != "/websockify") {
    const std::size_t slash = path.rfind('/');
    const std::string_view segment = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (!segment.empty()) return percent_decode_lenient(segment, false);
  }
  if (token_from_host && !host.empty()) {
    // The name without the port; "[v6]:port" keeps its brackets.
    const std::size_t end = host.front() == '[' ? host.find(']') : host.find(':');
    const std::string_view name = end == std::string_view::npos ? host : host.substr(0, host.front() == '[' ? end + 1 : end);
    if (!name.empty()) return std::string(name);
  }
  return std::nullopt;
}

}  // namespace vhm::proxy::frontend
