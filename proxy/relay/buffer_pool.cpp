#include "proxy/relay/buffer_pool.hpp"

namespace vhm::proxy {

BufferPool::Lease BufferPool::acquire() {
  ++in_use_;
  if (free_.empty()) return Lease(*this, std::make_unique_for_overwrite<std::uint8_t[]>(buffer_size_));
  auto data = std::move(free_.back());
  free_.pop_back();
  return Lease(*this, std::move(data));
}

void BufferPool::give_back(std::unique_ptr<std::uint8_t[]> data) {
  --in_use_;
  if (free_.size() < max_free_) free_.push_back(std::move(data));
}

}  // namespace vhm::proxy
