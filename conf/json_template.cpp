#include "conf/json_template.hpp"

#include <boost/json/stream_parser.hpp>

#include <vector>

#include "conf/placeholders.hpp"

namespace vhm::conf {

namespace {

// The expansion, and for each output byte the template byte it came from
// (a placeholder's value maps to its '{'), so a parse error can point into
// the body as written.
std::string expand_json_impl(std::string_view text,
                   const std::function<std::string(std::string_view name, bool in_string)>& lookup,
                   std::vector<std::size_t>* source) {
  const auto refs = find_placeholders(text);
  std::string out;
  out.reserve(text.size());
  const auto emit = [&](std::string_view piece, std::size_t from) {
    out += piece;
    if (source) source->insert(source->end(), piece.size(), from);
  };
  std::size_t next = 0;  // index into refs
  bool in_string = false;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    while (next < refs.size() && refs[next].offset < pos) ++next;  // one swallowed by an escape
    if (next < refs.size() && refs[next].offset == pos) {
      emit(lookup(refs[next].name, in_string), pos);
      pos += refs[next].name.size() + 1;  // the loop's ++pos steps over '}'
      ++next;
      continue;
    }
    const char c = text[pos];
    emit(text.substr(pos, 1), pos);
    if (in_string && c == '\\' && pos + 1 < text.size()) {
      ++pos;
      emit(text.substr(pos, 1), pos);  // an escaped character never ends the string
    } else if (c == '"') {
      in_string = !in_string;
    }
  }
  return out;
}

}  // namespace

std::string expand_json_template(std::string_view text,
                                 const std::function<std::string(std::string_view name, bool in_string)>& lookup) {
  return expand_json_impl(text, lookup, nullptr);
}

std::optional<std::string> json_body_problem(std::string_view text) {
  std::vector<std::size_t> source;
  const std::string neutral =
      expand_json_impl(text, [](std::string_view, bool in_string) { return in_string ? "x" : "0"; }, &source);
  const auto at = [&](std::size_t offset) {
    return offset < source.size() ? "at byte " + std::to_string(source[offset]) : std::string("at the end");
  };
  boost::json::stream_parser parser;
  boost::system::error_code error;
  const std::size_t used = parser.write_some(neutral.data(), neutral.size(), error);
  if (!error) {
    // Whatever follows the first value must be blank; then the value must be complete.
    const std::size_t rest = neutral.find_first_not_of(" \t\r\n", used);
    if (rest != std::string::npos) return "extra data after the JSON value " + at(rest);
    parser.finish(error);
    if (error) return error.message() + " at the end";
    return std::nullopt;
  }
  return error.message() + " " + at(used);
}

}  // namespace vhm::conf
