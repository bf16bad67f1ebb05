#include "hooks/dispatcher.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "util/log.hpp"

#include "hooks/async_action.hpp"
#include "hooks/command_line.hpp"
#include "hooks/json_log_action.hpp"
#include "hooks/process_runner.hpp"
#include "hooks/syslog/syslog_action.hpp"
#include "util/printable.hpp"

extern char** environ;

namespace vhm::hooks {
namespace {

using Clock = std::chrono::steady_clock;

// One published event on its way through its handlers.
struct EventRun {
  Event event;
  std::shared_ptr<const conf::Config> config;  // keeps `handlers` alive
  const std::vector<conf::HookConfig>* handlers = nullptr;
  std::vector<HookResult> results;
  std::vector<std::shared_ptr<RunControl>> controls;  // of command handlers now running
  std::vector<bool> superseded;  // terminate_on_next_event fired: stop, do not start or retry
  std::size_t remaining = 0;     // handlers not finished yet
  EventCompletion done;

  const conf::HookConfig& hook(std::size_t i) const { return (*handlers)[i]; }
};

// One attempt of one handler, waiting for a worker.
struct Task {
  std::shared_ptr<EventRun> run;
  std::size_t index = 0;
  int attempt = 1;
  HookResult last;  // the previous attempt's result, for a retry
  Clock::time_point started{};  // of this attempt
};

// A session's current event and the events waiting for it to finish. Exists
// only while the session has work, so a finished disconnect frees it.
struct SessionQueue {
  std::shared_ptr<EventRun> current;
  std::deque<std::shared_ptr<EventRun>> waiting;
};

// Command hooks need a process slot; webhooks a slot of the network lane,
// held while the request is in flight but without a thread; log and syslog
// actions are quick and run on a thread of their own. All in the same
// per-session order.
enum Lane : std::size_t { process_lane = 0, action_lane = 1, network_lane = 2 };
constexpr std::size_t lane_count = 3;

Lane lane_of(const conf::HookConfig& hook) {
  switch (hook.action) {
    case conf::HookAction::command: return process_lane;
    case conf::HookAction::webhook: return network_lane;
    case conf::HookAction::log:
    case conf::HookAction::syslog: return action_lane;
  }
  return action_lane;
}

struct Completion {
  EventCompletion done;
  EventOutcome outcome;
};

void run_completions(std::vector<Completion>& completions) {
  for (auto& completion : completions) {
    if (!completion.done) continue;
    try {
      completion.done(completion.outcome);
    } catch (const std::exception& e) {
      spdlog::error("hook event completion failed: {}", e.what());
    } catch (...) {
      spdlog::error("hook event completion failed");
    }
  }
  completions.clear();
}

std::string hook_tag(const conf::HookConfig& hook, const Event& event) {
  return "hook " + util::printable(hook.name) + " [session " +
         util::printable(event.session_id()) + "]";
}

HookResult not_run(const conf::HookConfig& hook) {
  HookResult result;
  result.name = hook.name;
  return result;
}

std::string describe(const HookResult& result) {
  if (!result.ran) return "could not be started";
  if (result.timed_out) return "timed out";
  if (result.signal != 0) return "killed by signal " + std::to_string(result.signal);
  return "exit code " + std::to_string(result.exit_code);
}

// 250 ms, 500 ms, 1 s, then 2 s: a transient failure is retried soon, a
// persistent one does not hammer the system.
std::chrono::milliseconds retry_backoff(int attempt) {
  return std::chrono::milliseconds(250 << std::min(attempt - 1, 3));
}

}  // namespace

struct HookDispatcher::Impl {
  using SessionMap = std::unordered_map<std::string, SessionQueue>;

  explicit Impl(std::shared_ptr<const conf::Config> config) : config_(std::move(config)) {
    if (!config_) throw std::invalid_argument("HookDispatcher needs a config");
  }

  unsigned process_limit() const { return std::max(1u, config_->global.max_concurrent_hooks); }
  unsigned webhook_limit() const { return std::max(1u, config_->global.max_concurrent_webhooks); }

  // May this lane start its next task now?
  bool slot_free(Lane lane) const {
    if (lane == process_lane) return processes_running_ < process_limit();
    if (lane == network_lane) return stats_.webhooks_in_flight < webhook_limit();
    return true;
  }

  void start() {
    webhooks_ = make_webhook_sender();
    std::lock_guard lock(mutex_);
    action_worker_ = std::thread([this] { worker(action_lane); });
    network_worker_ = std::thread([this] { worker(network_lane); });
    add_process_workers();
  }

  void set_attempt_observer(AttemptObserver observer) {
    std::lock_guard lock(mutex_);
    observer_ = std::move(observer);
  }

  // Workers are added when a new config raises the limit; a lowered limit is
  // enforced by the slot count, surplus workers just stay idle.
  void add_process_workers() {
    while (process_workers_.size() < process_limit())
      process_workers_.emplace_back([this] { worker(process_lane); });
  }

  void publish(Event event, EventCompletion done) {
    std::vector<Completion> completions;
    std::string drop_reason;
    {
      std::lock_guard lock(mutex_);
      ++stats_.events_published;
      auto session = sessions_.find(event.session_id());
      if (session != sessions_.end()) supersede(session->second);

      const auto& handlers = config_->hooks_for(event.kind);
      const std::size_t limit = config_->global.hook_queue_limit;
      if (!accepting_) {
        drop_reason = "the hook dispatcher is shut down";
      } else if (!handlers.empty() && stats_.queued + handlers.size() > limit) {
        drop_reason = "the hook queue is full (" + std::to_string(stats_.queued) +
                      " runs waiting, limit " + std::to_string(limit) + ")";
      }

      if (!drop_reason.empty()) {
        ++stats_.events_dropped;
        EventOutcome outcome;
        outcome.dropped = true;
        for (const auto& hook : handlers) outcome.results.push_back(not_run(hook));
        completions.push_back({std::move(done), std::move(outcome)});
      } else if (handlers.empty() && session == sessions_.end()) {
        completions.push_back({std::move(done), EventOutcome{}});
      } else {
        auto run = std::make_shared<EventRun>();
        run->config = config_;
        run->handlers = &handlers;
        for (const auto& hook : handlers) run->results.push_back(not_run(hook));
        run->controls.resize(handlers.size());
        run->superseded.resize(handlers.size());
        run->done = std::move(done);
        run->event = std::move(event);
        stats_.queued += handlers.size();
        if (session == sessions_.end())
          session = sessions_.emplace(run->event.session_id(), SessionQueue{}).first;
        session->second.waiting.push_back(std::move(run));
        advance(session, completions);
      }
    }
    if (!drop_reason.empty())  // logged outside the lock: overload must not slow publish()
      spdlog::warn("{} event of session {} dropped: {}", conf::to_string(event.kind),
                   util::printable(event.session_id()), drop_reason);
    run_completions(completions);
  }

  void set_config(std::shared_ptr<const conf::Config> config) {
    if (!config) throw std::invalid_argument("HookDispatcher needs a config");
    std::lock_guard lock(mutex_);
    config_ = std::move(config);
    if (!stopping_workers_) add_process_workers();
    wake_all_lanes();
  }

  void shutdown() {
    std::call_once(shutdown_once_, [this] {
      std::vector<Completion> completions;
      {
        std::lock_guard lock(mutex_);
        accepting_ = false;
        // Waiting retries are abandoned; their last failed attempt stands.
        auto pending = std::move(delayed_);
        delayed_.clear();
        for (auto& [when, task] : pending) {
          --stats_.queued;
          spdlog::info("{} retry cancelled: shutting down",
                       hook_tag(task.run->hook(task.index), task.run->event));
          finish_handler(task.run, task.index, std::move(task.last), completions);
        }
      }
      run_completions(completions);
      {
        std::unique_lock lock(mutex_);
        idle_cv_.wait(lock, [this] { return sessions_.empty(); });
        stopping_workers_ = true;
      }
      wake_all_lanes();
      for (auto& worker : process_workers_)
        if (worker.joinable()) worker.join();
      if (action_worker_.joinable()) action_worker_.join();
      if (network_worker_.joinable()) network_worker_.join();
      if (webhooks_) webhooks_->shutdown();
    });
  }

  DispatcherStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  // terminate_on_next_event: a new event of the session stops such handlers
  // of every earlier event (running ones get SIGTERM, others will not start).
  void supersede(SessionQueue& session) {
    const auto mark = [](EventRun& run) {
      for (std::size_t i = 0; i < run.handlers->size(); ++i) {
        const auto& hook = run.hook(i);
        if (!hook.terminate_on_next_event || hook.action != conf::HookAction::command ||
            run.superseded[i])
          continue;
        run.superseded[i] = true;
        if (run.controls[i]) {
          spdlog::info("{} terminating: the next event of the session arrived",
                       hook_tag(hook, run.event));
          run.controls[i]->request_terminate();
        }
      }
    };
    if (session.current) mark(*session.current);
    for (auto& run : session.waiting) mark(*run);
  }

  // Completes the session's current event if it is done and starts the next
  // waiting one; drops the session's bookkeeping when nothing is left.
  void advance(SessionMap::iterator session, std::vector<Completion>& completions) {
    SessionQueue& queue = session->second;
    for (;;) {
      if (queue.current) {
        if (queue.current->remaining > 0) return;
        completions.push_back({std::move(queue.current->done),
                               EventOutcome{std::move(queue.current->results), false}});
        queue.current.reset();
      }
      if (queue.waiting.empty()) {
        sessions_.erase(session);
        if (sessions_.empty()) idle_cv_.notify_all();
        return;
      }
      queue.current = std::move(queue.waiting.front());
      queue.waiting.pop_front();
      EventRun& run = *queue.current;
      run.remaining = run.handlers->size();
      for (std::size_t i = 0; i < run.handlers->size(); ++i) {
        if (run.superseded[i]) {
          spdlog::info("{} not started: the next event of the session already arrived",
                       hook_tag(run.hook(i), run.event));
          --stats_.queued;
          --run.remaining;
          continue;
        }
        push_ready(Task{queue.current, i, 1, {}});
      }
    }
  }

  void finish_handler(const std::shared_ptr<EventRun>& run, std::size_t index, HookResult result,
                      std::vector<Completion>& completions) {
    result.name = run->hook(index).name;
    run->results[index] = std::move(result);
    run->controls[index].reset();
    if (--run->remaining > 0) return;
    auto session = sessions_.find(run->event.session_id());
    if (session != sessions_.end() && session->second.current == run) advance(session, completions);
  }

  // One task, one wake-up, on its own lane: a busy proxy publishes thousands
  // of events a second, and waking every worker for each was most of the
  // dispatcher's cost (bench/webhooks.sh).
  void push_ready(Task task) {
    const Lane lane = lane_of(task.run->hook(task.index));
    ready_[lane].push_back(std::move(task));
    lane_cv_[lane].notify_one();
  }

  void wake_all_lanes() {
    for (auto& cv : lane_cv_) cv.notify_all();
  }

  void promote_due_retries() {
    const auto now = Clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      Task task = std::move(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
      push_ready(std::move(task));
    }
  }

  void worker(Lane lane) {
    std::unique_lock lock(mutex_);
    std::vector<Completion> completions;
    for (;;) {
      promote_due_retries();
      auto& queue = ready_[lane];
      if (!queue.empty() && slot_free(lane)) {
        Task task = std::move(queue.front());
        queue.pop_front();
        --stats_.queued;
        run_task(std::move(task), lane, lock, completions);
        if (!completions.empty()) {
          lock.unlock();
          run_completions(completions);
          lock.lock();
        }
        continue;
      }
      if (stopping_workers_) return;  // set only once every session is done
      if (!delayed_.empty()) {
        // A copy: wait_until keeps a reference and the entry may go meanwhile.
        const Clock::time_point next_retry = delayed_.begin()->first;
        lane_cv_[lane].wait_until(lock, next_retry);
      } else {
        lane_cv_[lane].wait(lock);
      }
    }
  }

  // Called and returns with `lock` held; runs the hook without it.
  void run_task(Task task, Lane lane, std::unique_lock<std::mutex>& lock,
                std::vector<Completion>& completions) {
    EventRun& run = *task.run;
    const conf::HookConfig& hook = run.hook(task.index);
    if (run.superseded[task.index]) {
      spdlog::info("{} not started: the next event of the session already arrived",
                   hook_tag(hook, run.event));
      finish_handler(task.run, task.index, task.attempt > 1 ? task.last : not_run(hook),
                     completions);
      return;
    }
    task.started = Clock::now();
    if (lane == network_lane) {
      start_async(std::move(task), lock);
      return;
    }
    std::shared_ptr<RunControl> control;
    if (lane == process_lane) {
      ++processes_running_;
      try {
        control = std::make_shared<RunControl>();
      } catch (const std::exception& e) {
        spdlog::warn("{} runs without early termination: {}", hook_tag(hook, run.event), e.what());
      }
      run.controls[task.index] = control;
    }
    ++stats_.running;
    ++stats_.runs_started;
    lock.unlock();

    HookResult result;
    bool terminated = false;
    try {
      if (task.attempt > 1)
        spdlog::info("{} attempt {} of {}", hook_tag(hook, run.event), task.attempt,
                     1 + hook.retries);
      if (hook.action == conf::HookAction::log) {
        result = run_log_action(hook, run.event);
      } else if (hook.action == conf::HookAction::syslog) {
        result = run_syslog_action(hook, run.event);
      } else {
        RunSpec spec;
        spec.hook_name = hook.name;
        spec.session_id = run.event.session_id();
        spec.command = build_command_line(hook, run.event, environ);
        spec.run_as = hook.run_as;
        spec.timeout = hook.timeout;
        spec.kill_grace = run.config->global.kill_grace;
        spec.max_output_lines = run.config->global.hook_output_max_lines;
        RunOutcome outcome = run_process(spec, control.get());
        result = std::move(outcome.result);
        terminated = outcome.terminated;
      }
    } catch (const std::exception& e) {
      spdlog::error("{} failed to run: {}", hook_tag(hook, run.event), e.what());
      result = not_run(hook);
    }

    lock.lock();
    --stats_.running;
    if (lane == process_lane) {
      --processes_running_;
      lane_cv_[process_lane].notify_one();  // a process slot is free
    }
    after_attempt(std::move(task), std::move(result), terminated, completions);
  }

  // A webhook attempt: started without the lock, finished by its callback.
  void start_async(Task task, std::unique_lock<std::mutex>& lock) {
    ++stats_.webhooks_in_flight;
    ++stats_.running;
    ++stats_.runs_started;
    const std::shared_ptr<EventRun> run = task.run;
    const conf::HookConfig& hook = run->hook(task.index);
    if (task.attempt > 1)
      spdlog::info("{} attempt {} of {}", hook_tag(hook, run->event), task.attempt, 1 + hook.retries);
    lock.unlock();
    auto finish = [this, task](HookResult result) mutable {
      std::vector<Completion> completions;
      {
        std::lock_guard relock(mutex_);
        --stats_.webhooks_in_flight;
        --stats_.running;
        lane_cv_[network_lane].notify_one();  // a network slot is free
        after_attempt(std::move(task), std::move(result), false, completions);
      }
      run_completions(completions);
    };
    try {
      webhooks_->start(hook, run->event, std::move(finish));
    } catch (const std::exception& e) {
      // start() threw before taking `done`: the attempt never began.
      spdlog::error("{} failed to start: {}", hook_tag(hook, run->event), e.what());
      std::vector<Completion> completions;
      {
        std::lock_guard relock(mutex_);
        --stats_.webhooks_in_flight;
        --stats_.running;
        lane_cv_[network_lane].notify_one();
        after_attempt(std::move(task), not_run(hook), false, completions);
      }
      run_completions(completions);
    }
    lock.lock();
  }

  void after_attempt(Task task, HookResult result, bool terminated,
                     std::vector<Completion>& completions) {
    const EventRun& run = *task.run;
    const conf::HookConfig& hook = run.hook(task.index);
    if (observer_) {
      try {
        observer_(AttemptReport{hook, result, Clock::now() - task.started, terminated});
      } catch (const std::exception& e) {
        spdlog::error("hook attempt observer failed: {}", e.what());
      }
    }
    // A run stopped on purpose (terminate_on_next_event) is not a failure.
    const bool failed = !result.ok() && !terminated;
    if (failed) ++stats_.runs_failed;
    if (result.timed_out) ++stats_.runs_timed_out;
    const int attempts = 1 + std::max(0, hook.retries);
    if (failed && task.attempt < attempts && !run.superseded[task.index]) {
      if (accepting_) {
        const auto delay = retry_backoff(task.attempt);
        spdlog::warn("{} failed ({}), retrying in {} ms (attempt {} of {})",
                     hook_tag(hook, run.event), describe(result), delay.count(),
                     task.attempt + 1, attempts);
        task.last = std::move(result);
        ++task.attempt;
        ++stats_.queued;
        delayed_.emplace(Clock::now() + delay, std::move(task));
        wake_all_lanes();  // a sooner deadline for the waiting workers
        return;
      }
      spdlog::warn("{} failed ({}), not retried: shutting down", hook_tag(hook, run.event),
                   describe(result));
    }
    finish_handler(task.run, task.index, std::move(result), completions);
  }

  mutable std::mutex mutex_;
  std::condition_variable lane_cv_[lane_count];  // a lane's task, retry or slot became available
  std::condition_variable idle_cv_;  // the last session finished
  std::shared_ptr<const conf::Config> config_;
  SessionMap sessions_;
  std::deque<Task> ready_[lane_count];
  std::multimap<Clock::time_point, Task> delayed_;  // retries waiting for their backoff
  unsigned processes_running_ = 0;
  DispatcherStats stats_;
  bool accepting_ = true;
  bool stopping_workers_ = false;
  std::vector<std::thread> process_workers_;
  std::thread action_worker_;
  std::thread network_worker_;  // starts webhook attempts; their results come back on the sender's thread
  std::unique_ptr<AsyncAction> webhooks_;
  AttemptObserver observer_;
  std::once_flag shutdown_once_;
};

HookDispatcher::HookDispatcher(std::shared_ptr<const conf::Config> config)
    : impl_(std::make_unique<Impl>(std::move(config))) {
  try {
    impl_->start();
  } catch (...) {
    impl_->shutdown();
    throw;
  }
}

HookDispatcher::~HookDispatcher() { shutdown(); }

void HookDispatcher::publish(Event event, EventCompletion done) {
  impl_->publish(std::move(event), std::move(done));
}

void HookDispatcher::set_config(std::shared_ptr<const conf::Config> config) {
  impl_->set_config(std::move(config));
}

void HookDispatcher::shutdown() { impl_->shutdown(); }

DispatcherStats HookDispatcher::stats() const { return impl_->stats(); }

void HookDispatcher::set_attempt_observer(AttemptObserver observer) {
  impl_->set_attempt_observer(std::move(observer));
}

}  // namespace vhm::hooks
