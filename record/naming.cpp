#include "record/naming.hpp"

#include <algorithm>
#include <array>

namespace vhm::record {

namespace {

// The event fields (DESIGN.md "Events"); kept here, not taken from conf/,
// because record/ sits beside conf/, not above it.
constexpr std::array<std::string_view, 15> name_fields = {
    "event",       "session_id",  "timestamp",   "client_ip",     "client_port",
    "listen",      "target_host", "target_port", "display",       "user",
    "rfb_version", "security_type", "desktop_name", "width",       "height"};

bool safe_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool field_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

std::span<const std::string_view> known_name_fields() { return name_fields; }

std::optional<std::string> check_name_template(std::string_view t) {
  if (t.empty()) return "the name template is empty";
  if (t.find('\0') != std::string_view::npos) return "the name template contains a NUL byte";
  if (t.front() == '/') return "the name template must be relative to the recording directory, not absolute";
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '}') return "unbalanced '}' at character " + std::to_string(i + 1) + " of the name template";
    if (t[i] != '{') continue;
    const std::size_t close = t.find('}', i + 1);
    if (close == std::string_view::npos) return "unbalanced '{' at character " + std::to_string(i + 1) + " of the name template";
    const std::string_view name = t.substr(i + 1, close - i - 1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), field_char))
      return "bad placeholder {" + std::string(name) + "} in the name template";
    if (std::find(name_fields.begin(), name_fields.end(), name) == name_fields.end()) {
      std::string known;
      for (const auto f : name_fields) known += (known.empty() ? "{" : " {") + std::string(f) + "}";
      return "unknown placeholder {" + std::string(name) + "} in the name template (known: " + known + ")";
    }
    i = close;
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = t.find('/', start);
    const std::string_view segment = t.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return "the name template has an empty path segment (\"//\" or a trailing '/')";
    if (segment == "." || segment == "..") return "the name template may not contain \"" + std::string(segment) + "\" segments";
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return std::nullopt;
}

std::string safe_name_part(std::string_view value) {
  if (value.empty()) return "unknown";
  std::string out(value.substr(0, max_name_part));
  for (char& c : out)
    if (!safe_char(c)) c = '_';
  if (out.front() == '.') out.front() = '_';
  return out;
}

std::string expand_name(std::string_view t, const std::map<std::string, std::string>& fields,
                        std::string_view compact_utc) {
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::size_t close = t[i] == '{' ? t.find('}', i + 1) : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += t[i] == '\0' ? '_' : t[i];
      continue;
    }
    const std::string name(t.substr(i + 1, close - i - 1));
    if (name == "timestamp") {
      out += safe_name_part(compact_utc);
    } else {
      const auto it = fields.find(name);
      out += safe_name_part(it == fields.end() ? std::string_view{} : std::string_view(it->second));
    }
    i = close;
  }
  // Values cannot hold '/', but an unchecked template could: it never leaves the directory either.
  std::string safe;
  std::size_t start = 0;
  while (start <= out.size()) {
    std::size_t slash = out.find('/', start);
    if (slash == std::string::npos) slash = out.size();
    const std::string_view segment = std::string_view(out).substr(start, slash - start);
    if (!segment.empty()) {
      if (!safe.empty()) safe += '/';
      safe += segment == "." ? "_" : segment == ".." ? "__" : std::string(segment);
    }
    start = slash + 1;
  }
  return safe.empty() ? "unknown" : safe;
}

}  // namespace vhm::record
