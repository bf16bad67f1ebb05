// A webhook's request for one event: each placeholder escaped for where it
// stands, so hostile values (quotes, backslashes, newlines, JSON syntax,
// invalid UTF-8) never change the shape of the body, the URL or the headers.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "hooks/event_json.hpp"
#include "hooks/webhook/webhook_request.hpp"

using namespace vhm::hooks;
using vhm::conf::Field;
namespace json = boost::json;

namespace {

// The guide's body, and an event whose values try every trick.
constexpr std::string_view guide_body = R"({"user":"{user}","display":"{display}","ip":"{client_ip}"})";

vhm::conf::WebhookConfig json_webhook(std::string_view body) {
  vhm::conf::WebhookConfig config;
  config.host = "hooks.example.com";
  config.port = 443;
  config.tls = true;
  config.target = "/vnc";
  config.body = std::string(body);
  config.body_is_json = true;
  return config;
}

Event hostile_event(std::string_view user) {
  Event event;
  event.kind = vhm::conf::EventKind::disconnect;
  event[Field::session_id] = "00112233aabbccdd";
  event[Field::user] = std::string(user);
  event[Field::display] = ":1";
  event[Field::client_ip] = "192.0.2.10";
  event[Field::width] = "1024";
  return event;
}

WebhookRequest build(const vhm::conf::WebhookConfig& config, const Event& event) {
  std::string error;
  auto request = build_webhook_request(config, event, error);
  INFO(error);
  REQUIRE(request);
  return *request;
}

std::string header(const WebhookRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return "(absent)";
}

}  // namespace

TEST_CASE("webhook request: values with JSON syntax stay string content in a JSON body") {
  const std::vector<std::string> values = {
      "plain",
      "quote\" and \\ backslash",
      "line1\nline2\r\ttab",
      "\",\"admin\":true,\"x\":\"",  // an injection attempt
      "{\"nested\": [1, 2]}",
      "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",  // é, 日本, an emoji
      std::string("nul\0byte\x01\x1f\x7f", 11),
      "}{user}{",  // looks like a placeholder: values are never expanded again
  };
  for (const auto& value : values) {
    const auto request = build(json_webhook(guide_body), hostile_event(value));
    INFO("value: " << value << "\nbody: " << request.body);
    const json::value parsed = json::parse(request.body);
    const json::object& object = parsed.as_object();
    CHECK(object.size() == 3);
    CHECK(json::value_to<std::string>(object.at("user")) == value);
    CHECK(json::value_to<std::string>(object.at("display")) == ":1");
    CHECK(json::value_to<std::string>(object.at("ip")) == "192.0.2.10");
  }
}

TEST_CASE("webhook request: invalid UTF-8 becomes U+FFFD, control characters \\u escapes") {
  const auto request = build(json_webhook(guide_body), hostile_event("a\xFF\xC3" "b\x01"));
  CHECK(request.body.find(R"("user":"a)" "\xEF\xBF\xBD\xEF\xBF\xBD" R"(b\u0001")") != std::string::npos);
  CHECK(json::value_to<std::string>(json::parse(request.body).at("user")) == "a\xEF\xBF\xBD\xEF\xBF\xBD" "b\x01");
}

TEST_CASE("webhook request: placeholders outside strings are numbers, null or strings") {
  const auto config = json_webhook(R"({"w": {width}, "h": {height}, "who": {user}, "all": [{width}, {user}]})");
  SECTION("a number stays a number, empty is null, text becomes a string") {
    const auto request = build(config, hostile_event("x\"y"));
    CHECK(request.body == R"({"w": 1024, "h": null, "who": "x\"y", "all": [1024, "x\"y"]})");
  }
  SECTION("JSON syntax in a value is still a string") {
    const auto request = build(config, hostile_event("[1,2]"));
    CHECK(json::parse(request.body).at("who") == json::value("[1,2]"));
  }
  CHECK(is_json_number("0"));
  CHECK(is_json_number("-12.5e+3"));
  CHECK_FALSE(is_json_number("012"));
  CHECK_FALSE(is_json_number("1."));
  CHECK_FALSE(is_json_number("+1"));
  CHECK_FALSE(is_json_number("0x10"));
  CHECK_FALSE(is_json_number("NaN"));
  CHECK_FALSE(is_json_number(""));
  CHECK(json_bare_value("") == "null");
  CHECK(json_bare_value("true") == "\"true\"");
}

TEST_CASE("webhook request: url placeholders are percent-encoded, unreserved characters kept") {
  auto config = json_webhook(guide_body);
  config.target = "/hook/{user}?d={desktop_name}&id={session_id}";
  auto event = hostile_event("a b/c?d&e=f#g%");
  event[Field::desktop_name] = "caf\xC3\xA9 -._~";
  const auto request = build(config, event);
  CHECK(request.target == "/hook/a%20b%2Fc%3Fd%26e%3Df%23g%25?d=caf%C3%A9%20-._~&id=00112233aabbccdd");
  CHECK(percent_encode("\r\n\x01") == "%0D%0A%01");
}

TEST_CASE("webhook request: headers are templates; a control character fails the request") {
  auto config = json_webhook(guide_body);
  config.headers = {{"Authorization", "Bearer XYZ"}, {"X-User", "{user}"}};
  SECTION("substituted raw, Content-Type added for a JSON body") {
    const auto request = build(config, hostile_event("alice \xC3\xA9\t1"));
    CHECK(header(request, "Authorization") == "Bearer XYZ");
    CHECK(header(request, "X-User") == "alice \xC3\xA9\t1");
    CHECK(header(request, "Content-Type") == "application/json");
  }
  for (const std::string& value : std::vector<std::string>{"a\r\nX-Evil: 1", "a\nb", std::string("a\0b", 3), "\x7f"}) {
    std::string error;
    CHECK_FALSE(build_webhook_request(config, hostile_event(value), error));
    CHECK(error == "the value of header X-User would contain a control character; not sent");
  }
}

TEST_CASE("webhook request: text bodies raw, no body the event JSON, Content-Type kept when configured") {
  auto config = json_webhook("user {user} left: {reason}");
  config.body_is_json = false;
  auto event = hostile_event("\"bob\"");
  event[Field::reason] = "client_closed";
  SECTION("text") {
    const auto request = build(config, event);
    CHECK(request.body == "user \"bob\" left: client_closed");
    CHECK(header(request, "Content-Type") == "text/plain; charset=utf-8");
    CHECK(request.method == "POST");
    CHECK(request.tls);
    CHECK(request.host == "hooks.example.com");
    CHECK(request.port == 443);
    CHECK(request.target == "/vnc");
  }
  SECTION("a configured Content-Type is the only one") {
    config.headers = {{"content-type", "application/x-custom"}};
    const auto request = build(config, event);
    CHECK(header(request, "content-type") == "application/x-custom");
    CHECK(header(request, "Content-Type") == "(absent)");
  }
  SECTION("no body: the event as JSON for POST, nothing for GET") {
    config.body.reset();
    auto request = build(config, event);
    CHECK(request.body == event_to_json(event));
    CHECK(header(request, "Content-Type") == "application/json");
    config.method = "GET";
    request = build(config, event);
    CHECK(request.body.empty());
    CHECK(header(request, "Content-Type") == "(absent)");
  }
}

TEST_CASE("webhook request: a reply's first line, as a gate's answer") {
  CHECK(reply_first_line("view_only\r\nmore") == "view_only");
  CHECK(reply_first_line("Not \x1b[31mnow\x07") == "Not [31mnow");
  CHECK(reply_first_line("") == "");
  CHECK(reply_first_line("a\xFF") == "a\xEF\xBF\xBD");
  const std::string long_line = std::string(199, 'a') + "\xC3\xA9" + std::string(50, 'b');
  CHECK(reply_first_line(long_line) == std::string(199, 'a'));
  CHECK(reply_first_line(std::string(300, 'c')) == std::string(200, 'c'));
}
