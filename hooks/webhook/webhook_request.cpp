#include "hooks/webhook/webhook_request.hpp"

#include <algorithm>
#include <cctype>

#include "conf/json_template.hpp"
#include "conf/placeholders.hpp"
#include "hooks/command_line.hpp"
#include "hooks/event_json.hpp"
#include "util/utf8_text.hpp"

namespace vhm::hooks {
namespace webhook_escaping {
namespace {

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// GET and DELETE carry a body only when one is configured.
bool sends_event_by_default(std::string_view method) { return method != "GET" && method != "DELETE"; }

}  // namespace
}  // namespace webhook_escaping

std::string percent_encode(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (webhook_escaping::is_unreserved(byte)) {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

std::string json_string_content(std::string_view value) {
  std::string quoted = json_string(value);
  return quoted.substr(1, quoted.size() - 2);
}

// RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view text) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i - start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0')
    ++i;
  else if (digits() == 0)
    return false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == text.size();
}

std::string json_bare_value(std::string_view value) {
  if (value.empty()) return "null";
  if (is_json_number(value)) return std::string(value);
  return json_string(value);
}

std::string reply_first_line(std::string_view body) {
  constexpr std::size_t max_bytes = 200;
  const std::string line = util::valid_utf8(body.substr(0, std::min(body.find('\n'), max_bytes * 4)));
  std::string out;
  for (const char c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) continue;
    out += c;
  }
  if (out.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::optional<WebhookRequest> build_webhook_request(const conf::WebhookConfig& config, const Event& event,
                                                    std::string& error) {
  const auto value_of = [&](std::string_view name) -> std::string {
    if (auto field = conf::parse_field(name)) return hook_field_value(event, *field);
    return {};  // names are checked at load
  };
  WebhookRequest request;
  request.method = config.method;
  request.tls = config.tls;
  request.host = config.host;
  request.port = config.port;
  request.target = conf::expand_placeholders(config.target,
                                             [&](std::string_view name) { return percent_encode(value_of(name)); });

  bool has_content_type = false;
  for (const auto& [name, value_template] : config.headers) {
    std::string value = conf::expand_placeholders(value_template, value_of);
    const bool control = std::any_of(value.begin(), value.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return (byte < 0x20 && c != '\t') || byte == 0x7f;
    });
    if (control) {
      error = "the value of header " + name + " would contain a control character; not sent";
      return std::nullopt;
    }
    has_content_type = has_content_type || webhook_escaping::same_name(name, "content-type");
    request.headers.emplace_back(name, std::move(value));
  }

  const char* content_type = nullptr;
  if (!config.body) {
    if (webhook_escaping::sends_event_by_default(config.method)) {
      request.body = event_to_json(event);
      content_type = "application/json";
    }
  } else if (config.body_is_json) {
    request.body = conf::expand_json_template(*config.body, [&](std::string_view name, bool in_string) {
      const std::string value = value_of(name);
      return in_string ? json_string_content(value) : json_bare_value(value);
    });
    content_type = "application/json";
  } else {
    request.body = conf::expand_placeholders(*config.body, value_of);
    content_type = "text/plain; charset=utf-8";
  }
  if (content_type && !has_content_type) request.headers.emplace_back("Content-Type", content_type);
  return request;
}

}  // namespace vhm::hooks
