// Robustness: whatever bytes arrive at whatever point of a handshake, the
// parser does not crash or read past its input (the ASan/UBSan build checks
// that), keeps its per-feed invariants (run_plan checks them), and still gives
// the same result however the bytes are split and interleaved.
#include <array>
#include <catch2/catch.hpp>
#include <random>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

Bytes capability_none() { return capability(1, "STDV", "NOAUTH__"); }
Bytes capability_unix() { return capability(129, "TGHT", "ULGNAUTH"); }

struct Case {
  std::string name;
  Transcript transcript;
  TlsVisibility tls = TlsVisibility::opaque;
};

Transcript chosen(unsigned type) {
  return Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(2), u8(type), u8(2)).c(u8(type));
}

Transcript vencrypt(std::uint32_t subtype) {
  return chosen(19).s(u8(0), u8(2)).c(u8(0), u8(2)).s(u8(0), u8(1), u32(subtype)).c(u32(subtype));
}

Bytes init() { return server_init(640, 480, "fuzz"); }

// One valid handshake for every path the parser follows.
std::vector<Case> valid_handshakes() {
  const Bytes challenge = filled(16, 'c'), response = filled(16, 'r');
  const Bytes plain = cat(u32(4), u32(6), text("user"), text("secret"));
  std::vector<Case> cases;
  cases.push_back({"none 3.3", Transcript{}.s("RFB 003.003\n").c("RFB 003.003\n").s(u32(1)).c(u8(1)).s(init())});
  cases.push_back({"vncauth", chosen(2).s(challenge).c(response).s(u32(0)).c(u8(1)).s(init())});
  cases.push_back({"refused", Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(0), rfb_string("no"))});
  cases.push_back({"tight unix login", chosen(16)
                                           .s(u32(0), u32(2), capability_none(), capability_unix())
                                           .c(u32(129), plain)
                                           .s(u32(0))
                                           .c(u8(1))
                                           .s(init(), u16(0), u16(0), u16(1), u16(0),
                                              capability(5, "STDV", "HEXTILE_"))});
  cases.push_back({"vencrypt plain", vencrypt(256).c(plain).s(u32(1), rfb_string("bad"))});
  cases.push_back({"vencrypt tlsvnc opaque", vencrypt(258).s(u8(1), filled(40, 0x16))});
  cases.push_back({"vencrypt tlsvnc terminated",
                   vencrypt(258).s(u8(1), challenge).c(response).s(u32(0)).c(u8(1)).s(init()),
                   TlsVisibility::terminated});
  cases.push_back({"vencrypt tlsplain terminated", vencrypt(259).s(u8(1)).c(plain).s(u32(0)).c(u8(0)).s(init()),
                   TlsVisibility::terminated});
  cases.push_back({"xvp", chosen(22)
                              .c(u8(4), u8(2), text("user"), text("vm"))
                              .s(challenge)
                              .c(response)
                              .s(u32(0))
                              .c(u8(1))
                              .s(init())});
  cases.push_back({"apple dh", chosen(30)
                                   .s(u16(2), u16(128), filled(256, 'p'))
                                   .c(filled(128 + 128, 'e'))
                                   .s(u32(1), rfb_string("no"))});
  cases.push_back({"mslogon2", chosen(113).s(filled(24, 'k')).c(filled(328, 'e')).s(u32(0)).c(u8(1)).s(init())});
  const auto record = [](std::size_t n) { return cat(u16(static_cast<unsigned>(n)), filled(n + 16, 'a')); };
  cases.push_back({"ra2ne", chosen(6)
                                .s(u32(1024), filled(256, 'N'))
                                .c(u32(1024), filled(256, 'n'))
                                .s(u16(128), filled(128, 'R'))
                                .c(u16(128), filled(128, 'r'))
                                .s(record(20))
                                .c(record(20))
                                .s(record(1))
                                .c(record(12))
                                .s(u32(0))
                                .c(u8(1))
                                .s(init())});
  return cases;
}

std::array<Bytes, 2> streams(const Transcript& t) {
  std::array<Bytes, 2> out;
  for (const auto& s : t.segments) {
    auto& o = out[static_cast<std::size_t>(s.direction)];
    o.insert(o.end(), s.bytes.begin(), s.bytes.end());
  }
  return out;
}

Bytes random_bytes(std::mt19937& random, std::size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(random());
  return out;
}

// Both streams in chunks of 1..max_chunk bytes, directions picked at random.
std::vector<Segment> interleave(const std::array<Bytes, 2>& stream, std::mt19937& random, std::size_t max_chunk) {
  std::vector<Segment> feeds;
  std::size_t pos[2] = {0, 0};
  while (pos[0] < stream[0].size() || pos[1] < stream[1].size()) {
    std::size_t d = random() % 2;
    if (pos[d] == stream[d].size()) d = 1 - d;
    const std::size_t n = std::min<std::size_t>(1 + random() % max_chunk, stream[d].size() - pos[d]);
    const auto begin = stream[d].begin() + static_cast<std::ptrdiff_t>(pos[d]);
    feeds.push_back({static_cast<Direction>(d), Bytes(begin, begin + static_cast<std::ptrdiff_t>(n))});
    pos[d] += n;
  }
  return feeds;
}

// Keeps one direction's bytes up to `cut`, then random bytes; the other
// direction stays valid. Two interleavings must agree.
void check_cut(const Case& c, const std::array<Bytes, 2>& valid, std::size_t direction, std::size_t cut,
               std::mt19937& random, const Limits& limits) {
  auto stream = valid;
  stream[direction].resize(cut);
  const Bytes noise = random_bytes(random, random() % 200);
  stream[direction].insert(stream[direction].end(), noise.begin(), noise.end());
  const Observed a = run_plan(interleave(stream, random, 1 + random() % 32), limits, c.tls);
  const Observed b = run_plan(interleave(stream, random, 1 + random() % 32), limits, c.tls);
  if (!(a == b))
    FAIL_CHECK(c.name << ": two interleavings differ, " << (direction == 0 ? "server" : "client") << " cut at " << cut
                      << "\n  " << a.summary << " / " << a.error << "\n  " << b.summary << " / " << b.error);
}

}  // namespace

TEST_CASE("robustness: random bytes from every offset of every followed handshake") {
  std::mt19937 random(20261123);
  std::size_t runs = 0;
  for (const auto& c : valid_handshakes()) {
    INFO(c.name);
    // The valid handshake itself must go through cleanly, or the cuts test nothing.
    const auto whole = run_plan(c.transcript.segments, {}, c.tls);
    CHECK(whole.finished);
    CHECK_FALSE(whole.failed);
    const auto valid = streams(c.transcript);
    for (std::size_t direction = 0; direction < 2; ++direction)
      for (std::size_t cut = 0; cut <= valid[direction].size(); ++cut)
        for (int variant = 0; variant < 3; ++variant, ++runs) check_cut(c, valid, direction, cut, random, {});
  }
  CHECK(runs > 8000);  // every byte offset of about 2700, three noise variants each
}

TEST_CASE("robustness: random bytes against tight limits") {
  Limits tight;
  tight.max_reason_length = 3;
  tight.max_desktop_name_length = 3;
  tight.max_user_name_length = 2;
  tight.max_password_length = 2;
  tight.max_tight_capabilities = 1;
  tight.max_vencrypt_subtypes = 1;
  tight.max_dh_key_length = 8;
  tight.max_pending_bytes = 1;
  std::mt19937 random(7);
  for (const auto& c : valid_handshakes()) {
    INFO(c.name);
    const auto valid = streams(c.transcript);
    for (std::size_t direction = 0; direction < 2; ++direction)
      for (std::size_t cut = 0; cut <= valid[direction].size(); cut += 3)
        check_cut(c, valid, direction, cut, random, tight);
  }
}

TEST_CASE("robustness: pure noise after each security type is chosen") {
  std::mt19937 random(99);
  for (const unsigned type : {1u, 2u, 6u, 16u, 19u, 22u, 30u, 113u}) {
    INFO(type);
    for (int round = 0; round < 300; ++round) {
      auto stream = streams(chosen(type));
      for (auto& s : stream) {
        const Bytes noise = random_bytes(random, random() % 600);
        s.insert(s.end(), noise.begin(), noise.end());
      }
      const Observed a = run_plan(interleave(stream, random, 1 + random() % 64), {}, TlsVisibility::terminated);
      const Observed b = run_plan(interleave(stream, random, 1 + random() % 64), {}, TlsVisibility::terminated);
      CHECK(a == b);
    }
  }
}
