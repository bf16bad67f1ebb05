#pragma once
// One event of one session, as hooks see it: a kind plus every field of
// conf::Field as text (empty when unknown at that point).
#include <array>
#include <string>

#include "conf/event_schema.hpp"

namespace vhm::hooks {

struct Event {
  conf::EventKind kind = conf::EventKind::connect;
  std::array<std::string, conf::field_count> values;

  std::string& operator[](conf::Field field) { return values[static_cast<std::size_t>(field)]; }
  const std::string& operator[](conf::Field field) const {
    return values[static_cast<std::size_t>(field)];
  }
  const std::string& session_id() const { return (*this)[conf::Field::session_id]; }
};

}  // namespace vhm::hooks
