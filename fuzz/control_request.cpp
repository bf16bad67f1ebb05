// One request line of the control socket (control/protocol.hpp), as the
// server hands it to parse_request: cut at the first newline, a trailing CR
// removed. Beyond not crashing: a request either parses or has an error
// message, an error response is valid JSON, and a parsed request survives
// request_to_json -> parse_request unchanged (server and `ctl` agree). An
// unban's address then goes where the proxy sends it: BanTable::unban, which
// parses the operator's text into a client key.
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "control/protocol.hpp"
#include "fuzz/support/check.hpp"
#include "policy/ban_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhm::control;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  std::string error;
  const auto request = parse_request(line, error);
  if (!request) {
    VHM_FUZZ_CHECK(!error.empty(), "rejected without a message");
    boost::json::error_code ec;
    const auto response = boost::json::parse(error_response(error), ec);
    VHM_FUZZ_CHECK(!ec && response.is_object(), error_response(error));
    return 0;
  }
  const std::string again_text = request_to_json(*request);
  std::string again_error;
  const auto again = parse_request(again_text, again_error);
  VHM_FUZZ_CHECK(again && again->command == request->command && again->argument == request->argument,
                 again_text + " / " + again_error);
  if (request->command == Command::unban) {
    vhm::policy::BanTable table(vhm::conf::BlockingConfig{});
    VHM_FUZZ_CHECK(!table.unban(request->argument, vhm::policy::TimePoint{}), "unbanned in an empty table");
  }
  return 0;
}
