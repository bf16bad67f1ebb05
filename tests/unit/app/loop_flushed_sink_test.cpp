// The log's sink: with a loop attached, info lines wait for the end of the
// loop's turn and a turn's lines go out together; warnings, lines without a
// loop, and what is pending when the loop is detached are written at once.
#include <catch2/catch.hpp>

#include "util/log.hpp"

#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "app/loop_flushed_sink.hpp"
#include "tests/unit/conf/conf_test_support.hpp"

using vhm::app::LoopFlushedSink;
using vhm::conf::test::TempDir;

namespace {

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct TestLog {
  explicit TestLog(const std::filesystem::path& path)
      : sink(std::make_shared<LoopFlushedSink>(path)), logger("test", sink) {
    logger.set_pattern("%l %v");
    logger.flush_on(spdlog::level::off);
  }
  std::shared_ptr<LoopFlushedSink> sink;
  spdlog::logger logger;
};

}  // namespace

TEST_CASE("log sink: without a loop every line is written at once") {
  TempDir dir;
  const auto path = dir.path() / "logs" / "proxy.log";  // the directory is made
  TestLog log(path);
  log.logger.info("first");
  CHECK(file_text(path) == "info first\n");
  log.logger.debug("not at this level");
  log.logger.info("second");
  CHECK(file_text(path) == "info first\ninfo second\n");
}

TEST_CASE("log sink: with a loop, a turn's info lines are written at its end; warnings at once") {
  TempDir dir;
  const auto path = dir.path() / "proxy.log";
  TestLog log(path);
  boost::asio::io_context io;
  log.sink->attach_loop(io.get_executor());
  std::string seen_inside_turn;
  boost::asio::post(io, [&] {
    log.logger.info("accepted");
    log.logger.info("closed");
    seen_inside_turn = file_text(path);
  });
  io.run();
  CHECK(seen_inside_turn.empty());
  CHECK(file_text(path) == "info accepted\ninfo closed\n");

  io.restart();
  boost::asio::post(io, [&] {
    log.logger.info("pending");
    log.logger.warn("trouble");  // written at once, with what was pending before it
    seen_inside_turn = file_text(path);
  });
  io.run();
  CHECK(seen_inside_turn == "info accepted\ninfo closed\ninfo pending\nwarning trouble\n");
}

TEST_CASE("log sink: detaching the loop writes what is pending, and lines are immediate again") {
  TempDir dir;
  const auto path = dir.path() / "proxy.log";
  TestLog log(path);
  {
    boost::asio::io_context io;
    log.sink->attach_loop(io.get_executor());
    log.logger.info("queued for a turn that never runs");
    CHECK(file_text(path).empty());
    log.sink->attach_loop(std::nullopt);
    CHECK(file_text(path) == "info queued for a turn that never runs\n");
  }
  log.logger.info("after");
  CHECK(file_text(path) == "info queued for a turn that never runs\ninfo after\n");
}

TEST_CASE("log sink: a log file that cannot be opened is an error naming why") {
  TempDir dir;
  dir.write("plain-file", "x");
  try {
    LoopFlushedSink sink(dir.path() / "plain-file" / "proxy.log");
    FAIL("opened a file under a regular file");
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what()) == "Not a directory");
  }
}
