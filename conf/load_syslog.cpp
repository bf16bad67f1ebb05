// `action: syslog` keys (docs/syslog.md): target, facility, severity,
// app_name, timeout, message. The message is built and sent by hooks/syslog/.
#include <arpa/inet.h>

#include <array>
#include <set>
#include <type_traits>

#include "conf/config_sections.hpp"
#include "conf/placeholders.hpp"

namespace vhm::conf {
namespace {

// RFC 5424 section 6.2.1, in number order; the gaps are facilities nobody names.
constexpr std::array<std::pair<std::string_view, int>, 20> syslog_facilities = {{
    {"kern", 0},     {"user", 1},     {"mail", 2},     {"daemon", 3},   {"auth", 4},
    {"syslog", 5},   {"lpr", 6},      {"news", 7},     {"uucp", 8},     {"cron", 9},
    {"authpriv", 10}, {"ftp", 11},    {"local0", 16},  {"local1", 17},  {"local2", 18},
    {"local3", 19},  {"local4", 20},  {"local5", 21},  {"local6", 22},  {"local7", 23},
}};
constexpr std::array<std::string_view, 8> syslog_severities = {"emerg",  "alert", "crit", "err",
                                                               "warning", "notice", "info", "debug"};
constexpr std::size_t syslog_max_app_name = 48;  // RFC 5424 APP-NAME
constexpr std::uint16_t syslog_udp_port = 514;  // RFC 5426
constexpr std::uint16_t syslog_tcp_port = 601;  // RFC 6587 / 3195
constexpr std::chrono::milliseconds syslog_default_timeout{2'000};
// A message is built on the action thread between other log/syslog actions:
// a long wait there delays them, so the timeout has a low ceiling.
constexpr std::chrono::milliseconds syslog_max_timeout{30'000};

template <std::size_t N, typename Item>
std::string syslog_names_of(const std::array<Item, N>& items) {
  std::string names;
  for (const auto& item : items) {
    if constexpr (std::is_same_v<Item, std::string_view>)
      names += (names.empty() ? "" : ", ") + std::string(item);
    else
      names += (names.empty() ? "" : ", ") + std::string(item.first);
  }
  return names;
}

// "host:port", "[v6]:port", "host" (default port): the part after udp:// or tcp://.
std::optional<HostPort> parse_syslog_network_target(std::string_view text, std::uint16_t default_port, std::string& error) {
  HostPort address;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "IPv6 address without its closing ']'";
      return std::nullopt;
    }
    address.host = std::string(text.substr(1, close - 1));
    in6_addr ignored{};
    if (::inet_pton(AF_INET6, address.host.c_str(), &ignored) != 1) {
      error = quote_value(address.host) + " in brackets is not an IPv6 address";
      return std::nullopt;
    }
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "expected ':port' after ']'";
        return std::nullopt;
      }
      port_text = rest.substr(1);
      if (port_text.empty()) {
        error = "empty port after ':'";
        return std::nullopt;
      }
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      error = "an IPv6 address needs brackets, e.g. udp://[2001:db8::1]:514";
      return std::nullopt;
    }
    address.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) {
        error = "empty port after ':'";
        return std::nullopt;
      }
    }
    for (char c : address.host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_';
      if (!ok) {
        error = "host " + quote_value(address.host) + " is not a host name or IPv4 address";
        return std::nullopt;
      }
    }
  }
  if (address.host.empty()) {
    error = "the host is missing";
    return std::nullopt;
  }
  address.port = default_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || value > 65535) {
        error = "port " + quote_value(port_text) + " is not a number from 1 to 65535";
        return std::nullopt;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      error = "port " + quote_value(port_text) + " is not a number from 1 to 65535";
      return std::nullopt;
    }
    address.port = static_cast<std::uint16_t>(value);
  }
  return address;
}

void load_syslog_target(const Entry& entry, SyslogConfig& syslog, ProblemList& problems) {
  const auto text = read_nonempty_string(entry, problems);
  if (!text) return;
  const std::string_view value = *text;
  std::string error;
  const auto network = [&](std::string_view rest, SyslogTransport transport, std::uint16_t port) {
    if (auto address = parse_syslog_network_target(rest, port, error)) {
      syslog.transport = transport;
      syslog.address = std::move(*address);
    } else {
      problems.add(entry.line, entry.key, quote_value(value) + ": " + error);
    }
  };
  if (value.rfind("udp://", 0) == 0) {
    network(value.substr(6), SyslogTransport::udp, syslog_udp_port);
  } else if (value.rfind("tcp://", 0) == 0) {
    network(value.substr(6), SyslogTransport::tcp, syslog_tcp_port);
  } else if (value.front() == '/') {
    syslog.transport = SyslogTransport::unix_socket;
    syslog.socket_path = std::filesystem::path(*text).lexically_normal();
    if (syslog.socket_path.string().size() >= 108)  // sockaddr_un::sun_path
      problems.add(entry.line, entry.key, "the socket path is longer than 107 bytes, the limit of a Unix socket");
  } else {
    problems.add(entry.line, entry.key,
                 quote_value(value) +
                     " is not a syslog target: use an absolute socket path (default /dev/log), "
                     "udp://HOST[:PORT] (port 514) or tcp://HOST[:PORT] (port 601)");
  }
}

void load_syslog_facility(const Entry& entry, SyslogConfig& syslog, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return;
  for (const auto& [name, number] : syslog_facilities) {
    if (name == *text) {
      syslog.facility = number;
      return;
    }
  }
  problems.add(entry.line, entry.key,
               "unknown facility " + quote_value(*text) + " (known: " + syslog_names_of(syslog_facilities) + ")");
}

void load_syslog_severity(const Entry& entry, SyslogConfig& syslog, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return;
  for (std::size_t i = 0; i < syslog_severities.size(); ++i) {
    if (syslog_severities[i] == *text) {
      syslog.severity = static_cast<int>(i);
      return;
    }
  }
  problems.add(entry.line, entry.key,
               "unknown severity " + quote_value(*text) + " (known: " + syslog_names_of(syslog_severities) + ")");
}

void load_syslog_app_name(const Entry& entry, SyslogConfig& syslog, ProblemList& problems) {
  const auto text = read_nonempty_string(entry, problems);
  if (!text) return;
  if (text->size() > syslog_max_app_name) {
    problems.add(entry.line, entry.key, "app_name is longer than " + std::to_string(syslog_max_app_name) + " characters");
    return;
  }
  for (unsigned char c : *text) {
    if (c < 33 || c > 126) {
      problems.add(entry.line, entry.key,
                   "app_name " + quote_value(*text) + " must be printable US-ASCII without spaces (RFC 5424)");
      return;
    }
  }
  syslog.app_name = *text;
}

void load_syslog_message(const Entry& entry, SyslogConfig& syslog, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return;
  std::set<std::string> reported;
  bool ok = true;
  for (const auto& ref : find_placeholders(*text)) {
    if (parse_field(ref.name) || !reported.insert(ref.name).second) continue;
    std::string known;
    for (auto name : field_names) known += (known.empty() ? "" : ", ") + std::string(name);
    problems.add(entry.line, entry.key, "unknown placeholder {" + ref.name + "} (known: " + known + ")");
    ok = false;
  }
  if (ok) syslog.message = *text;
}

}  // namespace

void load_syslog_hook(MapReader& map, HookConfig& hook, ProblemList& problems) {
  map.reject("cmd", "cmd does not apply to action: syslog (the proxy sends the message itself)");
  map.reject("run_as", "run_as does not apply to action: syslog (no process is started)");
  map.reject("terminate_on_next_event",
             "terminate_on_next_event does not apply to action: syslog (a message is sent at once)");
  map.reject("path", "path is only for action: log; action: syslog sends to its target (default /dev/log)");
  map.reject("gate", "gate does not apply to action: syslog (a syslog message cannot answer)");
  hook.timeout = syslog_default_timeout;
  if (auto entry = map.take("target")) load_syslog_target(*entry, hook.syslog, problems);
  if (auto entry = map.take("facility")) load_syslog_facility(*entry, hook.syslog, problems);
  if (auto entry = map.take("severity")) load_syslog_severity(*entry, hook.syslog, problems);
  if (auto entry = map.take("app_name")) load_syslog_app_name(*entry, hook.syslog, problems);
  if (auto entry = map.take("timeout")) {
    if (auto value = read_duration(*entry, problems)) {
      if (*value <= std::chrono::milliseconds::zero() || *value > syslog_max_timeout)
        problems.add(entry->line, entry->key, "timeout must be more than 0 and at most 30s for action: syslog");
      else
        hook.timeout = *value;
    }
  }
  if (auto entry = map.take("message")) load_syslog_message(*entry, hook.syslog, problems);
}

}  // namespace vhm::conf
