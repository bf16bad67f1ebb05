#pragma once
// Bytes of one direction that arrived before the parser could use them. The
// handshake carries secrets (VNC challenge and response, Plain and Unix-login
// passwords), so this buffer wipes every byte it lets go of: consumed bytes,
// the old block when it grows, and everything on destruction. No copy of a
// secret outlives the step that skipped over it.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vhm::rfb::detail {

class PendingBuffer {
 public:
  PendingBuffer() = default;
  ~PendingBuffer();
  PendingBuffer(PendingBuffer&&) noexcept;
  PendingBuffer& operator=(PendingBuffer&&) noexcept;
  PendingBuffer(const PendingBuffer&) = delete;
  PendingBuffer& operator=(const PendingBuffer&) = delete;

  void append(std::span<const std::uint8_t> bytes);
  // Drops (and wipes) the first n unread bytes.
  void consume(std::size_t n);
  void clear();

  std::span<const std::uint8_t> view() const { return {storage_.data() + head_, size()}; }
  std::size_t size() const { return storage_.size() - head_; }

 private:
  void wipe_all();

  std::vector<std::uint8_t> storage_;
  std::size_t head_ = 0;  // bytes before head_ are consumed (and already zero)
};

}  // namespace vhm::rfb::detail
