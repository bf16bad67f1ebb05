#pragma once
// Helpers for the hooks tests: temp dirs with /bin/sh scripts, a log sink
// that records spdlog lines, completion latches, configs built in C++.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include "util/log.hpp"

#include "conf/config.hpp"
#include "hooks/event.hpp"
#include "hooks/event_sink.hpp"

namespace vhm::hooks::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/vhm-hooks-test-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    ::chmod(path_.c_str(), 0755);  // run_as tests read scripts as another user
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes an executable "#!/bin/sh" script and returns its absolute path.
  std::string script(const std::string& name, const std::string& body) const {
    const std::string where = file(name);
    std::ofstream(where, std::ios::binary) << "#!/bin/sh\n" << body << "\n";
    ::chmod(where.c_str(), 0755);
    return where;
  }

 private:
  fs::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Polls `condition` until it holds or `limit` passed.
template <typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds limit = 5000ms) {
  const auto end = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Alive means: exists and is neither a zombie nor dead (orphans reparented to
// a PID 1 that does not reap would otherwise look alive).
inline bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return false;
  const char state = text[paren + 2];
  return state != 'Z' && state != 'X';
}

// Records every log line while alive; restores the previous default logger.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    sink_ = std::make_shared<Sink>();
    auto logger = std::make_shared<spdlog::logger>("hooks-test", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const { return sink_->lines(); }
  bool contains(const std::string& text) const {
    for (const auto& line : lines())
      if (line.find(text) != std::string::npos) return true;
    return false;
  }
  std::string all() const {
    std::string text;
    for (const auto& line : lines()) text += line + "\n";
    return text;
  }

 private:
  class Sink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::vector<std::string> lines() {
      std::lock_guard lock(mutex_);
      return lines_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      lines_.emplace_back(msg.payload.data(), msg.payload.size());
    }
    void flush_() override {}

   private:
    std::vector<std::string> lines_;
  };

  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<Sink> sink_;
};

// Collects EventOutcomes by key; completions run on dispatcher threads.
class Outcomes {
 public:
  EventCompletion expect(const std::string& key) {
    return [this, key](const EventOutcome& outcome) {
      std::lock_guard lock(mutex_);
      outcomes_[key] = outcome;
      changed_.notify_all();
    };
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds limit = 10'000ms) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return outcomes_.size() >= count; });
  }
  bool has(const std::string& key) const {
    std::lock_guard lock(mutex_);
    return outcomes_.count(key) != 0;
  }
  EventOutcome get(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = outcomes_.find(key);
    if (it == outcomes_.end()) throw std::runtime_error("no outcome for " + key);
    return it->second;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return outcomes_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, EventOutcome> outcomes_;
};

inline Event make_event(conf::EventKind kind, const std::string& session_id) {
  Event event;
  event.kind = kind;
  event[conf::Field::event] = std::string(conf::to_string(kind));
  event[conf::Field::session_id] = session_id;
  event[conf::Field::timestamp] = "2026-11-23T12:00:00.000Z";
  event[conf::Field::client_ip] = "192.0.2.7";
  event[conf::Field::client_port] = "50123";
  return event;
}

inline conf::HookConfig command_hook(const std::string& name, std::vector<std::string> argv) {
  conf::HookConfig hook;
  hook.name = name;
  hook.action = conf::HookAction::command;
  hook.argv = std::move(argv);
  hook.timeout = 10'000ms;
  return hook;
}

inline conf::HookConfig log_hook(const std::string& name, const std::string& path) {
  conf::HookConfig hook;
  hook.name = name;
  hook.action = conf::HookAction::log;
  hook.path = path;
  return hook;
}

// A config with fast test timings; add hooks with config->events[kind].push_back.
inline std::shared_ptr<conf::Config> make_config(unsigned max_concurrent = 4) {
  auto config = std::make_shared<conf::Config>();
  config->global.max_concurrent_hooks = max_concurrent;
  config->global.kill_grace = 300ms;
  return config;
}

}  // namespace vhm::hooks::test
