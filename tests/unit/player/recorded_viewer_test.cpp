#include <catch2/catch.hpp>

#include "player/recorded_viewer.hpp"

using vhm::player::RecordedViewerMessages;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes recorded_spf(std::uint8_t bpp) {
  Bytes m{0, 0, 0, 0, bpp, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
  return m;
}

const Bytes recorded_encodings{2, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0};
const Bytes recorded_fbur{3, 1, 0, 0, 0, 0, 0, 64, 0, 48};
const Bytes recorded_key{4, 1, 0, 0, 0, 0, 0, 0x61};

Bytes recorded_join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("recorded viewer: what is in effect at its first request, then every change, at any split") {
  const auto stream = recorded_join({recorded_spf(8), recorded_spf(32), recorded_encodings, recorded_fbur, recorded_key,
                                     recorded_spf(16), recorded_fbur, recorded_encodings});
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    INFO("split at " << cut);
    RecordedViewerMessages messages;
    auto changes = messages.feed(std::span(stream).first(cut));
    const auto more = messages.feed(std::span(stream).subspan(cut));
    changes.insert(changes.end(), more.begin(), more.end());
    REQUIRE(changes.size() == 4);
    REQUIRE(changes[0].pixel_format);
    CHECK(changes[0].pixel_format->bytes[0] == 32);  // the last before the request, not the first
    CHECK_FALSE(changes[0].encodings);
    REQUIRE(changes[1].encodings);
    CHECK(*changes[1].encodings == std::vector<std::int32_t>{7, 0});
    REQUIRE(changes[2].pixel_format);
    CHECK(changes[2].pixel_format->bytes[0] == 16);
    REQUIRE(changes[3].encodings);
    CHECK_FALSE(messages.lost());
  }
}

TEST_CASE("recorded viewer: nothing before its first request counts by itself") {
  RecordedViewerMessages messages;
  CHECK(messages.feed(recorded_join({recorded_spf(16), recorded_encodings})).empty());
}

TEST_CASE("recorded viewer: a long clipboard is skipped, an unknown message ends the following") {
  RecordedViewerMessages messages;
  Bytes cut{6, 0, 0, 0, 0, 0x10, 0, 0};  // 1 MiB of clipboard
  CHECK(messages.feed(recorded_join({recorded_fbur, cut})).empty());
  CHECK(messages.feed(Bytes(0x100000 - 10, 'x')).empty());
  const auto changes = messages.feed(recorded_join({Bytes(10, 'x'), recorded_spf(8)}));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].pixel_format->bytes[0] == 8);
  CHECK(messages.feed(Bytes{99, 0, 0, 0}).empty());
  CHECK(messages.lost());
  CHECK(messages.feed(recorded_spf(16)).empty());
}
