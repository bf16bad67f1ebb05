#include "control/ctl_format.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <ostream>
#include <vector>

#include "util/printable.hpp"

namespace vhm::control {
namespace json = boost::json;
namespace {

constexpr std::size_t max_cell_bytes = 80;

struct Column {
  std::string title;
  bool right = false;  // numbers line up on the right
};

// Terminal columns taken by UTF-8 text, approximated as code points.
std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

void print_table(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows,
                 std::ostream& out) {
  std::vector<std::size_t> widths;
  for (const auto& column : columns) widths.push_back(display_width(column.title));
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  const auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::string padding(widths[i] - display_width(cells[i]), ' ');
      if (i > 0) line += "  ";
      line += columns[i].right ? padding + cells[i] : cells[i] + (i + 1 < cells.size() ? padding : "");
    }
    out << line << '\n';
  };
  std::vector<std::string> titles;
  for (const auto& column : columns) titles.push_back(column.title);
  print_row(titles);
  for (const auto& row : rows) print_row(row);
}

std::string text_of(const json::object& object, std::string_view key, std::size_t max_bytes = max_cell_bytes) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_string()) return {};
  return util::printable(value->get_string(), max_bytes);
}

std::uint64_t number_of(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (!value) return 0;
  if (value->is_uint64()) return value->get_uint64();
  if (value->is_int64() && value->get_int64() >= 0) return static_cast<std::uint64_t>(value->get_int64());
  return 0;
}

std::string or_dash(std::string text) { return text.empty() ? "-" : text; }

// "192.0.2.1:5900", "[2001:db8::1]:5900"; the host alone when the port is unknown.
std::string host_port(const std::string& host, const std::string& port) {
  if (host.empty()) return "-";
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port.empty() ? host : shown + ":" + port;
}

const json::array* rows_of(const json::object& response, std::string_view key) {
  const json::value* value = response.if_contains(key);
  return value ? value->if_array() : nullptr;
}

bool print_sessions(const json::object& response, std::ostream& out) {
  const json::array* sessions = rows_of(response, "sessions");
  if (!sessions) return false;
  if (sessions->empty()) {
    out << "no sessions\n";
    return true;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : *sessions) {
    const json::object* row = item.if_object();
    if (!row) return false;
    rows.push_back({
        or_dash(text_of(*row, "session_id")),
        host_port(text_of(*row, "client_ip"), text_of(*row, "client_port")),
        or_dash(text_of(*row, "transport")),
        host_port(text_of(*row, "target_host"), text_of(*row, "target_port")),
        or_dash(text_of(*row, "user")),
        or_dash(text_of(*row, "security_type")),
        or_dash(text_of(*row, "state")),
        format_age(number_of(*row, "age_seconds")),
        format_bytes(number_of(*row, "bytes_in")),
        format_bytes(number_of(*row, "bytes_out")),
    });
  }
  print_table({{"ID"}, {"CLIENT"}, {"VIA"}, {"TARGET"}, {"USER"}, {"SECURITY"}, {"STATE"}, {"AGE", true}, {"IN", true},
               {"OUT", true}},
              rows, out);
  return true;
}

bool print_bans(const json::object& response, std::ostream& out) {
  const json::array* bans = rows_of(response, "bans");
  if (!bans) return false;
  if (bans->empty()) {
    out << "no bans in force\n";
    return true;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : *bans) {
    const json::object* row = item.if_object();
    if (!row) return false;
    rows.push_back({
        or_dash(text_of(*row, "key")),
        std::to_string(number_of(*row, "failures")),
        or_dash(text_of(*row, "banned_until")),
        std::to_string(number_of(*row, "level")),
    });
  }
  print_table({{"KEY"}, {"FAILURES", true}, {"BANNED UNTIL"}, {"LEVEL", true}}, rows, out);
  return true;
}

}  // namespace

std::string format_age(std::uint64_t seconds) {
  char text[32];
  if (seconds < 60) {
    std::snprintf(text, sizeof text, "%llus", static_cast<unsigned long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(text, sizeof text, "%llum%02llus", static_cast<unsigned long long>(seconds / 60),
                  static_cast<unsigned long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(text, sizeof text, "%lluh%02llum", static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds % 3600 / 60));
  } else {
    std::snprintf(text, sizeof text, "%llud%02lluh", static_cast<unsigned long long>(seconds / 86400),
                  static_cast<unsigned long long>(seconds % 86400 / 3600));
  }
  return text;
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes);
  constexpr const char* units = "KMGTPE";
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::char_traits<char>::length(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%c", value, units[unit]);
  return text;
}

bool print_response(Command command, const json::object& response, std::ostream& out) {
  switch (command) {
    case Command::sessions: return print_sessions(response, out);
    case Command::bans: return print_bans(response, out);
    case Command::unban:
    case Command::kill: {
      const std::string message = text_of(response, "message", 1024);
      out << (message.empty() ? "ok" : message) << '\n';
      return true;
    }
  }
  return false;
}

}  // namespace vhm::control
