#include "proxy/session_fields.hpp"

#include <cstdint>
#include <cstring>

namespace vhm::proxy {

namespace {

constexpr std::size_t header_size = 1 + sizeof(std::uint32_t);

// Calls `visit(field index, value)` for each field in the packed text, until it returns false.
template <typename Visit>
void for_each_packed(const std::string& text, Visit visit) {
  for (std::size_t at = 0; at + header_size <= text.size();) {
    std::uint32_t size = 0;
    std::memcpy(&size, text.data() + at + 1, sizeof size);
    if (!visit(static_cast<std::uint8_t>(text[at]), std::string_view(text).substr(at + header_size, size))) return;
    at += header_size + size;
  }
}

}  // namespace

SessionFields::SessionFields() : full_(std::make_unique<hooks::Event>()) {}

SessionFields& SessionFields::operator=(hooks::Event event) {
  session_id_ = event[conf::Field::session_id];
  if (full_)
    *full_ = std::move(event);
  else
    full_ = std::make_unique<hooks::Event>(std::move(event));
  packed_.reset();
  return *this;
}

std::string_view SessionFields::get(conf::Field field) const {
  if (full_) return (*full_)[field];
  std::string_view found;
  for_each_packed(packed_->text, [&](std::uint8_t index, std::string_view value) {
    if (index != static_cast<std::uint8_t>(field)) return true;
    found = value;
    return false;
  });
  return found;
}

hooks::Event& SessionFields::full() {
  if (full_) return *full_;
  auto event = std::make_unique<hooks::Event>();
  event->kind = packed_->kind;
  for_each_packed(packed_->text, [&](std::uint8_t index, std::string_view value) {
    event->values[index] = std::string(value);
    return true;
  });
  full_ = std::move(event);
  packed_.reset();
  return *full_;
}

void SessionFields::pack() {
  if (!full_) return;
  auto packed = std::make_unique<Packed>();
  packed->kind = full_->kind;
  std::size_t size = 0;
  for (const auto& value : full_->values)
    if (!value.empty()) size += header_size + value.size();
  packed->text.reserve(size);
  for (std::size_t i = 0; i < conf::field_count; ++i) {
    const std::string& value = full_->values[i];
    if (value.empty()) continue;
    const auto length = static_cast<std::uint32_t>(value.size());
    packed->text.push_back(static_cast<char>(i));
    packed->text.append(reinterpret_cast<const char*>(&length), sizeof length);
    packed->text += value;
  }
  packed_ = std::move(packed);
  full_.reset();
}

}  // namespace vhm::proxy
