#include "rfb/pending_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace vhm::rfb::detail {
namespace {

// A plain memset before free may be optimised away; a volatile store may not.
void secure_zero(std::uint8_t* data, std::size_t n) {
  volatile std::uint8_t* p = data;
  for (std::size_t i = 0; i < n; ++i) p[i] = 0;
}

}  // namespace

PendingBuffer::~PendingBuffer() { wipe_all(); }

PendingBuffer::PendingBuffer(PendingBuffer&& other) noexcept
    : storage_(std::move(other.storage_)), head_(std::exchange(other.head_, 0)) {
  other.storage_.clear();
}

PendingBuffer& PendingBuffer::operator=(PendingBuffer&& other) noexcept {
  if (this != &other) {
    wipe_all();
    storage_ = std::move(other.storage_);
    head_ = std::exchange(other.head_, 0);
    other.storage_.clear();
  }
  return *this;
}

void PendingBuffer::append(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  const std::size_t live = size();
  if (storage_.size() + bytes.size() > storage_.capacity()) {
    // Move the live bytes to a new block ourselves so the old one is wiped
    // before it is freed (vector's own growth would leave a copy behind).
    std::vector<std::uint8_t> bigger;
    bigger.reserve(std::max<std::size_t>(64, std::max(2 * live, live + bytes.size())));
    bigger.insert(bigger.end(), storage_.begin() + static_cast<std::ptrdiff_t>(head_), storage_.end());
    wipe_all();
    storage_ = std::move(bigger);
    head_ = 0;
  }
  storage_.insert(storage_.end(), bytes.begin(), bytes.end());
}

void PendingBuffer::consume(std::size_t n) {
  n = std::min(n, size());
  secure_zero(storage_.data() + head_, n);
  head_ += n;
  if (head_ == storage_.size()) {
    storage_.clear();  // keeps capacity; everything in it is already zero
    head_ = 0;
  } else if (head_ >= 4096 && head_ * 2 >= storage_.size()) {
    // Compact now and then so a long run of small steps stays linear.
    const std::size_t live = size();
    std::memmove(storage_.data(), storage_.data() + head_, live);
    secure_zero(storage_.data() + live, storage_.size() - live);
    storage_.resize(live);
    head_ = 0;
  }
}

void PendingBuffer::clear() {
  wipe_all();
  storage_.clear();
  head_ = 0;
}

void PendingBuffer::wipe_all() { secure_zero(storage_.data(), storage_.size()); }

}  // namespace vhm::rfb::detail
