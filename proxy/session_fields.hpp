#pragma once
// A session's event fields (every conf::Field as text, hooks::Event): in full
// while the session is active, packed into one string while its relay is
// parked (relay/idle_relay.cpp), so an idle session holds a few hundred bytes
// of them instead of 37 strings (1.2 KiB). Reading a field never unpacks:
// metrics scrapes and `ctl sessions` walk every session. Changing a field or
// taking the whole Event (to publish it) does.
#include <memory>
#include <string>
#include <string_view>

#include "hooks/event.hpp"

namespace vhm::proxy {

class SessionFields {
 public:
  SessionFields();
  SessionFields& operator=(hooks::Event event);

  std::string& operator[](conf::Field field) { return full()[field]; }
  std::string_view get(conf::Field field) const;
  // Stays valid across pack() and unpacking (log lines take it beside fields that unpack).
  const std::string& session_id() const { return session_id_; }
  hooks::Event& full();  // unpacks
  void pack();
  bool packed() const { return !full_; }

 private:
  struct Packed {
    conf::EventKind kind;
    std::string text;  // per non-empty field: its index (1 byte), its length (4 bytes), its bytes
  };
  std::unique_ptr<hooks::Event> full_;
  std::unique_ptr<Packed> packed_;
  std::string session_id_;
};

}  // namespace vhm::proxy
