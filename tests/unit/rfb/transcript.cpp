#include "transcript.hpp"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace vhm::rfb::test {

void Transcript::add(Direction direction, const Bytes& bytes) {
  if (!segments.empty() && segments.back().direction == direction) {
    segments.back().bytes.insert(segments.back().bytes.end(), bytes.begin(), bytes.end());
  } else {
    segments.push_back({direction, bytes});
  }
}

void Transcript::add(Direction direction, std::string_view value) { add(direction, text(value)); }

Bytes u8(unsigned value) { return {static_cast<std::uint8_t>(value)}; }
Bytes u16(unsigned value) { return {static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)}; }
Bytes u32(std::uint32_t value) {
  return {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
          static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
}
Bytes text(std::string_view value) { return Bytes(value.begin(), value.end()); }
Bytes rfb_string(std::string_view value) { return cat(u32(static_cast<std::uint32_t>(value.size())), text(value)); }
Bytes zeros(std::size_t n) { return Bytes(n, 0); }

Bytes server_init(std::uint16_t width, std::uint16_t height, std::string_view name) {
  // 32 bpp, depth 24, little endian, true colour, 255/255/255, shifts 16/8/0.
  const Bytes pixel_format = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
  return cat(u16(width), u16(height), pixel_format, rfb_string(name));
}

Bytes capability(std::uint32_t code, std::string_view vendor, std::string_view signature) {
  Bytes out = u32(code);
  Bytes v = text(vendor), s = text(signature);
  v.resize(4, '_');
  s.resize(8, '_');
  return cat(out, v, s);
}

Transcript load_transcript(const std::string& name) {
  const std::string path = std::string(VHM_TEST_DATA_DIR) + "/rfb/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  Transcript t;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.size() < 2 || (line[0] != 'S' && line[0] != 'C') || line[1] != ' ')
      throw std::runtime_error("bad line in " + path + ": " + line);
    const std::string hex = line.substr(2);
    if (hex.size() % 2 != 0) throw std::runtime_error("odd hex length in " + path);
    Bytes bytes;
    for (std::size_t i = 0; i < hex.size(); i += 2)
      bytes.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    t.add(line[0] == 'S' ? Direction::server_to_client : Direction::client_to_server, bytes);
  }
  return t;
}

namespace {

std::array<Bytes, 2> streams(const Transcript& t) {
  std::array<Bytes, 2> out;
  for (const auto& s : t.segments) {
    auto& o = out[static_cast<std::size_t>(s.direction)];
    o.insert(o.end(), s.bytes.begin(), s.bytes.end());
  }
  return out;
}

}  // namespace

FeedPlan random_interleaving(const Transcript& t, unsigned seed) {
  const auto stream = streams(t);
  std::mt19937 random(seed);
  FeedPlan p{"random interleaving, seed " + std::to_string(seed), {}};
  std::size_t pos[2] = {0, 0};
  while (pos[0] < stream[0].size() || pos[1] < stream[1].size()) {
    std::size_t d = random() % 2;
    if (pos[d] == stream[d].size()) d = 1 - d;
    const std::size_t n = std::min<std::size_t>(1 + random() % 8, stream[d].size() - pos[d]);
    const auto begin = stream[d].begin() + static_cast<std::ptrdiff_t>(pos[d]);
    p.feeds.push_back({static_cast<Direction>(d), Bytes(begin, begin + static_cast<std::ptrdiff_t>(n))});
    pos[d] += n;
  }
  return p;
}

void for_each_feed_plan(const Transcript& t, const std::function<void(const FeedPlan&)>& visit) {
  const auto& segs = t.segments;
  visit({"whole segments", segs});

  for (std::size_t i = 0; i < segs.size(); ++i) {
    for (std::size_t k = 1; k < segs[i].bytes.size(); ++k) {
      FeedPlan p{"segment " + std::to_string(i) + " split at " + std::to_string(k), {}};
      for (std::size_t j = 0; j < segs.size(); ++j) {
        if (j != i) {
          p.feeds.push_back(segs[j]);
          continue;
        }
        const auto& b = segs[j].bytes;
        p.feeds.push_back({segs[j].direction, Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(k))});
        p.feeds.push_back({segs[j].direction, Bytes(b.begin() + static_cast<std::ptrdiff_t>(k), b.end())});
      }
      visit(p);
    }
  }

  FeedPlan bytewise{"one byte at a time", {}};
  for (const auto& s : segs)
    for (const auto b : s.bytes) bytewise.feeds.push_back({s.direction, {b}});
  visit(bytewise);

  for (std::size_t i = 1; i < segs.size(); ++i) {
    if (segs[i].direction != Direction::client_to_server || segs[i - 1].direction != Direction::server_to_client)
      continue;
    FeedPlan p{"client segment " + std::to_string(i) + " before server segment " + std::to_string(i - 1), segs};
    std::swap(p.feeds[i - 1], p.feeds[i]);
    visit(p);
  }

  const auto stream = streams(t);
  const auto client = static_cast<std::size_t>(Direction::client_to_server);
  const auto server = static_cast<std::size_t>(Direction::server_to_client);
  for (const auto first : {client, server}) {
    FeedPlan p{first == client ? "all client bytes first" : "all server bytes first", {}};
    for (const auto d : {first, 1 - first})
      if (!stream[d].empty()) p.feeds.push_back({static_cast<Direction>(d), stream[d]});
    visit(p);
  }

  for (unsigned seed = 1; seed <= 16; ++seed) visit(random_interleaving(t, seed));
}

Observed run_plan(const std::vector<Segment>& feeds, const Limits& limits, TlsVisibility tls) {
  HandshakeParser parser(limits, tls);
  Observed obs;
  for (std::size_t i = 0; i < feeds.size(); ++i) {
    const bool was_finished = parser.finished();
    const bool was_failed = parser.failed();
    const FeedResult r = parser.feed(feeds[i].direction, feeds[i].bytes);
    INFO("feed " << i);
    if (was_finished && (r.status != Status::need_more || !r.events.empty()))
      FAIL_CHECK("a feed after finished() was not ignored");
    if (was_failed && (r.status != Status::error || !r.events.empty() || r.error != obs.error))
      FAIL_CHECK("a feed after an error did not repeat the error");
    if ((r.status == Status::error) != parser.failed()) FAIL_CHECK("status error and failed() disagree");
    if (r.status == Status::error && r.error.empty()) FAIL_CHECK("an error without a message");
    if (r.status != Status::error && !r.error.empty()) FAIL_CHECK("an error message without status error");
    const bool became_finished = parser.finished() && !was_finished;
    if (r.status == Status::progressed && r.events.empty() && !became_finished)
      FAIL_CHECK("progressed without events or finishing");
    if (r.status == Status::need_more && (!r.events.empty() || became_finished))
      FAIL_CHECK("need_more although something happened");
    if (parser.finished() && parser.failed()) FAIL_CHECK("finished and failed at once");
    for (const auto& e : r.events) obs.events.push_back(describe(e));
    if (r.status == Status::error && !was_failed) obs.error = r.error;
  }
  obs.finished = parser.finished();
  obs.failed = parser.failed();
  obs.summary = describe(parser.summary());
  return obs;
}

namespace {

std::string describe(const Observed& o) {
  std::string out;
  for (const auto& e : o.events) out += "  " + e + "\n";
  out += "  error: " + o.error + "\n  finished=" + std::to_string(o.finished) + " failed=" + std::to_string(o.failed) +
         "\n  " + o.summary;
  return out;
}

}  // namespace

Observed observe_every_split(const Transcript& transcript, const Limits& limits, TlsVisibility tls) {
  Observed reference;
  bool first = true;
  std::size_t plans = 0, mismatches = 0;
  for_each_feed_plan(transcript, [&](const FeedPlan& plan) {
    ++plans;
    const Observed got = run_plan(plan.feeds, limits, tls);
    if (first) {
      reference = got;
      first = false;
    } else if (got != reference) {
      ++mismatches;
      FAIL_CHECK("feed plan \"" << plan.name << "\" differs\nexpected:\n"
                                << describe(reference) << "\ngot:\n"
                                << describe(got));
    }
  });
  CHECK(plans > 1);
  CHECK(mismatches == 0);
  return reference;
}

bool mentions(const Observed& observed, std::string_view needle) {
  const auto has = [&](const std::string& s) { return s.find(needle) != std::string::npos; };
  return has(observed.error) || has(observed.summary) ||
         std::any_of(observed.events.begin(), observed.events.end(), has);
}

}  // namespace vhm::rfb::test
