// `action: webhook` keys (docs/webhooks.md): the hook-manager guide's format
// (url, method, headers, body, timeout) plus gate, ca_file and insecure.
// Everything that can be wrong with a webhook is found here, at load, so a
// typo never waits for the first event to show.
#include <algorithm>
#include <cctype>
#include <set>

#include "conf/config_sections.hpp"
#include "conf/event_schema.hpp"
#include "conf/json_template.hpp"
#include "conf/placeholders.hpp"
#include "conf/webhook_url.hpp"
#include "tls/pem_files.hpp"

namespace vhm::conf {
namespace {

constexpr std::string_view webhook_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

// Framing is the client's business: a configured one could smuggle a request.
constexpr std::string_view framing_headers[] = {"host", "content-length", "transfer-encoding", "connection"};

constexpr std::chrono::milliseconds default_webhook_timeout{10'000};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 9110 token characters.
bool is_token(std::string_view name) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

std::string known_fields() {
  std::string names;
  for (auto name : field_names) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

// Every placeholder of `text` must name an event field; one problem per unknown name.
bool check_placeholders(std::string_view text, const Entry& entry, ProblemList& problems) {
  bool ok = true;
  std::set<std::string> reported;
  for (const auto& ref : find_placeholders(text)) {
    if (parse_field(ref.name) || !reported.insert(ref.name).second) continue;
    problems.add(entry.line, entry.key, "unknown placeholder {" + ref.name + "} (known: " + known_fields() + ")");
    ok = false;
  }
  return ok;
}

void load_url(const Entry& entry, WebhookConfig& webhook, ProblemList& problems) {
  const auto text = read_nonempty_string(entry, problems);
  if (!text) return;
  std::string error;
  auto url = parse_webhook_url(*text, error);
  if (!url) {
    problems.add(entry.line, entry.key, error);
    return;
  }
  if (!check_placeholders(url->target, entry, problems)) return;
  webhook.url = *text;
  webhook.tls = url->tls;
  webhook.host = std::move(url->host);
  webhook.port = url->port;
  webhook.target = std::move(url->target);
  if (url->userinfo) webhook.headers.emplace_back("Authorization", basic_authorization(*url->userinfo));
}

void load_headers(const Entry& entry, WebhookConfig& webhook, ProblemList& problems) {
  if (!entry.node.IsMap()) {
    problems.add(entry.line, entry.key, "expected a mapping of header names to values, got " +
                                            describe_type(entry.node));
    return;
  }
  for (const auto& item : entry.node) {
    const std::string name = item.first.Scalar();
    const Entry value{item.second, entry.key + "." + name, line_of(item.first)};
    if (!is_token(name)) {
      problems.add(value.line, value.key, "header name " + quote_value(name) + " is not an HTTP token");
      continue;
    }
    const std::string lowered = lower(name);
    if (std::find(std::begin(framing_headers), std::end(framing_headers), lowered) != std::end(framing_headers)) {
      problems.add(value.line, value.key, "the " + name + " header is set by the client itself and cannot be configured");
      continue;
    }
    if (lowered == "authorization" &&
        std::any_of(webhook.headers.begin(), webhook.headers.end(), [](const auto& header) {
          return lower(header.first) == "authorization";
        })) {
      problems.add(value.line, value.key, "Authorization is given twice (by the url's user-info and here)");
      continue;
    }
    const auto text = read_string(value, problems);
    if (!text) continue;
    if (has_control_character(*text)) {
      // The value is not quoted: header values are often secrets.
      problems.add(value.line, value.key, "a header value cannot contain control characters (line breaks)");
      continue;
    }
    if (!check_placeholders(*text, value, problems)) continue;
    webhook.headers.emplace_back(name, *text);
  }
}

const std::string* find_header(const WebhookConfig& webhook, std::string_view lowered_name) {
  for (const auto& [name, value] : webhook.headers)
    if (lower(name) == lowered_name) return &value;
  return nullptr;
}

// Content-Type JSON (or none) and a body that parses: placeholders are
// JSON-escaped. Content-Type JSON and a body that does not: refused.
void check_body(const Entry& entry, WebhookConfig& webhook, ProblemList& problems) {
  if (!webhook.body) return;
  const std::string* content_type = find_header(webhook, "content-type");
  const bool says_json = content_type && lower(*content_type).find("json") != std::string::npos;
  if (content_type && !says_json) return;  // text, form data...: substituted as written
  const auto problem = json_body_problem(*webhook.body);
  if (!problem) {
    webhook.body_is_json = true;
  } else if (says_json) {
    problems.add(entry.line, entry.key, "body is not valid JSON (Content-Type says JSON): " + *problem);
  }
}

}  // namespace

void load_webhook_hook(MapReader& map, const std::filesystem::path& base_dir, HookConfig& hook, ProblemList& problems) {
  for (auto key : {"cmd", "run_as", "terminate_on_next_event", "path"})
    map.reject(key, std::string(key) + " does not apply to action: webhook");
  WebhookConfig& webhook = hook.webhook;
  hook.timeout = default_webhook_timeout;

  if (auto entry = map.take("url"))
    load_url(*entry, webhook, problems);
  else
    problems.add(map.self().line, map.key_path("url"), "url is required for action: webhook");

  if (auto entry = map.take("method")) {
    if (auto text = read_nonempty_string(*entry, problems)) {
      std::string upper = *text;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (std::find(std::begin(webhook_methods), std::end(webhook_methods), upper) != std::end(webhook_methods))
        webhook.method = upper;
      else
        problems.add(entry->line, entry->key,
                     "unknown method " + quote_value(*text) + " (known: GET, POST, PUT, PATCH, DELETE)");
    }
  }
  if (auto entry = map.take("headers")) load_headers(*entry, webhook, problems);
  std::optional<Entry> body_entry = map.take("body");
  if (body_entry) {
    if (auto text = read_string(*body_entry, problems))
      if (check_placeholders(*text, *body_entry, problems)) webhook.body = *text;
    check_body(*body_entry, webhook, problems);
  }
  if (auto entry = map.take("timeout"))
    if (auto value = read_duration(*entry, problems)) hook.timeout = *value;  // positive, checked by the reader
  if (!gate_allowed(hook.event)) {
    map.reject("gate", "gate is only allowed on connect and auth_success handlers, not on " +
                           std::string(to_string(hook.event)));
  } else if (auto entry = map.take("gate")) {
    if (auto value = read_bool(*entry, problems)) hook.gate = *value;
  }

  std::optional<Entry> ca_entry = map.take("ca_file");
  if (ca_entry) {
    if (auto text = read_nonempty_string(*ca_entry, problems)) {
      webhook.ca_file = resolve_config_path(*text, base_dir);
      if (auto problem = tls::ca_file_problem(webhook.ca_file)) problems.add(ca_entry->line, ca_entry->key, *problem);
    }
  }
  std::optional<Entry> insecure_entry = map.take("insecure");
  if (insecure_entry)
    if (auto value = read_bool(*insecure_entry, problems)) webhook.insecure = *value;
  if (!webhook.url.empty() && !webhook.tls) {
    if (ca_entry) problems.add(ca_entry->line, ca_entry->key, "ca_file is only for https:// urls");
    if (insecure_entry) problems.add(insecure_entry->line, insecure_entry->key, "insecure is only for https:// urls");
  } else if (ca_entry && webhook.insecure) {
    problems.add(insecure_entry->line, insecure_entry->key,
                 "insecure: true turns off the verification that ca_file is for; give one or the other");
  }
}

}  // namespace vhm::conf
