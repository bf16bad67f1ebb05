#include "control/protocol.hpp"

#include <array>
#include <boost/json.hpp>

#include "util/utf8_text.hpp"
#include "util/printable.hpp"

namespace vhm::control {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 4> command_names = {"sessions", "bans", "unban", "kill"};

// The key that carries the argument of `command`, empty when it takes none.
std::string_view argument_key(Command command) {
  switch (command) {
    case Command::unban: return "address";
    case Command::kill: return "session_id";
    case Command::sessions:
    case Command::bans: return {};
  }
  return {};
}

json::string text(std::string_view value) { return json::string(util::valid_utf8(value)); }

std::string result_response(const CommandResult& result) {
  if (!result.ok) return error_response(result.message);
  return json::serialize(json::object{{"ok", true}, {"message", text(result.message)}});
}

}  // namespace

std::string_view to_string(Command command) { return command_names[static_cast<std::size_t>(command)]; }

std::optional<Command> parse_command(std::string_view name) {
  for (std::size_t i = 0; i < command_names.size(); ++i)
    if (command_names[i] == name) return static_cast<Command>(i);
  return std::nullopt;
}

std::string request_to_json(const Request& request) {
  json::object object{{"command", to_string(request.command)}};
  if (auto key = argument_key(request.command); !key.empty()) object[key] = text(request.argument);
  return json::serialize(object);
}

std::optional<Request> parse_request(std::string_view line, std::string& error) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
    error = "empty request: expected one line of JSON such as {\"command\":\"sessions\"}";
    return std::nullopt;
  }
  json::error_code parse_error;
  const json::value value = json::parse(line, parse_error);
  if (parse_error) {
    error = "request is not valid JSON: " + parse_error.message();
    return std::nullopt;
  }
  const json::object* object = value.if_object();
  if (!object) {
    error = "request must be a JSON object";
    return std::nullopt;
  }
  const json::value* command_value = object->if_contains("command");
  if (!command_value || !command_value->is_string()) {
    error = "request needs a string \"command\" (sessions, bans, unban or kill)";
    return std::nullopt;
  }
  const auto command = parse_command(command_value->get_string());
  // Peer text in messages is escaped and bounded.
  const std::string command_name = util::printable(command_value->get_string(), 64);
  if (!command) {
    error = "unknown command \"" + command_name + "\" (expected sessions, bans, unban or kill)";
    return std::nullopt;
  }

  Request request{*command, {}};
  const std::string_view key = argument_key(*command);
  for (const auto& member : *object) {
    if (member.key() == "command" || member.key() == key) continue;
    error = "unexpected key \"" + util::printable(member.key(), 64) + "\" for command \"" + command_name + "\"";
    return std::nullopt;
  }
  if (!key.empty()) {
    const json::value* argument = object->if_contains(key);
    if (!argument || !argument->is_string() || argument->get_string().empty()) {
      error = "command \"" + command_name + "\" needs a non-empty string \"" + std::string(key) + "\"";
      return std::nullopt;
    }
    request.argument = argument->get_string();
  }
  return request;
}

std::string execute_request(const Request& request, ControlHandler& handler) {
  switch (request.command) {
    case Command::sessions: {
      json::array rows;
      for (const auto& row : handler.sessions()) rows.push_back(session_to_json(row));
      return json::serialize(json::object{{"ok", true}, {"sessions", std::move(rows)}});
    }
    case Command::bans: {
      json::array rows;
      for (const auto& row : handler.bans()) rows.push_back(ban_to_json(row));
      return json::serialize(json::object{{"ok", true}, {"bans", std::move(rows)}});
    }
    case Command::unban: return result_response(handler.unban(request.argument));
    case Command::kill: return result_response(handler.kill(request.argument));
  }
  return error_response("unknown command");
}

std::string error_response(std::string_view message) {
  return json::serialize(json::object{{"ok", false}, {"error", text(message)}});
}

json::object session_to_json(const SessionRow& row) {
  return {
      {"session_id", text(row.session_id)},   {"client_ip", text(row.client_ip)},
      {"client_port", text(row.client_port)}, {"target_host", text(row.target_host)},
      {"target_port", text(row.target_port)}, {"listen", text(row.listen)},
      {"user", text(row.user)},               {"security_type", text(row.security_type)},
      {"state", text(row.state)},             {"age_seconds", row.age_seconds},
      {"bytes_in", row.bytes_in},             {"bytes_out", row.bytes_out},
      {"recording_path", text(row.recording_path)},
      {"view_only", row.view_only},           {"tracking", text(row.tracking)},
      {"transport", text(row.transport)},
  };
}

json::object ban_to_json(const BanRow& row) {
  return {
      {"key", text(row.key)},
      {"failures", row.failures},
      {"banned_until", text(row.banned_until)},
      {"level", row.level},
  };
}

}  // namespace vhm::control
