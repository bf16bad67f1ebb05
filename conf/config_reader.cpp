#include "conf/config_reader.hpp"

#include <charconv>

#include "conf/duration.hpp"
#include "util/printable.hpp"

namespace vhm::conf {

int line_of(const YAML::Node& node) {
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : 0;
}

std::string describe_type(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return quote_value(node.Scalar());
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::string quote_value(std::string_view text) { return "\"" + util::printable(text, 200) + "\""; }

MapReader::MapReader(const Entry& map, ProblemList& problems) : problems_(problems), self_(map) {
  if (map.node.IsNull()) return;
  if (!map.node.IsMap()) {
    problems_.add(map.line, map.key, "expected a mapping (key: value lines), got " + describe_type(map.node));
    ok_ = false;
    return;
  }
  for (const auto& pair : map.node) {  // yaml-cpp yields each pair by value
    const YAML::Node key = pair.first;
    const int line = line_of(key);
    if (!key.IsScalar()) {
      problems_.add(line, self_.key, "keys must be plain names, got " + describe_type(key));
      continue;
    }
    if (const Item* first = find(key.Scalar())) {
      problems_.add(line, key_path(key.Scalar()),
                    "duplicate key (first at line " + std::to_string(first->line) + ")");
      continue;
    }
    items_.push_back({key.Scalar(), pair.second, line, false});
  }
}

std::string MapReader::key_path(std::string_view key) const {
  return self_.key.empty() ? std::string(key) : self_.key + "." + std::string(key);
}

MapReader::Item* MapReader::find(std::string_view key) {
  for (auto& item : items_)
    if (item.key == key) return &item;
  return nullptr;
}

const MapReader::Item* MapReader::find(std::string_view key) const {
  for (const auto& item : items_)
    if (item.key == key) return &item;
  return nullptr;
}

std::optional<Entry> MapReader::take(std::string_view key) {
  known_.emplace_back(key);
  Item* item = find(key);
  if (item == nullptr) return std::nullopt;
  item->used = true;
  // Report at the key's line: a null value's mark points past it, an alias's
  // mark at its anchor.
  return Entry{item->value, key_path(key), item->line};
}

bool MapReader::has(std::string_view key) const { return find(key) != nullptr; }

void MapReader::reject(std::string_view key, const std::string& message) {
  Item* item = find(key);
  if (item == nullptr) return;
  item->used = true;
  problems_.add(item->line, key_path(key), message);
}

void MapReader::ignore_rest() {
  for (auto& item : items_) item.used = true;
}

void MapReader::finish(std::string_view noun) {
  std::string known;
  for (const auto& name : known_) known += (known.empty() ? "" : ", ") + name;
  for (auto& item : items_) {
    if (item.used) continue;
    item.used = true;
    problems_.add(item.line, key_path(item.key),
                  "unknown " + std::string(noun) + " " + quote_value(item.key) + " (known: " + known + ")");
  }
}

std::vector<Entry> read_list(const Entry& entry, ProblemList& problems, std::string_view what) {
  std::vector<Entry> items;
  if (entry.node.IsNull()) return items;
  if (!entry.node.IsSequence()) {
    problems.add(entry.line, entry.key,
                 "expected a list of " + std::string(what) + " (lines starting with '- '), got " +
                     describe_type(entry.node));
    return items;
  }
  std::size_t index = 0;
  for (const auto& node : entry.node) {
    // yaml-cpp marks an empty item ("-" alone) past its line: use the list's.
    const int line = node.IsNull() ? 0 : line_of(node);
    items.push_back({node, entry.key + "[" + std::to_string(index++) + "]", line > 0 ? line : entry.line});
  }
  return items;
}

std::optional<std::string> read_string(const Entry& entry, ProblemList& problems) {
  if (!entry.node.IsScalar()) {
    problems.add(entry.line, entry.key, "expected a value, got " + describe_type(entry.node));
    return std::nullopt;
  }
  return entry.node.Scalar();
}

std::optional<std::string> read_nonempty_string(const Entry& entry, ProblemList& problems) {
  auto text = read_string(entry, problems);
  if (text && text->empty()) {
    problems.add(entry.line, entry.key, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<std::int64_t> read_integer(const Entry& entry, ProblemList& problems, std::int64_t min,
                                         std::int64_t max) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  if (begin != end && *begin == '+') ++begin;
  const auto [stop, ec] = std::from_chars(begin, end, value);
  if (begin == end || stop != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    problems.add(entry.line, entry.key, "expected a whole number, got " + quote_value(*text));
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    const std::string range = min == 1 ? "must be at least 1" : "must be at least " + std::to_string(min);
    problems.add(entry.line, entry.key,
                 range + " and at most " + std::to_string(max) + ", got " + quote_value(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> read_bool(const Entry& entry, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "True" || *text == "TRUE") return true;
  if (*text == "false" || *text == "False" || *text == "FALSE") return false;
  problems.add(entry.line, entry.key, "expected true or false, got " + quote_value(*text));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> read_duration(const Entry& entry, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  std::string error;
  auto duration = parse_duration(*text, error);
  if (!duration) problems.add(entry.line, entry.key, error + ", got " + quote_value(*text));
  return duration;
}

std::optional<std::chrono::seconds> read_whole_seconds(const Entry& entry, ProblemList& problems) {
  const auto duration = read_duration(entry, problems);
  if (!duration) return std::nullopt;
  if (duration->count() % 1000 != 0) {
    problems.add(entry.line, entry.key,
                 "must be a whole number of seconds, got " + quote_value(entry.node.Scalar()));
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*duration);
}

}  // namespace vhm::conf
