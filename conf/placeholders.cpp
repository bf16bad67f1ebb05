#include "conf/placeholders.hpp"

namespace vhm::conf {
namespace {

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

// Length of the placeholder starting at text[pos] == '{', or 0 if it is literal.
std::size_t placeholder_length(std::string_view text, std::size_t pos) {
  std::size_t i = pos + 1;
  if (i >= text.size() || !is_ident_start(text[i])) return 0;
  while (i < text.size() && is_ident_char(text[i])) ++i;
  if (i >= text.size() || text[i] != '}') return 0;
  return i - pos + 1;
}

template <typename OnPlaceholder, typename OnLiteral>
void scan(std::string_view text, OnPlaceholder on_placeholder, OnLiteral on_literal) {
  std::size_t literal_start = 0;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] != '{') continue;
    const std::size_t len = placeholder_length(text, pos);
    if (len == 0) continue;
    on_literal(text.substr(literal_start, pos - literal_start));
    on_placeholder(text.substr(pos + 1, len - 2), pos);
    pos += len - 1;
    literal_start = pos + 1;
  }
  on_literal(text.substr(literal_start));
}

}  // namespace

std::vector<PlaceholderRef> find_placeholders(std::string_view text) {
  std::vector<PlaceholderRef> refs;
  scan(
      text, [&](std::string_view name, std::size_t pos) { refs.push_back({std::string(name), pos}); },
      [](std::string_view) {});
  return refs;
}

std::string expand_placeholders(std::string_view text,
                                const std::function<std::string(std::string_view)>& lookup) {
  std::string out;
  out.reserve(text.size());
  scan(
      text, [&](std::string_view name, std::size_t) { out += lookup(name); },
      [&](std::string_view literal) { out += literal; });
  return out;
}

}  // namespace vhm::conf
