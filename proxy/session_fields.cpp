#include "proxy/session_fields.hpp"

#include <cstdint>
#include <cstring>

namespace vhm::proxy {

namespace {

constexpr std::size_t header_size = 1 + sizeof(std::uint32_t);

}  // namespace

SessionFields::SessionFields() : full_(std::make_unique<hooks::Event>()) {}

SessionFields& SessionFields::operator=(hooks::Event event) {
  session_id_ = event[conf::Field::session_id];
  full_ = std::make_unique<hooks::Event>(std::move(event));
  packed_.reset();
  return *this;
}

std::string_view SessionFields::get(conf::Field field) const {
  if (full_) return (*full_)[field];
  const std::string& text = packed_->text;
  for (std::size_t at = 0; at + header_size <= text.size();) {
    std::uint32_t size = 0;
    std::memcpy(&size, text.data() + at + 1, sizeof size);
    if (static_cast<std::uint8_t>(text[at]) == static_cast<std::uint8_t>(field))
      return std::string_view(text).substr(at + header_size, size);
    at += header_size + size;
  }
  return {};
}

hooks::Event& SessionFields::full() {
  if (full_) return *full_;
  auto event = std::make_unique<hooks::Event>();
  event->kind = packed_->kind;
  for (std::size_t i = 0; i < conf::field_count; ++i) {
    const auto field = static_cast<conf::Field>(i);
    event->values[i] = std::string(get(field));
  }
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
