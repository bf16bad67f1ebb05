#include "broker/stream_publisher.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <tuple>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "util/log.hpp"

#include "broker/redis_client.hpp"
#include "broker/spool/spool_format.hpp"
#include "hooks/event_json.hpp"

namespace vhm::broker {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// A batch is one pipelined write to Redis and one commit fsync; bounded so a
// long backlog goes out in pieces and a reply never waits behind megabytes.
constexpr std::size_t publisher_batch_events = 1000;
constexpr std::size_t publisher_batch_bytes = 1u << 20;
// Events waiting for the spool thread (a disk that stalls): beyond this they
// are dropped and counted, so memory stays bounded.
constexpr std::size_t publisher_queue_limit = 100'000;
constexpr auto publisher_first_backoff = std::chrono::milliseconds(200);
constexpr auto publisher_max_backoff = std::chrono::milliseconds(5'000);
constexpr auto publisher_idle_poll = std::chrono::seconds(1);

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct StreamPublisher::Sender {
  Sender(const conf::BrokerConfig& config, EventSpool& spool, std::function<void(std::uint64_t)> acknowledged)
      : config(config),
        spool(spool),
        acknowledged(std::move(acknowledged)),
        client(io.get_executor(), config.redis, "event stream"),
        wake(io),
        backoff(io) {}

  asio::awaitable<void> run();
  std::vector<Command> commands_for(const std::vector<SpoolRecord>& records) const;
  void notify() {
    asio::post(io, [this] { wake.cancel(); });
  }
  void finish() {
    std::lock_guard lock(finished_mutex);
    finished = true;
    finished_cv.notify_all();
  }

  const conf::BrokerConfig& config;
  EventSpool& spool;
  std::function<void(std::uint64_t)> acknowledged;  // to the commit thread
  asio::io_context io{1};
  RedisClient client;
  asio::steady_timer wake;
  asio::steady_timer backoff;
  std::thread thread;
  std::atomic<bool> up{false};
  std::atomic<std::uint64_t> sent{0};
  // On the sender's thread only.
  bool draining = false;
  bool stop_now = false;
  Clock::time_point deadline;
  std::mutex finished_mutex;
  std::condition_variable finished_cv;
  bool finished = false;
};

std::vector<Command> StreamPublisher::Sender::commands_for(const std::vector<SpoolRecord>& records) const {
  std::vector<Command> commands;
  commands.reserve(records.size());
  const auto max_len = std::to_string(config.max_len);
  for (const auto& record : records) {
    auto event = decode_spooled_event(record.payload);
    if (!event) {  // cannot happen for what append() wrote (the CRC held); keep the order going
      spdlog::error("event stream: spooled record {} is not an event; sent as it is", record.seq);
      event = SpooledEvent{"unknown", "", config.host_name, record.payload};
    }
    commands.push_back({"XADD", config.stream, "MAXLEN", "~", max_len, "*", "event", std::move(event->kind),
                        "session_id", std::move(event->session_id), "host", std::move(event->host), "json",
                        std::move(event->json)});
  }
  return commands;
}

asio::awaitable<void> StreamPublisher::Sender::run() {
  auto delay = std::chrono::milliseconds(publisher_first_backoff);
  bool down_logged = false;
  bool ever_up = false;
  std::uint64_t sent_seq = 0;  // acknowledged by Redis (the commit thread writes it down)
  while (!stop_now) {
    if (draining && Clock::now() >= deadline) break;
    const auto records = spool.read(sent_seq, publisher_batch_events, publisher_batch_bytes);
    if (records.empty()) {
      if (draining) break;  // the spool thread has stopped: everything was sent
      error_code ignored;
      wake.expires_after(publisher_idle_poll);
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    const auto unsent_before = spool.stats().last_seq - sent_seq;  // for the "back" line
    error_code ec;
    const auto replies = co_await client.pipeline(commands_for(records), ec);
    std::size_t acknowledged = 0;
    std::string refusal;
    if (!ec) {
      for (const auto& reply : replies) {
        if (reply.is_error()) {
          refusal = reply.describe();
          break;
        }
        ++acknowledged;
      }
    }
    if (acknowledged > 0) {
      sent_seq = records[acknowledged - 1].seq;
      this->acknowledged(sent_seq);
      sent += acknowledged;
    }
    if (!ec && refusal.empty()) {
      delay = publisher_first_backoff;
      if (!up) {
        up = true;
        if (down_logged)
          spdlog::info("event stream: Redis at {} is back; sending {} spooled event(s)", client.address(),
                       unsent_before);
        else if (!ever_up)
          spdlog::info("event stream: sending events to Redis at {}, stream {}", client.address(), config.stream);
        ever_up = true;
        down_logged = false;
      }
      continue;
    }
    if (up || !down_logged) {
      const auto why = ec ? client.last_error() : client.address() + " refused XADD: " + refusal;
      spdlog::warn("event stream: Redis is down ({}); events wait in the spool {} and are retried", why,
                   spool.dir().string());
      down_logged = true;
    }
    up = false;
    if (draining) break;  // one attempt at shutdown when Redis is down: the spool keeps the rest
    error_code ignored;
    backoff.expires_after(delay);
    co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    delay = std::min(delay * 2, std::chrono::milliseconds(publisher_max_backoff));
  }
  finish();
}

StreamPublisher::StreamPublisher(conf::BrokerConfig config) : config_(std::move(config)) {}

StreamPublisher::~StreamPublisher() {
  if (started_) shutdown(std::chrono::milliseconds(0));
}

bool StreamPublisher::start(std::string& error) {
  if (!spool_.open(config_.spool_dir, config_.spool_max_bytes, error)) return false;
  sender_ = std::make_unique<Sender>(config_, spool_, [this](std::uint64_t seq) { acknowledged(seq); });
  Sender& sender = *sender_;
  asio::co_spawn(sender.io, sender.run(), [&sender](std::exception_ptr failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      spdlog::error("event stream: the sender stopped unexpectedly: {}", e.what());
    }
    sender.finish();
  });
  sender.thread = std::thread([&sender] { sender.io.run(); });
  spool_thread_ = std::thread([this] { spool_loop(); });
  commit_thread_ = std::thread([this] { commit_loop(); });
  started_ = true;
  return true;
}

bool StreamPublisher::wanted(conf::EventKind kind) const {
  return config_.events.empty() || std::find(config_.events.begin(), config_.events.end(), kind) != config_.events.end();
}

void StreamPublisher::publish(hooks::Event event, hooks::EventCompletion done) {
  if (wanted(event.kind)) {
    std::lock_guard lock(queue_mutex_);
    if (queue_.size() >= publisher_queue_limit) {
      if (queue_dropped_++ % 10'000 == 0)
        spdlog::warn("event stream: the spool cannot keep up; events are dropped ({} so far)", queue_dropped_.load());
    } else {
      queue_.push_back(std::move(event));
      queue_ready_.notify_one();
    }
  }
  if (done) done(hooks::EventOutcome{});
}

// Group commit: whatever queued up while the last batch was being fsynced is
// the next batch, so a busy proxy fsyncs per batch, not per event.
void StreamPublisher::spool_loop() {
  std::vector<hooks::Event> batch;
  std::vector<std::string> payloads;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything is spooled
      batch.swap(queue_);
      queued_in_spooling_ = batch.size();
    }
    payloads.clear();
    for (const auto& event : batch)
      payloads.push_back(encode_spooled_event({std::string(conf::to_string(event.kind)), event.session_id(),
                                               config_.host_name, hooks::event_to_json(event)}));
    batch.clear();
    spool_.append(payloads, unix_ms_now(), [this] {
      {
        std::lock_guard lock(queue_mutex_);
        queued_in_spooling_ = 0;
      }
      sender_->notify();  // written: the sender may go while the fsync runs
    }, /*sync_now=*/false);
    {
      std::lock_guard lock(queue_mutex_);
      queued_in_spooling_ = 0;  // also when the write failed (the events were counted as dropped)
    }
    {
      std::lock_guard lock(commit_mutex_);
      sync_wanted_ = true;
    }
    commit_ready_.notify_one();
  }
}

void StreamPublisher::acknowledged(std::uint64_t seq) {
  {
    std::lock_guard lock(commit_mutex_);
    acknowledged_seq_ = std::max(acknowledged_seq_, seq);
  }
  commit_ready_.notify_one();
}

// Syncs and commits coalesce: one fsync covers every batch written or
// acknowledged meanwhile. A crash before the commit's fsync means those
// events are sent again (at least once); one before the segment's fsync
// loses the newest events, as a crash loses those still queued in memory.
void StreamPublisher::commit_loop() {
  std::uint64_t committed = 0;
  for (;;) {
    std::uint64_t seq = 0;
    bool stopping = false;
    bool sync = false;
    {
      std::unique_lock lock(commit_mutex_);
      commit_ready_.wait(lock, [&] { return acknowledged_seq_ > committed || sync_wanted_ || commit_stopping_; });
      seq = acknowledged_seq_;
      stopping = commit_stopping_;
      sync = sync_wanted_ || stopping;
      sync_wanted_ = false;
    }
    if (sync) spool_.sync();
    if (seq > committed) {
      spool_.commit(seq);
      committed = seq;
    }
    if (stopping) {
      std::lock_guard lock(commit_mutex_);
      if (acknowledged_seq_ <= committed) return;
    }
  }
}

std::size_t StreamPublisher::shutdown(std::chrono::milliseconds timeout) {
  if (!started_) return 0;
  started_ = false;
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_one();
  spool_thread_.join();
  Sender& sender = *sender_;
  asio::post(sender.io, [&sender, timeout] {
    sender.draining = true;
    sender.deadline = Clock::now() + timeout;
    sender.wake.cancel();
    sender.backoff.cancel();
  });
  const auto wait_finished = [&sender](std::chrono::milliseconds bound) {
    std::unique_lock lock(sender.finished_mutex);
    return sender.finished_cv.wait_for(lock, bound, [&sender] { return sender.finished; });
  };
  // A batch in flight at the deadline is bounded by command_timeout; past
  // that, close the connection under it.
  if (!wait_finished(timeout + std::chrono::milliseconds(500))) {
    asio::post(sender.io, [&sender] {
      sender.stop_now = true;
      sender.client.close();
      sender.wake.cancel();
      sender.backoff.cancel();
    });
    if (!wait_finished(std::chrono::seconds(2))) sender.io.stop();
  }
  sender.thread.join();
  {
    std::lock_guard lock(commit_mutex_);
    commit_stopping_ = true;
  }
  commit_ready_.notify_one();
  commit_thread_.join();
  const auto left = spool_.stats().events;
  if (left > 0)
    spdlog::info("event stream: {} event(s) stay in the spool {} for the next start", left, spool_.dir().string());
  else
    spdlog::info("event stream: every event was sent to Redis");
  return left;
}

PublisherStats StreamPublisher::stats() const {
  PublisherStats stats;
  const auto spool = spool_.stats();
  std::size_t queued = 0;
  {
    std::lock_guard lock(queue_mutex_);
    queued = queue_.size() + queued_in_spooling_;
  }
  if (sender_) {
    stats.up = sender_->up;
    stats.sent = sender_->sent;
  }
  stats.dropped = spool.dropped + queue_dropped_;
  stats.spooled_events = spool.events + queued;
  stats.spool_bytes = spool.bytes;
  if (spool.oldest_time_ms > 0)
    stats.oldest_age_seconds = std::max<double>(0, static_cast<double>(unix_ms_now() - spool.oldest_time_ms) / 1000.0);
  return stats;
}

namespace {

auto publisher_settings(const conf::BrokerConfig& b) {
  std::vector<std::tuple<std::string, std::uint16_t, bool, int>> addresses;
  for (const auto& a : b.redis.addresses) addresses.emplace_back(a.host, a.port, a.tls, a.database);
  const auto& r = b.redis;
  return std::tuple(addresses, r.user, r.password, r.ca_file, r.cert_file, r.key_file, r.insecure, r.connect_timeout,
                    r.command_timeout, b.stream, b.max_len, b.events, b.spool_dir, b.spool_max_bytes, b.host_name);
}

}  // namespace

std::string broker_reload_note(const std::optional<conf::BrokerConfig>& running,
                               const std::optional<conf::BrokerConfig>& loaded) {
  if (!running && !loaded) return {};
  if (running && loaded && publisher_settings(*running) == publisher_settings(*loaded)) return {};
  return "reload: the changed `broker:` section applies at the next restart; events go on as before";
}

metrics::Registry::Collector stream_publisher_collector(const StreamPublisher& publisher) {
  return [&publisher](metrics::SampleWriter& out) {
    const auto stats = publisher.stats();
    out.gauge("vnc_hooks_manager_broker_up", "1 when the event stream's last exchange with Redis worked, else 0.", {},
              stats.up ? 1 : 0);
    out.counter("vnc_hooks_manager_broker_events_sent_total", "Events Redis acknowledged (XADD to the stream).", {},
                static_cast<double>(stats.sent));
    out.gauge("vnc_hooks_manager_broker_spooled_events", "Events waiting in the on-disk spool for Redis.", {},
              static_cast<double>(stats.spooled_events));
    out.gauge("vnc_hooks_manager_broker_spool_bytes", "Bytes of the events waiting in the spool.", {},
              static_cast<double>(stats.spool_bytes));
    out.gauge("vnc_hooks_manager_broker_spool_oldest_event_age_seconds",
              "Age of the oldest event waiting in the spool; 0 when none waits.", {}, stats.oldest_age_seconds);
    out.counter("vnc_hooks_manager_broker_events_dropped_total",
                "Events dropped unsent: the spool was full (the oldest go) or could not be written.", {},
                static_cast<double>(stats.dropped));
  };
}

}  // namespace vhm::broker
