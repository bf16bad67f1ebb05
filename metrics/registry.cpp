#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "metrics/text_format.hpp"

namespace vhm::metrics {

void Gauge::add(double delta) {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end() ||
      std::any_of(bounds_.begin(), bounds_.end(), [](double b) { return !std::isfinite(b); })) {
    throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
  }
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;  // would poison the sum forever
  // Bucket `le` holds values <= its bound: the first bound not below the value.
  const auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.upper_bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative.push_back(running);
  }
  snap.sum = sum_.load(std::memory_order_relaxed);
  // The count is the +Inf bucket, so a render racing an observe() stays consistent.
  snap.count = running;
  return snap;
}

namespace {

enum class FamilyType { counter, gauge, histogram };

std::string_view type_name(FamilyType type) {
  switch (type) {
    case FamilyType::counter: return "counter";
    case FamilyType::gauge: return "gauge";
    case FamilyType::histogram: return "histogram";
  }
  return "untyped";
}

struct Instrument {
  Labels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
};

struct Family {
  FamilyType type;
  std::string help;
  std::vector<double> bounds;                 // histograms
  std::map<std::string, Instrument> members;  // by rendered label set
};

// One family as it is rendered: sample lines keyed by label set, so values
// written for the same labels (an instrument and collectors) add up.
struct OutFamily {
  FamilyType type;
  std::string help;
  std::map<std::string, double> values;     // counter, gauge: label text -> value
  std::map<std::string, std::string> text;  // histogram: label text -> its lines
};
using OutFamilies = std::map<std::string, OutFamily, std::less<>>;

void check_names(std::string_view name, const Labels& labels, bool histogram) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + std::string(name));
  for (const auto& [label, value] : labels) {
    if (!valid_label_name(label) || (histogram && label == "le")) {
      throw std::invalid_argument("invalid label name for " + std::string(name) + ": " + label);
    }
  }
}

class OutWriter final : public SampleWriter {
 public:
  explicit OutWriter(OutFamilies& out) : out_(out) {}
  void counter(std::string_view name, std::string_view help, const Labels& labels, double value) override {
    add(FamilyType::counter, name, help, labels, value);
  }
  void gauge(std::string_view name, std::string_view help, const Labels& labels, double value) override {
    add(FamilyType::gauge, name, help, labels, value);
  }

 private:
  void add(FamilyType type, std::string_view name, std::string_view help, const Labels& labels, double value) {
    if (!valid_metric_name(name)) return;  // a collector's bug must not break the whole page
    if (std::any_of(labels.begin(), labels.end(), [](const auto& l) { return !valid_label_name(l.first); })) return;
    auto it = out_.find(name);
    if (it == out_.end()) it = out_.emplace(std::string(name), OutFamily{type, std::string(help), {}, {}}).first;
    if (it->second.type != type) return;  // first writer of a name fixes its type
    it->second.values[format_labels(labels)] += value;
  }
  OutFamilies& out_;
};

std::string histogram_lines(const std::string& name, const Labels& labels, const Histogram::Snapshot& snap) {
  std::string lines;
  for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
    const std::pair<std::string, std::string> le{
        "le", i < snap.upper_bounds.size() ? format_value(snap.upper_bounds[i]) : "+Inf"};
    lines += name + "_bucket" + format_labels(labels, &le) + ' ' + std::to_string(snap.cumulative[i]) + '\n';
  }
  const auto label_text = format_labels(labels);
  lines += name + "_sum" + label_text + ' ' + format_value(snap.sum) + '\n';
  lines += name + "_count" + label_text + ' ' + std::to_string(snap.count) + '\n';
  return lines;
}

}  // namespace

struct Registry::Impl {
  mutable std::mutex instruments_mutex;
  std::map<std::string, Family, std::less<>> families;
  mutable std::mutex collectors_mutex;  // held while collectors run: remove_collector waits for a render
  std::map<int, Collector> collectors;
  int next_collector_id = 1;

  Instrument& find_or_add(FamilyType type, std::string_view name, std::string_view help,
                          const std::vector<double>& bounds, const Labels& labels) {
    check_names(name, labels, type == FamilyType::histogram);
    auto family = families.find(name);
    if (family == families.end()) {
      family = families.emplace(std::string(name), Family{type, std::string(help), bounds, {}}).first;
    } else if (family->second.type != type) {
      throw std::logic_error("metric " + std::string(name) + " is a " + std::string(type_name(family->second.type)) +
                             ", not a " + std::string(type_name(type)));
    }
    auto& members = family->second.members;
    auto key = format_labels(labels);
    auto member = members.find(key);
    if (member != members.end()) return member->second;
    Instrument instrument{labels, nullptr, nullptr, nullptr};
    switch (type) {
      case FamilyType::counter: instrument.counter = std::make_unique<Counter>(); break;
      case FamilyType::gauge: instrument.gauge = std::make_unique<Gauge>(); break;
      case FamilyType::histogram: instrument.histogram = std::make_unique<Histogram>(family->second.bounds); break;
    }
    return members.emplace(std::move(key), std::move(instrument)).first->second;
  }

  void snapshot_instruments(OutFamilies& out) const {
    std::lock_guard lock(instruments_mutex);
    for (const auto& [name, family] : families) {
      auto& target = out.emplace(name, OutFamily{family.type, family.help, {}, {}}).first->second;
      for (const auto& [key, instrument] : family.members) {
        if (instrument.counter) target.values[key] += static_cast<double>(instrument.counter->value());
        if (instrument.gauge) target.values[key] += instrument.gauge->value();
        if (instrument.histogram) target.text[key] = histogram_lines(name, instrument.labels, instrument.histogram->snapshot());
      }
    }
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(impl_->instruments_mutex);
  return *impl_->find_or_add(FamilyType::counter, name, help, {}, labels).counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(impl_->instruments_mutex);
  return *impl_->find_or_add(FamilyType::gauge, name, help, {}, labels).gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, const std::vector<double>& upper_bounds,
                               const Labels& labels) {
  std::lock_guard lock(impl_->instruments_mutex);
  return *impl_->find_or_add(FamilyType::histogram, name, help, upper_bounds, labels).histogram;
}

int Registry::add_collector(Collector collector) {
  std::lock_guard lock(impl_->collectors_mutex);
  const int id = impl_->next_collector_id++;
  impl_->collectors.emplace(id, std::move(collector));
  return id;
}

void Registry::remove_collector(int id) {
  std::lock_guard lock(impl_->collectors_mutex);
  impl_->collectors.erase(id);
}

std::string Registry::render() const {
  OutFamilies out;
  impl_->snapshot_instruments(out);  // first, and unlocked again: a collector may create instruments
  {
    std::lock_guard lock(impl_->collectors_mutex);
    OutWriter writer(out);
    for (const auto& [id, collector] : impl_->collectors) collector(writer);
  }
  std::string page;
  for (const auto& [name, family] : out) {
    if (family.values.empty() && family.text.empty()) continue;
    page += "# HELP " + name + ' ' + escape_help(family.help) + '\n';
    page += "# TYPE " + name + ' ' + std::string(type_name(family.type)) + '\n';
    for (const auto& [labels, value] : family.values) page += name + labels + ' ' + format_value(value) + '\n';
    for (const auto& [labels, lines] : family.text) page += lines;
  }
  return page;
}

ScopedCollector::ScopedCollector(Registry& registry, Registry::Collector collector)
    : registry_(&registry), id_(registry.add_collector(std::move(collector))) {}

ScopedCollector::ScopedCollector(ScopedCollector&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}

ScopedCollector& ScopedCollector::operator=(ScopedCollector&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void ScopedCollector::reset() {
  if (registry_ != nullptr) registry_->remove_collector(id_);
  registry_ = nullptr;
}

Registry& global_registry() {
  static Registry registry;
  return registry;
}

const std::vector<double>& session_duration_buckets() {
  static const std::vector<double> buckets{1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400};
  return buckets;
}

const std::vector<double>& hook_duration_buckets() {
  static const std::vector<double> buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return buckets;
}

}  // namespace vhm::metrics
