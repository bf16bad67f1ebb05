#pragma once
// Big-endian reads over the bytes buffered for one direction. A step reads its
// whole message through one ByteReader; if any read comes up short the step
// answers "need more" and nothing is consumed, so the same step simply runs
// again, from the start of its message, when more bytes have arrived. That is
// what makes every split of the byte stream give the same result.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vhm::rfb::detail {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

  bool u8(std::uint8_t& out) {
    if (!has(1)) return false;
    out = data_[pos_++];
    return true;
  }

  bool u16(std::uint16_t& out) {
    if (!has(2)) return false;
    out = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }

  bool u32(std::uint32_t& out) {
    if (!has(4)) return false;
    out = (std::uint32_t{data_[pos_]} << 24) | (std::uint32_t{data_[pos_ + 1]} << 16) |
          (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return true;
  }

  bool bytes(std::size_t n, std::span<const std::uint8_t>& out) {
    if (!has(n)) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  bool text(std::size_t n, std::string& out) {
    std::span<const std::uint8_t> view;
    if (!bytes(n, view)) return false;
    out.assign(view.begin(), view.end());
    return true;
  }

  // Steps over n bytes without looking at them (secrets, capability records).
  bool skip(std::size_t n) {
    if (!has(n)) return false;
    pos_ += n;
    return true;
  }

  bool has(std::size_t n) const { return data_.size() - pos_ >= n; }
  std::size_t consumed() const { return pos_; }
  std::span<const std::uint8_t> unread() const { return data_.subspan(pos_); }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

}  // namespace vhm::rfb::detail
