#pragma once
// The control socket's wire format: one JSON request line in, one JSON
// response line out, then the server closes. Kept apart from the socket code
// so that both ends (server and `ctl`) share one definition and it can be
// tested without sockets.
//
//   {"command":"sessions"}                      -> {"ok":true,"sessions":[{...}]}
//   {"command":"bans"}                          -> {"ok":true,"bans":[{...}]}
//   {"command":"unban","address":"192.0.2.7"}   -> {"ok":true,"message":"..."}
//   {"command":"kill","session_id":"..."}       -> {"ok":true,"message":"..."}
//   anything wrong                              -> {"ok":false,"error":"..."}
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "control/control_handler.hpp"

namespace vhm::control {

enum class Command { sessions, bans, unban, kill };

std::string_view to_string(Command command);
std::optional<Command> parse_command(std::string_view name);

struct Request {
  Command command = Command::sessions;
  std::string argument;  // unban: address; kill: session_id; else empty
};

// The request as one line of JSON, without the trailing newline.
std::string request_to_json(const Request& request);

// Parses one request line (newline already removed). On failure returns
// nullopt and sets `error` to a message fit for the response.
std::optional<Request> parse_request(std::string_view line, std::string& error);

// Runs the request against the handler and returns the response line
// (without newline). Exceptions from the handler propagate.
std::string execute_request(const Request& request, ControlHandler& handler);

// {"ok":false,"error":"..."} without newline.
std::string error_response(std::string_view message);

// One row as the responses carry it (also the admin API's JSON, admin/).
boost::json::object session_to_json(const SessionRow& row);
boost::json::object ban_to_json(const BanRow& row);

}  // namespace vhm::control
