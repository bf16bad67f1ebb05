#pragma once
// Relay buffers are taken only while bytes are moving and given back as soon
// as a socket has nothing more to read, so an idle session holds no buffer
// (RSS per idle session stays a few KiB) and a stalled one holds exactly one
// per blocked direction. A few free buffers are kept for reuse; the rest are
// returned to the allocator. Single-threaded: used from the io thread only.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace vhm::proxy {

class BufferPool {
 public:
  class Lease {
   public:
    Lease(BufferPool& pool, std::unique_ptr<std::uint8_t[]> data) : pool_(&pool), data_(std::move(data)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (data_) pool_->give_back(std::move(data_));
    }
    std::span<std::uint8_t> bytes() const { return {data_.get(), pool_->buffer_size_}; }

   private:
    BufferPool* pool_;
    std::unique_ptr<std::uint8_t[]> data_;
  };

  explicit BufferPool(std::size_t buffer_size = 64 * 1024, std::size_t max_free = 32)
      : buffer_size_(buffer_size), max_free_(max_free) {}

  Lease acquire();
  std::size_t buffer_size() const { return buffer_size_; }
  std::size_t in_use() const { return in_use_; }

 private:
  void give_back(std::unique_ptr<std::uint8_t[]> data);

  std::size_t buffer_size_;
  std::size_t max_free_;
  std::size_t in_use_ = 0;
  std::vector<std::unique_ptr<std::uint8_t[]>> free_;
};

}  // namespace vhm::proxy
