#pragma once
// What the front end tests share: a listener that runs accept_viewer on each
// connection (one io_context, driven by the test), certificates made in
// process, and small Beast clients.
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "proxy/asio.hpp"
#include "proxy/frontend/front_end.hpp"

namespace vhm::proxy::frontend::test {

namespace http = boost::beast::http;
namespace ssl = asio::ssl;

// A scratch directory removed at the end.
struct ScratchDir {
  ScratchDir();
  ~ScratchDir();
  std::filesystem::path write(const std::string& name, const std::string& content) const;
  std::filesystem::path path;
};

// A self-signed server certificate (CN localhost), a client CA and a client
// certificate it signed (CN "alice"), as PEM files in `dir`.
struct TestCertificates {
  explicit TestCertificates(const ScratchDir& dir);
  std::filesystem::path server_cert, server_key, client_ca, client_cert, client_key;
};

conf::ListenerConfig listener_config(std::initializer_list<conf::FrontProtocol> protocols);

// Accepts connections on 127.0.0.1 and runs accept_viewer on each; the last
// outcome is `outcome` (set once accept_viewer returned).
class Harness {
 public:
  explicit Harness(const conf::ListenerConfig& config);
  ~Harness();
  asio::io_context io;
  std::shared_ptr<FrontEnd> front_end;
  std::string error;  // make_front_end's
  std::optional<std::optional<Accepted>> outcome;
  int finished = 0;  // accept_viewer calls that returned
  tcp::endpoint endpoint() const;
  // Runs the io_context until `done` (5 s at most).
  template <typename Predicate>
  bool run_until(Predicate done, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io.stopped()) io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // Runs `task` to its end on the io_context; true when it finished in time.
  bool run(awaitable<void> task, std::chrono::milliseconds limit = std::chrono::milliseconds(5000));
  tcp::socket connect();

 private:
  awaitable<void> accept_loop();
  std::unique_ptr<tcp::acceptor> acceptor_;
};

// One HTTP exchange on `stream`: writes `raw`, reads the response (headers
// only for HEAD).
template <typename Stream>
awaitable<http::response<http::string_body>> exchange(Stream& stream, boost::beast::flat_buffer& buffer,
                                                      const std::string& raw, bool head = false) {
  co_await asio::async_write(stream, asio::buffer(raw), asio::use_awaitable);
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}


}  // namespace vhm::proxy::frontend::test

#include <spdlog/sinks/ostream_sink.h>
#include "util/log.hpp"
#include <sstream>

namespace vhm::proxy::frontend::test {

// Every log line while it lives, as text.
class LogText {
 public:
  LogText() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
    auto logger = std::make_shared<spdlog::logger>("front-end-test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogText() { spdlog::set_default_logger(previous_); }
  std::string str() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

}  // namespace vhm::proxy::frontend::test
