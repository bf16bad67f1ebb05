#include "broker/stream_worker.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <unordered_map>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "util/log.hpp"

#include "broker/redis_client.hpp"
#include "hooks/event_json.hpp"
#include "util/printable.hpp"

namespace vhm::broker {

namespace asio = boost::asio;
using boost::system::error_code;
using WorkerClock = std::chrono::steady_clock;

namespace {

constexpr auto worker_first_backoff = std::chrono::milliseconds(200);
constexpr auto worker_max_backoff = std::chrono::milliseconds(5'000);
// One XACK carries at most this many ids (a long backlog in a few commands).
constexpr std::size_t worker_ack_chunk = 1'000;
// Claims run every claim_idle/2, within these bounds.
constexpr auto worker_min_claim_interval = std::chrono::milliseconds(100);
constexpr auto worker_max_claim_interval = std::chrono::milliseconds(30'000);
// The delay recorder's resolution: 1 ms steps up to a minute, then "more".
constexpr std::size_t worker_delay_slots = 60'000;

// "2026-11-30T07:51:24.123Z" (util::iso8601_utc) -> time point; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_event_time(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  char zone = 0;
  if (text.size() != 24 || std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &year, &month, &day, &hour,
                                       &minute, &second, &millis, &zone) != 8 || zone != 'Z')
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = ::timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

// Field `name` of an entry's [field, value, ...] array; nullptr when absent.
const std::string* entry_field(const RedisReply& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    const auto key = fields.elements[i].as_text();
    if (key && *key == name && fields.elements[i + 1].type == RedisReply::Type::string)
      return &fields.elements[i + 1].text;
  }
  return nullptr;
}

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

std::string default_consumer_name(const conf::BrokerConfig& config) {
  if (!config.consumer.empty()) return config.consumer;
  return (config.host_name.empty() ? std::string("worker") : config.host_name) + "-" + std::to_string(::getpid());
}

std::size_t in_flight_limit_for(const conf::Config& config) {
  std::size_t most = 1;
  for (const auto& [kind, hooks] : config.events) most = std::max(most, hooks.size());
  return std::max<std::size_t>(1, config.global.hook_queue_limit / most);
}

struct StreamWorker::Impl {
  Impl(asio::any_io_executor executor, conf::BrokerConfig settings, hooks::EventSink& sink, StreamWorkerOptions opts)
      : executor(executor),
        config(std::move(settings)),
        hooks(sink),
        options(opts),
        consumer(default_consumer_name(config)),
        reader(executor, config.redis, "worker"),
        control(executor, config.redis, "worker acks"),
        reader_wake(executor),
        control_wake(executor),
        reader_backoff(executor),
        control_backoff(executor),
        delay_slots(worker_delay_slots + 1, 0) {
    in_flight_limit = std::max<std::size_t>(1, options.in_flight_limit);
    // A blocked read must come back before the client's command_timeout
    // calls the connection dead; BLOCK 0 would mean "for ever".
    options.block = std::clamp(options.block, std::chrono::milliseconds(1),
                               std::max(std::chrono::milliseconds(1), config.redis.command_timeout / 2));
    claim_interval = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(config.claim_idle / 2),
                                worker_min_claim_interval, worker_max_claim_interval);
    if (options.registry) {
      auto& registry = *options.registry;
      const auto entries = [&](const char* outcome, const char* help) -> metrics::Counter& {
        return registry.counter("vnc_hooks_manager_worker_entries_total", help, {{"outcome", outcome}});
      };
      read_counter = &entries("read", "Stream entries by what happened to them in this worker");
      claimed_counter = &entries("claimed", "");
      acked_counter = &entries("acked", "");
      malformed_counter = &entries("malformed", "");
      requeued_counter = &entries("requeued", "");
      static const std::vector<double> delay_buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                        0.25,  0.5,    1,     2.5,  5,     10,   60};
      const char* help = "Time from an event (its timestamp on the proxy) to this worker: received, or all hooks finished";
      received_delay = &registry.histogram("vnc_hooks_manager_worker_event_delay_seconds", help, delay_buckets,
                                           {{"stage", "received"}});
      done_delay = &registry.histogram("vnc_hooks_manager_worker_event_delay_seconds", help, delay_buckets,
                                       {{"stage", "hooks_done"}});
    }
  }

  struct Running {
    WorkerClock::time_point since;                                  // delivered (or last re-claimed) here
    std::optional<std::chrono::system_clock::time_point> event_time;  // for the delay
  };

  asio::any_io_executor executor;
  conf::BrokerConfig config;
  hooks::EventSink& hooks;
  StreamWorkerOptions options;
  std::string consumer;
  RedisClient reader;
  RedisClient control;
  asio::steady_timer reader_wake;   // the reader waits on it for room (or its backoff)
  asio::steady_timer control_wake;  // the control loop waits on it for acks, claims, stop
  asio::steady_timer reader_backoff;   // waits after a failure: cut short by stop() only
  asio::steady_timer control_backoff;
  std::size_t in_flight_limit = 1;
  std::chrono::milliseconds claim_interval{};
  std::string claim_cursor = "0-0";

  std::unordered_map<std::string, Running> running;  // entry id -> its run
  std::vector<std::string> acks;                     // finished, to acknowledge
  bool stopping = false;
  bool reader_done = false;
  WorkerClock::time_point drain_deadline{};
  bool redis_up = false;
  bool down_logged = false;
  WorkerStats counts;
  std::vector<std::uint64_t> delay_slots;

  metrics::Counter* read_counter = nullptr;
  metrics::Counter* claimed_counter = nullptr;
  metrics::Counter* acked_counter = nullptr;
  metrics::Counter* malformed_counter = nullptr;
  metrics::Counter* requeued_counter = nullptr;
  metrics::Histogram* received_delay = nullptr;
  metrics::Histogram* done_delay = nullptr;

  static void bump(metrics::Counter* counter, std::uint64_t n = 1) {
    if (counter) counter->inc(n);
  }

  asio::awaitable<void> sleep(asio::steady_timer& timer, std::chrono::milliseconds duration) {
    timer.expires_after(duration);
    error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }

  void note_up() {
    redis_up = true;
    if (!down_logged) return;
    down_logged = false;
    spdlog::info("worker: Redis at {} is back; consuming {} as {}/{}", reader.address(), config.stream, config.group,
                 consumer);
  }

  void note_down(const std::string& why) {
    const bool was_up = redis_up;
    redis_up = false;
    if (down_logged) return;
    down_logged = true;
    spdlog::warn("worker: Redis is {} ({}); retrying with backoff", was_up ? "down" : "unreachable", why);
  }

  void record_delay(std::chrono::system_clock::time_point event_time, metrics::Histogram* histogram, bool keep) {
    const auto delay = std::chrono::system_clock::now() - event_time;
    const double seconds = std::max(0.0, std::chrono::duration<double>(delay).count());
    if (histogram) histogram->observe(seconds);
    if (!keep) return;
    const auto ms = static_cast<std::size_t>(seconds * 1000.0);
    ++delay_slots[std::min(ms, worker_delay_slots)];
    ++counts.delay_samples;
  }

  std::optional<double> delay_percentile(double q) const {
    if (counts.delay_samples == 0) return std::nullopt;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(counts.delay_samples - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t ms = 0; ms < delay_slots.size(); ++ms) {
      seen += delay_slots[ms];
      if (seen >= rank) return static_cast<double>(ms);
    }
    return static_cast<double>(worker_delay_slots);
  }

  // --- entries -------------------------------------------------------------

  void acknowledge(std::string id) {
    acks.push_back(std::move(id));
    control_wake.cancel();
  }

  void take_entry(const RedisReply& entry, bool claimed) {
    if (entry.type != RedisReply::Type::array || entry.elements.empty()) return;
    const auto id_text = entry.elements[0].as_text();
    if (!id_text) return;
    std::string id(*id_text);
    if (running.count(id)) return;  // our own slow entry, claimed back: it is running here
    ++(claimed ? counts.claimed : counts.read);
    bump(claimed ? claimed_counter : read_counter);

    const RedisReply* fields = entry.elements.size() > 1 ? &entry.elements[1] : nullptr;
    const std::string* json = fields ? entry_field(*fields, "json") : nullptr;
    std::string error;
    std::optional<hooks::Event> event;
    if (!json)
      error = fields && fields->type == RedisReply::Type::array ? "no json field" : "the entry was deleted";
    else
      event = hooks::event_from_json(*json, error);
    if (!event) {
      const std::string* host = fields ? entry_field(*fields, "host") : nullptr;
      spdlog::warn("worker: stream entry {} (from {}) is malformed: {}; acknowledged without running hooks",
                   util::printable(id), host ? util::printable(*host) : std::string("unknown host"), error);
      ++counts.malformed;
      bump(malformed_counter);
      acknowledge(std::move(id));
      return;
    }
    Running run{WorkerClock::now(), parse_event_time((*event)[conf::Field::timestamp])};
    if (run.event_time) record_delay(*run.event_time, received_delay, false);
    running.emplace(id, run);
    if (claimed)
      spdlog::info("worker: claimed {} event of session {} (entry {}) left pending by another worker",
                   conf::to_string(event->kind), util::printable(event->session_id()), util::printable(id));
    // The completion runs on a dispatcher thread (or at once): back to ours.
    hooks.publish(std::move(*event), [this, id](const hooks::EventOutcome& outcome) mutable {
      const bool dropped = outcome.dropped;
      asio::post(executor, [this, id = std::move(id), dropped]() mutable { finished(std::move(id), dropped); });
    });
  }

  void finished(std::string id, bool dropped) {
    auto it = running.find(id);
    if (it == running.end()) return;
    const Running run = it->second;
    running.erase(it);
    reader_wake.cancel();  // room to read again
    if (dropped) {
      // Not acknowledged: it stays pending and is claimed again after claim_idle.
      ++counts.requeued;
      bump(requeued_counter);
      spdlog::warn("worker: entry {} left pending (the hook queue was full); it is claimed again after {} ms",
                   util::printable(id), config.claim_idle.count());
      control_wake.cancel();
      return;
    }
    ++counts.finished;
    if (run.event_time) record_delay(*run.event_time, done_delay, true);
    acknowledge(std::move(id));
  }

  void take_entries(const RedisReply& list, bool claimed) {
    if (list.type != RedisReply::Type::array) return;
    for (const auto& entry : list.elements) take_entry(entry, claimed);
  }

  // --- the reader: XREADGROUP ----------------------------------------------

  asio::awaitable<bool> create_group() {
    error_code ec;
    Command create{"XGROUP", "CREATE", config.stream, config.group, "0", "MKSTREAM"};
    const auto reply = co_await reader.command(std::move(create), ec);
    if (ec) {
      note_down(reader.last_error());
      co_return false;
    }
    if (reply.is_error() && !starts_with(reply.text, "BUSYGROUP")) {
      spdlog::error("worker: cannot create consumer group {} on {}: {}", config.group, config.stream, reply.text);
      co_return false;
    }
    if (!reply.is_error())
      spdlog::info("worker: created consumer group {} on {} (from the stream's first entry)", config.group,
                   config.stream);
    co_return true;
  }

  asio::awaitable<void> read_loop() {
    auto backoff = worker_first_backoff;
    bool group_ready = false;
    const auto failed = [&]() -> asio::awaitable<void> {
      co_await sleep(reader_backoff, backoff);
      backoff = std::min(backoff * 2, worker_max_backoff);
    };
    while (!stopping) {
      if (running.size() >= in_flight_limit) {
        co_await sleep(reader_wake, std::chrono::seconds(1));  // cancelled when an entry finishes
        continue;
      }
      if (!group_ready) {
        group_ready = co_await create_group();
        if (!group_ready) {
          co_await failed();
          continue;
        }
      }
      const std::size_t count = std::min(config.batch, in_flight_limit - running.size());
      error_code ec;
      // Built first: a braced list inside co_await trips GCC 12.
      Command read{"XREADGROUP", "GROUP", config.group, consumer, "COUNT", std::to_string(count),
                   "BLOCK", std::to_string(options.block.count()), "STREAMS", config.stream, ">"};
      const auto reply = co_await reader.command(std::move(read), ec);
      if (ec) {
        if (stopping) break;
        note_down(reader.last_error());
        co_await failed();
        continue;
      }
      if (reply.is_error()) {
        // NOGROUP: Redis lost the group (restarted without its data): make it again.
        if (starts_with(reply.text, "NOGROUP")) {
          group_ready = false;
          spdlog::warn("worker: consumer group {} is gone from {}; creating it again", config.group, config.stream);
        } else {
          spdlog::error("worker: XREADGROUP failed: {}", reply.text);
        }
        co_await failed();
        continue;
      }
      note_up();
      backoff = worker_first_backoff;
      // [[stream, [entry, ...]]], or nil when BLOCK passed without entries.
      if (reply.type == RedisReply::Type::array)
        for (const auto& stream : reply.elements)
          if (stream.elements.size() == 2) take_entries(stream.elements[1], false);
    }
    reader_done = true;
    control_wake.cancel();
  }

  // --- the control connection: XACK, XAUTOCLAIM, XCLAIM ------------------

  asio::awaitable<bool> send_acks() {
    const std::size_t n = std::min(acks.size(), worker_ack_chunk);
    Command command{"XACK", config.stream, config.group};
    command.insert(command.end(), std::make_move_iterator(acks.begin()), std::make_move_iterator(acks.begin() + n));
    acks.erase(acks.begin(), acks.begin() + n);
    error_code ec;
    const auto reply = co_await control.command(command, ec);
    if (ec || reply.is_error()) {
      // Keep them for the next try (an XACK of an acknowledged id is harmless).
      acks.insert(acks.begin(), std::make_move_iterator(command.begin() + 3), std::make_move_iterator(command.end()));
      if (ec) note_down(control.last_error());
      else spdlog::error("worker: XACK failed: {}", reply.text);
      co_return false;
    }
    counts.acked += n;
    bump(acked_counter, n);
    co_return true;
  }

  // Keeps this worker's long runs its own, then takes over entries other
  // consumers left idle longer than claim_idle.
  asio::awaitable<bool> claim() {
    const auto now = WorkerClock::now();
    Command touch{"XCLAIM", config.stream, config.group, consumer, "0"};
    for (auto& [id, run] : running)
      if (now - run.since > config.claim_idle / 2) {
        touch.push_back(id);
        run.since = now;
      }
    error_code ec;
    if (touch.size() > 5) {
      touch.push_back("JUSTID");
      const auto reply = co_await control.command(touch, ec);
      if (ec) {
        note_down(control.last_error());
        co_return false;
      }
    }
    if (stopping || running.size() >= in_flight_limit) co_return true;
    const std::size_t count = std::min(config.batch, in_flight_limit - running.size());
    Command autoclaim{"XAUTOCLAIM", config.stream, config.group, consumer,
                      std::to_string(config.claim_idle.count()), claim_cursor, "COUNT", std::to_string(count)};
    const auto reply = co_await control.command(std::move(autoclaim), ec);
    if (ec) {
      note_down(control.last_error());
      co_return false;
    }
    if (reply.is_error()) {
      if (!starts_with(reply.text, "NOGROUP")) spdlog::error("worker: XAUTOCLAIM failed: {}", reply.text);
      co_return true;  // the reader makes the group again
    }
    // [next cursor, [entry, ...], [deleted id, ...]]
    if (reply.type != RedisReply::Type::array || reply.elements.size() < 2) co_return true;
    if (auto cursor = reply.elements[0].as_text()) claim_cursor = std::string(*cursor);
    take_entries(reply.elements[1], true);
    co_return true;
  }

  asio::awaitable<void> control_loop() {
    auto backoff = worker_first_backoff;
    auto next_claim = WorkerClock::now();
    for (;;) {
      const auto now = WorkerClock::now();
      bool ok = true;
      if (!acks.empty()) {
        ok = co_await send_acks();
      } else if (stopping && (reader_done && running.empty())) {
        break;
      } else if (stopping && now >= drain_deadline) {
        break;
      } else if (!stopping && now >= next_claim) {
        ok = co_await claim();
        next_claim = WorkerClock::now() + claim_interval;
      } else {
        auto until = stopping ? drain_deadline : next_claim;
        control_wake.expires_at(until);
        error_code ignored;
        co_await control_wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        continue;
      }
      if (ok) {
        if (control.connected()) note_up();
        backoff = worker_first_backoff;
        continue;
      }
      if (stopping && WorkerClock::now() >= drain_deadline) break;
      co_await sleep(control_backoff, backoff);
      backoff = std::min(backoff * 2, worker_max_backoff);
    }
  }
};

StreamWorker::StreamWorker(asio::any_io_executor executor, conf::BrokerConfig config, hooks::EventSink& hooks,
                           StreamWorkerOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(config), hooks, options)) {}

StreamWorker::~StreamWorker() = default;

asio::awaitable<bool> StreamWorker::run() {
  using namespace asio::experimental::awaitable_operators;
  Impl& self = *impl_;
  spdlog::info("worker: consuming {} as {}/{} ({} at a time, up to {} in flight; claiming entries idle for {} ms)",
               self.config.stream, self.config.group, self.consumer, self.config.batch, self.in_flight_limit,
               self.config.claim_idle.count());
  co_await (self.read_loop() && self.control_loop());
  self.reader.close();
  self.control.close();
  if (!self.running.empty() || !self.acks.empty()) {
    spdlog::warn("worker: {} entr{} still running and {} not acknowledged at shutdown: they stay pending and "
                 "another worker claims them after {} ms",
                 self.running.size(), self.running.size() == 1 ? "y" : "ies", self.acks.size(),
                 self.config.claim_idle.count());
    co_return false;
  }
  co_return true;
}

void StreamWorker::stop(std::chrono::milliseconds drain) {
  if (impl_->stopping) return;
  impl_->stopping = true;
  impl_->drain_deadline = WorkerClock::now() + drain;
  impl_->reader_wake.cancel();
  impl_->control_wake.cancel();
  impl_->reader_backoff.cancel();
  impl_->control_backoff.cancel();
}

void StreamWorker::set_in_flight_limit(std::size_t limit) {
  impl_->in_flight_limit = std::max<std::size_t>(1, limit);
  impl_->reader_wake.cancel();
}

const std::string& StreamWorker::consumer() const { return impl_->consumer; }

WorkerStats StreamWorker::stats() const {
  WorkerStats stats = impl_->counts;
  stats.in_flight = impl_->running.size();
  stats.acks_waiting = impl_->acks.size();
  stats.redis_up = impl_->redis_up;
  stats.delay_p50_ms = impl_->delay_percentile(0.50);
  stats.delay_p99_ms = impl_->delay_percentile(0.99);
  return stats;
}

}  // namespace vhm::broker
