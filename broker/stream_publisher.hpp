#pragma once
// The proxy's side of the event stream (docs/fleet.md): an EventSink that
// appends every event (of BrokerConfig::events, or all) to a Redis Stream as
//   XADD <stream> MAXLEN ~ <max_len> * event <kind> session_id <id> host <host> json <json>
// Every event goes through the on-disk spool first (EventSpool), so none is
// lost when Redis is down or the proxy crashes; batches keep it to one fsync
// per batch on each side (group commit).
//
// Threads: publish() only moves the event into a queue (the proxy's
// io_context never waits for a disk or Redis). A spool thread turns queued
// events into JSON and appends them; a sender thread (its own io_context and
// RedisClient) sends what is spooled in order, pipelined; a commit thread
// fsyncs what the spool thread wrote and records what Redis acknowledged, so
// neither the spool thread nor the sender waits for the disk. While Redis is down it retries with backoff (0.2 s
// doubling to 5 s), logging once when it goes and once when it is back.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/event_spool.hpp"
#include "conf/config.hpp"
#include "hooks/event_sink.hpp"
#include "metrics/registry.hpp"

namespace vhm::broker {

struct PublisherStats {
  bool up = false;                   // the last exchange with Redis worked
  std::uint64_t sent = 0;            // events Redis acknowledged
  std::uint64_t dropped = 0;         // spool full (oldest dropped) or queue overflow
  std::size_t spooled_events = 0;    // waiting for Redis (spooled, plus queued for the spool)
  std::size_t spool_bytes = 0;
  double oldest_age_seconds = 0;     // of the oldest spooled event; 0 when none
};

class StreamPublisher final : public hooks::EventSink {
 public:
  explicit StreamPublisher(conf::BrokerConfig config);
  ~StreamPublisher() override;  // shutdown(0) if still running
  StreamPublisher(const StreamPublisher&) = delete;
  StreamPublisher& operator=(const StreamPublisher&) = delete;

  // Opens the spool (recovering what an earlier run left) and starts both
  // threads. Events published before start() wait in memory.
  bool start(std::string& error);

  // Thread-safe, never blocks on disk or network. `done` (if any) runs at once
  // with an empty outcome: the stream has no handlers to wait for.
  void publish(hooks::Event event, hooks::EventCompletion done = {}) override;

  // Spools what is queued, then gives Redis up to `timeout` to take every
  // spooled event; what it did not take stays in the spool for the next start.
  // Returns how many events were left.
  std::size_t shutdown(std::chrono::milliseconds timeout);

  PublisherStats stats() const;
  const conf::BrokerConfig& config() const { return config_; }

 private:
  struct Sender;
  void spool_loop();
  void commit_loop();
  void acknowledged(std::uint64_t seq);
  bool wanted(conf::EventKind kind) const;

  conf::BrokerConfig config_;
  EventSpool spool_;
  std::unique_ptr<Sender> sender_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::vector<hooks::Event> queue_;
  std::size_t queued_in_spooling_ = 0;  // taken by the spool thread, not yet appended
  bool stopping_ = false;
  bool started_ = false;
  std::thread spool_thread_;
  // The commit position is written off the sender's path: the next batch
  // goes out while the last one's commit is being fsynced.
  std::mutex commit_mutex_;
  std::condition_variable commit_ready_;
  std::uint64_t acknowledged_seq_ = 0;
  bool sync_wanted_ = false;  // the spool thread wrote; the commit thread fsyncs it
  bool commit_stopping_ = false;
  std::thread commit_thread_;
  std::atomic<std::uint64_t> queue_dropped_{0};
};

// SIGHUP: the running publisher keeps the `broker:` section it started with.
// Empty when `loaded` publishes the same way; else the log line saying that a
// restart applies it (the worker's keys, group to batch, are not compared).
std::string broker_reload_note(const std::optional<conf::BrokerConfig>& running,
                               const std::optional<conf::BrokerConfig>& loaded);

// Samples of stats() for /metrics (vnc_hooks_manager_broker_*); keep the
// collector no longer than the publisher lives.
metrics::Registry::Collector stream_publisher_collector(const StreamPublisher& publisher);

}  // namespace vhm::broker
