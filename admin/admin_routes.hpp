#pragma once
// The admin API's routes (docs/admin-api.md): one parsed HTTP request in, one
// response out. No sockets, clocks or logs here, so every route, status and
// header can be tested and fuzzed on its own; admin_server.cpp reads and
// writes the bytes and logs what handle_request says is worth logging.
//
//   GET|HEAD /metrics, /healthz, /readyz    open unless metrics_need_token
//   GET|HEAD /sessions, /bans               bearer token
//   DELETE   /sessions/{id}, /bans/{addr}   bearer token; {addr} percent-decoded
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "admin/readiness.hpp"
#include "control/control_handler.hpp"

namespace vhm::admin {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// What the routes need of the running proxy. Called on the io thread.
class Backend {
 public:
  virtual ~Backend() = default;
  // Sessions, bans, kill and unban: the control socket's powers.
  virtual control::ControlHandler& control() = 0;
  virtual Readiness readiness() = 0;
  // The Prometheus text exposition (format 0.0.4).
  virtual std::string metrics_text() = 0;
};

struct AccessRules {
  std::string token;  // empty: token-protected routes answer 403
  bool metrics_need_token = false;
};

struct Outcome {
  Response response;
  // A line for the log when the request changed state (kill, unban) or was
  // refused for its token; empty otherwise. Never holds the token.
  std::string audit;
};

// The response to `request`, keep-alive as the request asks. Exceptions from
// the backend propagate (the server answers 500).
Outcome handle_request(const Request& request, const AccessRules& access, Backend& backend);

// An error response ({"error": message}) for requests that never got parsed
// (400, 408, 413, 431): always Connection: close.
Response error_response(http::status status, std::string_view message, unsigned version = 11);

// Percent-decoding of a path piece into `out`; false for a bad escape or a NUL.
bool percent_decode(std::string_view text, std::string& out);

// Equal strings, in a time that does not depend on where they differ or on
// their lengths (both are hashed first).
bool same_secret(std::string_view given, std::string_view expected);

}  // namespace vhm::admin
