// broker-load (bench/broker.sh): events into the Redis stream through the
// proxy's own publisher (broker::StreamPublisher: the on-disk spool, group
// commit, pipelined XADD), at a steady rate or as fast as it takes them.
// Sessions of two events (connect, disconnect) with distinct ids, every event
// stamped with the time it was made (its `timestamp`, as the proxy does), so
// the worker can measure the delay from event to hook.
//
//   broker-load --redis redis://127.0.0.1:PORT --stream S --spool-dir DIR
//               --events N [--rate PER_SECOND (0: as fast as possible)]
// Prints: published=N seconds=T rate=R sent=S dropped=D
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include <boost/program_options.hpp>

#include "broker/stream_publisher.hpp"
#include "conf/redis_url.hpp"
#include "util/iso_time.hpp"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string url, stream, spool_dir;
  long long events = 10'000;
  double rate = 0;
  po::options_description options("broker-load options");
  options.add_options()("redis", po::value(&url)->required(), "redis://host:port")(
      "stream", po::value(&stream)->default_value("vnc-hooks-manager:events"), "stream key")(
      "spool-dir", po::value(&spool_dir)->required(), "the publisher's spool directory")(
      "events", po::value(&events), "events to publish")("rate", po::value(&rate), "events per second; 0: unpaced");
  po::variables_map values;
  try {
    po::store(po::parse_command_line(argc, argv, options), values);
    po::notify(values);
  } catch (const po::error& e) {
    std::cerr << "broker-load: " << e.what() << '\n' << options;
    return 2;
  }
  std::string error;
  auto parsed = vhm::conf::parse_redis_url(url, error);
  if (!parsed) {
    std::cerr << "broker-load: --redis: " << error << '\n';
    return 2;
  }
  vhm::conf::BrokerConfig config;
  config.redis.addresses.push_back(parsed->address);
  config.stream = stream;
  config.spool_dir = spool_dir;
  config.host_name = "bench";
  vhm::broker::StreamPublisher publisher(config);
  if (!publisher.start(error)) {
    std::cerr << "broker-load: " << error << '\n';
    return 1;
  }
  const auto started = Clock::now();
  for (long long i = 0; i < events; ++i) {
    if (rate > 0) {
      const auto due = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / rate));
      if (Clock::now() < due) std::this_thread::sleep_until(due);
    }
    vhm::hooks::Event event;
    event.kind = i % 2 == 0 ? vhm::conf::EventKind::connect : vhm::conf::EventKind::disconnect;
    event[vhm::conf::Field::event] = std::string(vhm::conf::to_string(event.kind));
    char session[17];
    std::snprintf(session, sizeof session, "%016llx", static_cast<unsigned long long>(i / 2));
    event[vhm::conf::Field::session_id] = session;
    event[vhm::conf::Field::timestamp] = vhm::util::iso8601_utc_now();
    event[vhm::conf::Field::client_ip] = "192.0.2.7";
    event[vhm::conf::Field::client_port] = "51234";
    event[vhm::conf::Field::listen] = "0.0.0.0:5900";
    event[vhm::conf::Field::target_host] = "127.0.0.1";
    event[vhm::conf::Field::target_port] = "5901";
    publisher.publish(std::move(event));
  }
  const double made = std::chrono::duration<double>(Clock::now() - started).count();
  const std::size_t left = publisher.shutdown(std::chrono::seconds(60));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const auto stats = publisher.stats();
  std::printf("published=%lld made_seconds=%.3f seconds=%.3f rate=%.0f sent=%llu dropped=%llu left=%zu\n", events, made,
              seconds, static_cast<double>(events) / seconds, static_cast<unsigned long long>(stats.sent),
              static_cast<unsigned long long>(stats.dropped), left);
  return left == 0 ? 0 : 1;
}
