#include "record/header_json.hpp"

#include <boost/json.hpp>
#include <limits>

#include "util/utf8_text.hpp"

namespace vhm::record {
namespace json = boost::json;

namespace {

// JSON must be UTF-8; peer-supplied text (user and desktop names) may not be.
json::string json_text(std::string_view value) { return json::string(util::valid_utf8(value)); }

std::string_view pixel_bytes(const PixelFormat& f) {
  return {reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size()};
}

// Reads typed values out of one JSON object, remembering the first problem.
class Fields {
 public:
  Fields(const json::object& object, std::string where, std::string& error)
      : object_(object), where_(std::move(where)), error_(error) {}

  const json::value* find(std::string_view key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &it->value();
  }
  bool fail(std::string_view key, std::string_view expected) {
    if (error_.empty()) error_ = where_ + std::string(key) + " is not " + std::string(expected);
    return false;
  }
  bool missing(std::string_view key) {
    if (error_.empty()) error_ = where_ + std::string(key) + " is missing";
    return false;
  }

  // Optional keys keep `out` as it is when absent; required ones fail.
  bool get(std::string_view key, std::string& out, bool required = false) {
    const auto* v = find(key);
    if (v == nullptr) return required ? missing(key) : true;
    if (!v->is_string()) return fail(key, "a string");
    out.assign(v->get_string().data(), v->get_string().size());
    return true;
  }
  bool get(std::string_view key, bool& out) {
    const auto* v = find(key);
    if (v == nullptr) return true;
    if (!v->is_bool()) return fail(key, "true or false");
    out = v->get_bool();
    return true;
  }
  template <class Int>
  bool get_int(std::string_view key, Int& out, bool required = false) {
    const auto* v = find(key);
    if (v == nullptr) return required ? missing(key) : true;
    if (v->is_int64()) {
      const std::int64_t i = v->get_int64();
      if (std::cmp_less(i, std::numeric_limits<Int>::min()) || std::cmp_greater(i, std::numeric_limits<Int>::max()))
        return fail(key, "in range");
      out = static_cast<Int>(i);
      return true;
    }
    if (v->is_uint64()) {
      const std::uint64_t u = v->get_uint64();
      if (std::cmp_greater(u, std::numeric_limits<Int>::max())) return fail(key, "in range");
      out = static_cast<Int>(u);
      return true;
    }
    return fail(key, "an integer");
  }
  bool get_pixel_format(std::string_view key, PixelFormat& out) {
    std::string hex;
    if (!get(key, hex, true)) return false;
    const auto bytes = from_hex(hex);
    if (!bytes || bytes->size() != out.bytes.size()) return fail(key, "32 hex digits");
    std::copy(bytes->begin(), bytes->end(), out.bytes.begin());
    return true;
  }

 private:
  const json::object& object_;
  std::string where_;
  std::string& error_;
};

std::optional<json::object> parse_object(std::string_view text, std::string_view what, std::string& error) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) {
    error = std::string(what) + " JSON: " + ec.message();
    return std::nullopt;
  }
  if (!value.is_object()) {
    error = std::string(what) + " JSON: not an object";
    return std::nullopt;
  }
  return std::move(value.get_object());
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string header_to_json(const Header& h) {
  json::object session;
  for (const auto& [key, value] : h.session) session[util::valid_utf8(key)] = json_text(value);
  json::object init{{"width", h.server_init.width},
                    {"height", h.server_init.height},
                    {"pixel_format", to_hex(pixel_bytes(h.server_init.pixel_format))},
                    {"desktop_name", json_text(h.server_init.desktop_name)}};
  if (util::valid_utf8(h.server_init.desktop_name) != h.server_init.desktop_name)
    init["desktop_name_hex"] = to_hex(h.server_init.desktop_name);
  json::object o{{"writer", writer_name},
                 {"compression", h.compression == Compression::zstd ? "zstd" : "none"},
                 {"start_unix_us", h.start_unix_us},
                 {"session", std::move(session)},
                 {"rfb_version", json_text(h.rfb_version)},
                 {"security_type", json_text(h.security_type)},
                 {"content_visible", h.content_visible},
                 {"not_visible_reason", json_text(h.not_visible_reason)},
                 {"include_input", h.include_input},
                 {"server_init", std::move(init)}};
  if (h.viewer_pixel_format) o["viewer_pixel_format"] = to_hex(pixel_bytes(*h.viewer_pixel_format));
  if (h.viewer_encodings) {
    json::array encodings;
    for (const std::int32_t e : *h.viewer_encodings) encodings.push_back(e);
    o["viewer_encodings"] = std::move(encodings);
  }
  return json::serialize(o);
}

std::optional<Header> header_from_json(std::string_view text, std::string& error) {
  error.clear();
  auto object = parse_object(text, "header", error);
  if (!object) return std::nullopt;
  Header h;
  Fields f(*object, "header JSON: ", error);
  std::string compression = "none";
  bool ok = f.get("compression", compression) && f.get_int("start_unix_us", h.start_unix_us, true) &&
            f.get("rfb_version", h.rfb_version) && f.get("security_type", h.security_type) &&
            f.get("content_visible", h.content_visible) && f.get("not_visible_reason", h.not_visible_reason) &&
            f.get("include_input", h.include_input);
  if (!ok) return std::nullopt;
  if (compression == "zstd") {
    h.compression = Compression::zstd;
  } else if (compression != "none") {
    error = "header JSON: unknown compression \"" + compression + "\"";
    return std::nullopt;
  }
  if (const auto* s = f.find("session")) {
    if (!s->is_object()) return f.fail("session", "an object"), std::nullopt;
    for (const auto& [key, value] : s->get_object()) {
      if (!value.is_string()) return f.fail("session." + std::string(key), "a string"), std::nullopt;
      h.session[std::string(key)] = std::string(value.get_string());
    }
  }
  const auto* init = f.find("server_init");
  if (init == nullptr) return f.missing("server_init"), std::nullopt;
  if (!init->is_object()) return f.fail("server_init", "an object"), std::nullopt;
  Fields i(init->get_object(), "header JSON: server_init.", error);
  std::string name_hex;
  if (!(i.get_int("width", h.server_init.width, true) && i.get_int("height", h.server_init.height, true) &&
        i.get_pixel_format("pixel_format", h.server_init.pixel_format) &&
        i.get("desktop_name", h.server_init.desktop_name) && i.get("desktop_name_hex", name_hex)))
    return std::nullopt;
  if (i.find("desktop_name_hex") != nullptr) {
    auto bytes = from_hex(name_hex);
    if (!bytes) return i.fail("desktop_name_hex", "hex digits"), std::nullopt;
    h.server_init.desktop_name = std::move(*bytes);
  }
  if (f.find("viewer_pixel_format") != nullptr) {
    PixelFormat pf;
    if (!f.get_pixel_format("viewer_pixel_format", pf)) return std::nullopt;
    h.viewer_pixel_format = pf;
  }
  if (const auto* e = f.find("viewer_encodings")) {
    if (!e->is_array()) return f.fail("viewer_encodings", "an array"), std::nullopt;
    std::vector<std::int32_t> encodings;
    for (const auto& v : e->get_array()) {
      const auto n = v.if_int64();
      if (n == nullptr || *n < std::numeric_limits<std::int32_t>::min() ||
          *n > std::numeric_limits<std::int32_t>::max())
        return f.fail("viewer_encodings", "an array of 32-bit integers"), std::nullopt;
      encodings.push_back(static_cast<std::int32_t>(*n));
    }
    h.viewer_encodings = std::move(encodings);
  }
  return h;
}

std::string trailer_to_json(const Trailer& t) {
  const json::object o{{"duration_us", t.duration_us},
                       {"server_bytes", t.server_bytes},
                       {"viewer_bytes", t.viewer_bytes},
                       {"recorded_server_bytes", t.recorded_server_bytes},
                       {"recorded_viewer_bytes", t.recorded_viewer_bytes},
                       {"dropped_bytes", t.dropped_bytes},
                       {"end_reason", json_text(t.end_reason)}};
  return json::serialize(o);
}

std::optional<Trailer> trailer_from_json(std::string_view text, std::string& error) {
  error.clear();
  auto object = parse_object(text, "trailer", error);
  if (!object) return std::nullopt;
  Trailer t;
  Fields f(*object, "trailer JSON: ", error);
  if (!(f.get_int("duration_us", t.duration_us) && f.get_int("server_bytes", t.server_bytes) &&
        f.get_int("viewer_bytes", t.viewer_bytes) && f.get_int("recorded_server_bytes", t.recorded_server_bytes) &&
        f.get_int("recorded_viewer_bytes", t.recorded_viewer_bytes) &&
        f.get_int("dropped_bytes", t.dropped_bytes) && f.get("end_reason", t.end_reason)))
    return std::nullopt;
  return t;
}

}  // namespace vhm::record
