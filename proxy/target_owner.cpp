#include "proxy/target_owner.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <fstream>
#include <sstream>
#include <vector>

#include <boost/asio/ip/udp.hpp>

namespace vhm::proxy {

bool is_local_address(const boost::asio::ip::address& address) {
  if (address.is_loopback()) return true;
  if (address.is_unspecified()) return false;
  // Binding succeeds only for an address configured on this host.
  const boost::asio::ip::udp::endpoint endpoint(address, 0);
  const int fd = ::socket(endpoint.data()->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool bound = ::bind(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) == 0;
  ::close(fd);
  return bound;
}

std::optional<unsigned> listener_uid_from_proc_net(std::string_view text, std::uint16_t port) {
  constexpr std::string_view listen_state = "0A";
  std::size_t line_start = text.find('\n');  // skip the header line
  while (line_start != std::string_view::npos && line_start + 1 < text.size()) {
    const std::size_t line_end = text.find('\n', line_start + 1);
    const std::string_view line = text.substr(line_start + 1, line_end == std::string_view::npos
                                                                  ? std::string_view::npos
                                                                  : line_end - line_start - 1);
    line_start = line_end;
    // Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    std::vector<std::string_view> columns;
    std::size_t pos = 0;
    while (pos < line.size() && columns.size() < 8) {
      while (pos < line.size() && line[pos] == ' ') ++pos;
      const std::size_t end = line.find(' ', pos);
      if (pos >= line.size()) break;
      columns.push_back(line.substr(pos, end == std::string_view::npos ? line.size() - pos : end - pos));
      if (end == std::string_view::npos) break;
      pos = end;
    }
    if (columns.size() < 8 || columns[3] != listen_state) continue;
    const std::string_view local = columns[1];
    const std::size_t colon = local.rfind(':');
    if (colon == std::string_view::npos) continue;
    unsigned local_port = 0;
    const std::string_view port_hex = local.substr(colon + 1);
    if (std::from_chars(port_hex.data(), port_hex.data() + port_hex.size(), local_port, 16).ec != std::errc{}) continue;
    if (local_port != port) continue;
    unsigned uid = 0;
    const std::string_view uid_text = columns[7];
    if (std::from_chars(uid_text.data(), uid_text.data() + uid_text.size(), uid).ec != std::errc{}) continue;
    return uid;
  }
  return std::nullopt;
}

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The kernel's socket table, asked only for listening TCP sockets: the
// dump then walks the listening hash alone, so its cost does not grow with
// the sessions (reading /proc/net/tcp took 30 ms on a busy host and grows
// with every connection). nullopt with `failed` set: no sock_diag here.
std::optional<unsigned> listener_uid_from_sock_diag(std::uint16_t port, bool& failed) {
  failed = true;
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  std::optional<unsigned> uid;
  for (const int family : {AF_INET, AF_INET6}) {
    struct {
      nlmsghdr header;
      inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.request.sdiag_family = static_cast<std::uint8_t>(family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1u << 10;  // TCP_LISTEN only
    if (::send(fd, &message, sizeof message, 0) != static_cast<ssize_t>(sizeof message)) break;
    alignas(nlmsghdr) char buffer[16384];
    bool done = false;
    while (!done) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        ::close(fd);
        return std::nullopt;
      }
      int left = static_cast<int>(n);
      for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, left);
           header = NLMSG_NEXT(header, left)) {
        if (header->nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (header->nlmsg_type == NLMSG_ERROR) {
          ::close(fd);
          return std::nullopt;
        }
        const auto* entry = static_cast<const inet_diag_msg*>(NLMSG_DATA(header));
        if (!uid && ntohs(entry->id.idiag_sport) == port) uid = entry->idiag_uid;
      }
    }
    if (uid) break;
  }
  ::close(fd);
  failed = false;
  return uid;
}

std::optional<std::string> user_name(unsigned uid) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* result = nullptr;
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &result) != 0 || result == nullptr)
    return std::to_string(uid);  // a uid without a name still identifies the owner
  return std::string(result->pw_name);
}

}  // namespace

std::optional<std::string> local_listener_owner(std::uint16_t port) {
  // Even the listeners-only query is a few syscalls, and a server's owner
  // does not change from one second to the next: cache it.
  struct Cached {
    std::optional<std::string> owner;
    std::chrono::steady_clock::time_point read_at;
  };
  static std::mutex mutex;
  static std::unordered_map<std::uint16_t, Cached> cache;
  constexpr auto max_age = std::chrono::seconds(5);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex);
  if (auto it = cache.find(port); it != cache.end() && now - it->second.read_at < max_age) return it->second.owner;
  std::optional<std::string> owner;
  bool no_sock_diag = false;
  if (auto uid = listener_uid_from_sock_diag(port, no_sock_diag)) owner = user_name(*uid);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    if (!no_sock_diag) break;  // the fallback where netlink's sock_diag is not available
    if (auto uid = listener_uid_from_proc_net(read_file(table), port)) {
      owner = user_name(*uid);
      break;
    }
  }
  if (cache.size() > 4096) cache.clear();
  cache[port] = {owner, now};
  return owner;
}

}  // namespace vhm::proxy
