#pragma once
// Internal to the loader: typed, problem-collecting access to a yaml-cpp tree.
// Every reader records what it did not like as a ConfigProblem (file, line,
// dotted key) and carries on, so one pass reports every problem. A mapping is
// read through MapReader, which remembers which keys were asked for and reports
// the rest as unknown: the list of known keys is the code that reads them.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config_loader.hpp"

namespace vhm::conf {

class ProblemList {
 public:
  explicit ProblemList(std::string file) : file_(std::move(file)) {}
  void add(int line, std::string key, std::string message) {
    items_.push_back({file_, line, std::move(key), std::move(message)});
  }
  // A problem of another origin (the command line), kept as it is.
  void add(ConfigProblem problem) { items_.push_back(std::move(problem)); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  std::vector<ConfigProblem> take() { return std::move(items_); }

 private:
  std::string file_;
  std::vector<ConfigProblem> items_;
};

// 1-based line of a node, 0 when yaml-cpp does not know it.
int line_of(const YAML::Node& node);

// A value together with its dotted key path and the line to report it at.
struct Entry {
  YAML::Node node;
  std::string key;
  int line = 0;
};

// "a mapping", "a list", "a string", "nothing": for "expected X, got Y".
std::string describe_type(const YAML::Node& node);
// A scalar quoted for a message, escaped and shortened.
std::string quote_value(std::string_view text);

class MapReader {
 public:
  // A null node reads as an empty mapping; anything else but a mapping is a problem.
  MapReader(const Entry& map, ProblemList& problems);

  bool ok() const { return ok_; }
  const Entry& self() const { return self_; }
  std::string key_path(std::string_view key) const;

  // The value under `key`, if present; the key becomes known.
  std::optional<Entry> take(std::string_view key);
  bool has(std::string_view key) const;
  // If `key` is present, report `message` at it (a key that does not belong here).
  void reject(std::string_view key, const std::string& message);
  // Marks every remaining key as handled without reporting it.
  void ignore_rest();
  // Reports every key never taken: unknown <noun> "x" (known: a, b, c).
  void finish(std::string_view noun = "key");

 private:
  struct Item {
    std::string key;
    YAML::Node value;
    int line = 0;
    bool used = false;
  };
  Item* find(std::string_view key);
  const Item* find(std::string_view key) const;

  ProblemList& problems_;
  Entry self_;
  bool ok_ = true;
  std::vector<Item> items_;
  std::vector<std::string> known_;
};

// The items of a list (a null node is an empty list), each with "key[i]".
std::vector<Entry> read_list(const Entry& entry, ProblemList& problems, std::string_view what);

std::optional<std::string> read_string(const Entry& entry, ProblemList& problems);
// A string that must not be empty.
std::optional<std::string> read_nonempty_string(const Entry& entry, ProblemList& problems);
// The largest count or limit a config may set: larger than any real
// deployment, small enough that no arithmetic on it can overflow.
inline constexpr std::int64_t max_limit = 1'000'000'000;

std::optional<std::int64_t> read_integer(const Entry& entry, ProblemList& problems, std::int64_t min,
                                         std::int64_t max);
std::optional<bool> read_bool(const Entry& entry, ProblemList& problems);
// conf/duration.hpp syntax; a plain YAML number is seconds.
std::optional<std::chrono::milliseconds> read_duration(const Entry& entry, ProblemList& problems);
// A duration that must be whole seconds (fields stored as std::chrono::seconds).
std::optional<std::chrono::seconds> read_whole_seconds(const Entry& entry, ProblemList& problems);

}  // namespace vhm::conf
