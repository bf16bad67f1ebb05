// A session's event fields, packed while its relay is parked.
#include <catch2/catch.hpp>

#include <string>

#include "proxy/session_fields.hpp"

using namespace vhm::proxy;
using vhm::conf::Field;
namespace hooks = vhm::hooks;

namespace {

hooks::Event sample() {
  hooks::Event event;
  event.kind = vhm::conf::EventKind::auth_success;
  event[Field::session_id] = "d91374a03c791d7c";  // longer than a short string's inline room
  event[Field::client_ip] = "192.0.2.7";
  event[Field::desktop_name] = std::string(300, 'x');
  event[Field::transport] = "tcp";  // the last field of all
  event[Field::event] = "auth_success";  // the first
  return event;
}

}  // namespace

TEST_CASE("session fields: packed, every field still reads the same without unpacking") {
  SessionFields fields;
  fields = sample();
  const auto expected = sample();
  fields.pack();
  REQUIRE(fields.packed());
  for (std::size_t i = 0; i < vhm::conf::field_count; ++i)
    CHECK(fields.get(static_cast<Field>(i)) == expected.values[i]);
  CHECK(fields.session_id() == "d91374a03c791d7c");
  CHECK(fields.packed());
}

TEST_CASE("session fields: a change or the whole event unpacks them, exactly as they were") {
  SessionFields fields;
  fields = sample();
  const std::string& id = fields.session_id();  // as a log line takes it, beside a field that unpacks
  fields.pack();
  fields[Field::reason] = "client_closed";
  CHECK_FALSE(fields.packed());
  auto expected = sample();
  expected[Field::reason] = "client_closed";
  CHECK(fields.full().values == expected.values);
  CHECK(fields.full().kind == vhm::conf::EventKind::auth_success);
  CHECK(id == "d91374a03c791d7c");
  fields.pack();
  fields.pack();  // packing twice changes nothing
  CHECK(fields.full().values == expected.values);
}

TEST_CASE("session fields: all empty packs to nothing and reads empty") {
  SessionFields fields;
  fields.pack();
  CHECK(fields.session_id().empty());
  CHECK(fields.get(Field::user).empty());
  CHECK(fields.full().values == hooks::Event{}.values);
}
