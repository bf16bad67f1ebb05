// The RFC 5424 formatter: header fields, structured data with hostile values,
// the size cap. A strict parser here reads back what the formatter wrote.
#include <catch2/catch.hpp>

#include <regex>

#include "hook_test_support.hpp"
#include "hooks/syslog/rfc5424.hpp"

using namespace vhm;
using namespace vhm::hooks;
using namespace vhm::hooks::syslog;
using conf::EventKind;
using conf::Field;

namespace {

const std::string bom = "\xEF\xBB\xBF";
const std::string fffd = "\xEF\xBF\xBD";

Origin origin() {
  Origin o;
  o.facility = 10;
  o.severity = 4;
  o.hostname = "gw1.example";
  o.app_name = "vnc-hooks-manager";
  o.procid = "4242";
  return o;
}

std::chrono::system_clock::time_point fixed_now() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'795'000'000'123));
}

// The parts of one message, parsed strictly (RFC 5424 section 6 with one SD-ELEMENT).
struct Parsed {
  int pri = -1;
  std::string timestamp, hostname, app_name, procid, msgid;
  std::vector<std::pair<std::string, std::string>> params;  // unescaped
  std::string msg;                                          // after the BOM
  bool has_msg = false;
};

Parsed parse(const std::string& message) {
  static const std::regex header(
      R"(^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) )");
  std::smatch match;
  INFO(message);
  REQUIRE(std::regex_search(message, match, header));
  Parsed parsed;
  parsed.pri = std::stoi(match[1]);
  parsed.timestamp = match[2], parsed.hostname = match[3], parsed.app_name = match[4];
  parsed.procid = match[5], parsed.msgid = match[6];
  std::size_t i = match.length(0);
  REQUIRE(message.compare(i, 11, "[vnc@32473 ") == 0);
  i += 10;
  while (message.at(i) == ' ') {
    ++i;
    const auto eq = message.find('=', i);
    REQUIRE(eq != std::string::npos);
    const std::string name = message.substr(i, eq - i);
    REQUIRE(name.size() <= 32);
    for (char c : name) REQUIRE((c > 32 && c < 127 && c != '=' && c != ']' && c != '"'));
    REQUIRE(message.at(eq + 1) == '"');
    std::string value;
    for (i = eq + 2;; ++i) {
      const char c = message.at(i);
      if (c == '"') break;
      REQUIRE(c != ']');  // an unescaped ']' would end the element for lax parsers
      if (c == '\\') {
        const char next = message.at(i + 1);
        REQUIRE((next == '"' || next == '\\' || next == ']'));
        value += next;
        ++i;
      } else {
        value += c;
      }
    }
    ++i;
    parsed.params.emplace_back(name, value);
  }
  REQUIRE(message.at(i) == ']');
  ++i;
  if (i < message.size()) {
    REQUIRE(message.compare(i, 4, " " + bom) == 0);
    parsed.msg = message.substr(i + 4);
    parsed.has_msg = true;
  }
  return parsed;
}

std::string param(const Parsed& parsed, std::string_view name) {
  for (const auto& [key, value] : parsed.params)
    if (key == name) return value;
  return "<absent>";
}

}  // namespace

TEST_CASE("rfc5424: header, every non-empty field as SD-PARAM, summary MSG") {
  Event event = test::make_event(EventKind::auth_failure, "a1b2");
  event[Field::target_host] = "127.0.0.1";
  event[Field::target_port] = "5901";
  event[Field::user] = "alice";
  const std::string message = format_message(origin(), event, event_summary(event), fixed_now());
  const Parsed parsed = parse(message);
  CHECK(parsed.pri == 84);
  CHECK(parsed.timestamp == "2026-11-23T12:00:00.000Z");  // the event's own
  CHECK(parsed.hostname == "gw1.example");
  CHECK(parsed.app_name == "vnc-hooks-manager");
  CHECK(parsed.procid == "4242");
  CHECK(parsed.msgid == "auth_failure");
  CHECK(param(parsed, "event") == "auth_failure");
  CHECK(param(parsed, "session_id") == "a1b2");
  CHECK(param(parsed, "client_port") == "50123");
  CHECK(param(parsed, "user") == "alice");
  CHECK(param(parsed, "desktop_name") == "<absent>");  // empty fields are left out
  CHECK(parsed.params.size() == 8);
  CHECK(parsed.msg == "auth_failure client 192.0.2.7:50123 -> 127.0.0.1:5901 user alice");
}

TEST_CASE("rfc5424: PRI is facility * 8 + severity; severity by event") {
  CHECK(default_severity(EventKind::auth_failure) == 4);
  CHECK(default_severity(EventKind::ban) == 4);
  CHECK(default_severity(EventKind::blocked) == 4);
  CHECK(default_severity(EventKind::connect) == 5);
  CHECK(default_severity(EventKind::disconnect) == 5);
  Origin o = origin();
  o.facility = 23;
  o.severity = 7;
  CHECK(parse(format_message(o, test::make_event(EventKind::connect, "x"), "m", fixed_now())).pri == 191);
  o.facility = 0;
  o.severity = 0;
  CHECK(format_message(o, test::make_event(EventKind::connect, "x"), "m", fixed_now()).rfind("<0>1 ", 0) == 0);
}

TEST_CASE("rfc5424: no usable event timestamp: now, with milliseconds and Z") {
  Event event = test::make_event(EventKind::connect, "x");
  event[Field::timestamp] = "yesterday";
  CHECK(parse(format_message(origin(), event, "m", fixed_now())).timestamp == "2026-11-18T11:06:40.123Z");
  event[Field::timestamp].clear();
  CHECK(parse(format_message(origin(), event, "m", fixed_now())).timestamp == "2026-11-18T11:06:40.123Z");
}

TEST_CASE("rfc5424: quotes, backslashes and ] are escaped; controls and bad UTF-8 replaced") {
  Event event = test::make_event(EventKind::disconnect, "x");
  event[Field::desktop_name] = "a\"b\\c]d [e=\"f\"]";
  event[Field::user] = "line1\nline2\r\x01\x7f";
  event[Field::reason] = "bad \xC3\x28 utf8 \xE2\x82 and caf\xC3\xA9 \xC2\x85";
  const std::string message = format_message(origin(), event, "msg\nwith ] \" \\ newline", fixed_now());
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find('\r') == std::string::npos);
  const Parsed parsed = parse(message);
  CHECK(param(parsed, "desktop_name") == "a\"b\\c]d [e=\"f\"]");
  CHECK(param(parsed, "user") == "line1" + fffd + "line2" + fffd + fffd + fffd);
  CHECK(param(parsed, "reason") == "bad " + fffd + "( utf8 " + fffd + fffd + " and caf\xC3\xA9 " + fffd);
  CHECK(parsed.msg == "msg" + fffd + "with ] \" \\ newline");  // MSG needs no escaping, only one line
}

TEST_CASE("rfc5424: field names are valid SD-NAMEs, event names valid MSGIDs") {
  for (auto name : conf::field_names) {
    INFO(name);
    CHECK(name.size() <= 32);
    for (char c : name) CHECK((c > 32 && c < 127 && c != '=' && c != ']' && c != '"' && c != ' '));
  }
  for (auto name : conf::event_kind_names) CHECK(name.size() <= 32);
}

TEST_CASE("rfc5424: unusable header values become NILVALUE") {
  Origin o = origin();
  o.hostname = "has space";
  o.procid = "";
  const Parsed parsed = parse(format_message(o, test::make_event(EventKind::connect, "x"), "m", fixed_now()));
  CHECK(parsed.hostname == "-");
  CHECK(parsed.procid == "-");
}

TEST_CASE("rfc5424: the size cap holds; values shrink first, MSG is cut on a character boundary") {
  Event event = test::make_event(EventKind::disconnect, "x");
  event[Field::desktop_name] = std::string(5000, ']');  // doubles when escaped
  event[Field::user] = std::string(3000, 'u');
  std::string long_msg;
  for (int i = 0; i < 3000; ++i) long_msg += "\xC3\xA9";
  const std::string message = format_message(origin(), event, long_msg, fixed_now(), 2048);
  CHECK(message.size() <= 2048);
  const Parsed parsed = parse(message);
  CHECK(param(parsed, "desktop_name").size() < 1100);
  CHECK(param(parsed, "desktop_name").substr(param(parsed, "desktop_name").size() - 3) == "...");
  CHECK(param(parsed, "session_id") == "x");
  REQUIRE(parsed.has_msg);
  CHECK(parsed.msg.size() % 2 == 0);  // whole two-byte characters
  CHECK(parsed.msg.rfind("\xC3\xA9", 0) == 0);

  const std::string roomy = format_message(origin(), event, "m", fixed_now());
  CHECK(roomy.size() <= max_message_bytes);
  CHECK(param(parse(roomy), "user").size() == 1024 + 3);
}

TEST_CASE("rfc5424: summary brackets IPv6 and names the reason") {
  Event event = test::make_event(EventKind::disconnect, "x");
  event[Field::client_ip] = "::1";
  event[Field::target_host] = "::1";
  event[Field::target_port] = "5901";
  event[Field::reason] = "client_closed";
  CHECK(event_summary(event) == "disconnect client [::1]:50123 -> [::1]:5901 reason client_closed");
}
