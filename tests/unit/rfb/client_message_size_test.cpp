// The size of each viewer message from its first bytes (rfb/client_messages.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "rfb/client_messages.hpp"

using vhm::rfb::ClientMessageSize;
using Bytes = std::vector<std::uint8_t>;

namespace {

ClientMessageSize frame_client_message(std::span<const std::uint8_t> bytes) {
  return vhm::rfb::measure_client_message(bytes, vhm::rfb::no_length_limits);
}

struct FramerCase {
  const char* what;
  Bytes message;  // one whole message
};

Bytes framer_message(std::initializer_list<std::uint8_t> head, std::size_t total) {
  Bytes bytes(head);
  bytes.resize(total, 0xAB);
  return bytes;
}

std::vector<FramerCase> framer_cases() {
  return {
      {"SetPixelFormat", framer_message({0}, 20)},
      {"SetEncodings, none", framer_message({2, 0, 0, 0}, 4)},
      {"SetEncodings, 3", framer_message({2, 0, 0, 3}, 16)},
      {"FramebufferUpdateRequest", framer_message({3, 1}, 10)},
      {"KeyEvent", framer_message({4, 1}, 8)},
      {"PointerEvent", framer_message({5, 0}, 6)},
      {"ClientCutText, 5 bytes", framer_message({6, 0, 0, 0, 0, 0, 0, 5}, 13)},
      {"ClientCutText, empty", framer_message({6, 0, 0, 0, 0, 0, 0, 0}, 8)},
      {"ClientCutText, extended (-4)", framer_message({6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc}, 12)},
      {"EnableContinuousUpdates", framer_message({150, 1}, 10)},
      {"Fence, 3 bytes", framer_message({248, 0, 0, 0, 0x80, 0, 0, 1, 3}, 12)},
      {"Fence, empty", framer_message({248, 0, 0, 0, 0, 0, 0, 0, 0}, 9)},
      {"xvp", framer_message({250, 0, 1, 2}, 4)},
      {"SetDesktopSize, 2 screens", framer_message({251, 0, 4, 0, 3, 0, 2}, 8 + 32)},
      {"SetDesktopSize, no screen", framer_message({251, 0, 4, 0, 3, 0, 0}, 8)},
      {"gii, big-endian length 6", framer_message({253, 0x81, 0, 6}, 10)},
      {"gii, little-endian length 6", framer_message({253, 0x01, 6, 0}, 10)},
      {"QEMU extended key event", framer_message({255, 0, 0, 1}, 12)},
      {"QEMU audio enable", framer_message({255, 1, 0, 0}, 4)},
      {"QEMU audio disable", framer_message({255, 1, 0, 1}, 4)},
      {"QEMU audio set format", framer_message({255, 1, 0, 2}, 10)},
  };
}

}  // namespace

TEST_CASE("client message size: every client message type is sized from any prefix, the same way") {
  for (const auto& c : framer_cases()) {
    INFO(c.what);
    const auto whole = frame_client_message(c.message);
    REQUIRE(whole.kind == ClientMessageSize::Kind::sized);
    CHECK(whole.size == c.message.size());
    CHECK(whole.type == c.message[0]);
    for (std::size_t cut = 0; cut < c.message.size(); ++cut) {
      INFO("first " << cut << " bytes");
      const auto part = frame_client_message(std::span(c.message).first(cut));
      if (part.kind == ClientMessageSize::Kind::sized)
        CHECK(part.size == c.message.size());
      else
        CHECK(part.kind == ClientMessageSize::Kind::need_more);
    }
    Bytes with_next = c.message;
    with_next.insert(with_next.end(), {3, 0, 0, 0, 0, 0, 0, 10, 0, 10});
    CHECK(frame_client_message(with_next).size == c.message.size());
  }
}

TEST_CASE("client message size: a stream of messages splits the same at every chunk boundary") {
  Bytes stream;
  std::vector<std::uint64_t> expected;
  for (const auto& c : framer_cases()) {
    stream.insert(stream.end(), c.message.begin(), c.message.end());
    expected.push_back(c.message.size());
  }
  for (std::size_t chunk = 1; chunk <= 23; ++chunk) {
    INFO("chunks of " << chunk);
    Bytes pending;
    std::vector<std::uint64_t> sizes;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      const auto end = std::min(stream.size(), at + chunk);
      pending.insert(pending.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                     stream.begin() + static_cast<std::ptrdiff_t>(end));
      for (;;) {
        const auto frame = frame_client_message(pending);
        REQUIRE(frame.kind != ClientMessageSize::Kind::invalid);
        if (frame.kind == ClientMessageSize::Kind::need_more || pending.size() < frame.size) break;
        sizes.push_back(frame.size);
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(frame.size));
      }
    }
    CHECK(pending.empty());
    CHECK(sizes == expected);
  }
}

TEST_CASE("client message size: hostile lengths give exact sizes without overflow") {
  // Largest positive and most negative ClientCutText lengths.
  CHECK(frame_client_message(Bytes{6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}).size == 8 + 0x7fffffffull);
  CHECK(frame_client_message(Bytes{6, 0, 0, 0, 0x80, 0, 0, 0}).size == 8 + 0x80000000ull);
  CHECK(frame_client_message(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}).size == 9);
  CHECK(frame_client_message(Bytes{2, 0, 0xff, 0xff}).size == 4 + 4 * 65535ull);
  CHECK(frame_client_message(Bytes{251, 0, 0, 0, 0, 0, 255}).size == 8 + 16 * 255ull);
  CHECK(frame_client_message(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 255}).size == 9 + 255ull);
  CHECK(frame_client_message(Bytes{253, 0x80, 0xff, 0xff}).size == 4 + 65535ull);
  // With the default limits the framer refuses what no real viewer sends.
  CHECK(vhm::rfb::measure_client_message(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 65}).kind == ClientMessageSize::Kind::invalid);
  CHECK(vhm::rfb::measure_client_message(Bytes{6, 0, 0, 0, 0x80, 0, 0, 0}).kind == ClientMessageSize::Kind::invalid);
}

TEST_CASE("client message size: unknown types and sub-types cannot be followed") {
  for (const std::uint8_t type : {1, 7, 8, 9, 100, 149, 249, 252, 254}) {
    INFO("type " << int(type));
    const auto frame = frame_client_message(Bytes{type, 0, 0, 0, 0, 0, 0, 0});
    CHECK(frame.kind == ClientMessageSize::Kind::invalid);
    CHECK(frame.error == "viewer sent message type " + std::to_string(type) + ", which is not a known RFB message");
  }
  const auto qemu = frame_client_message(Bytes{255, 2, 0, 0});
  CHECK(qemu.kind == ClientMessageSize::Kind::invalid);
  CHECK(qemu.error == "viewer sent QEMU client message subtype 2");
  CHECK(frame_client_message(Bytes{255, 1, 0, 3}).error == "viewer sent QEMU audio operation 3");
  CHECK(frame_client_message(Bytes{255, 1, 0}).kind == ClientMessageSize::Kind::need_more);
  CHECK(frame_client_message(Bytes{}).kind == ClientMessageSize::Kind::need_more);
}
