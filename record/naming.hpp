#pragma once
// File names of recordings from the `recording: name:` template. Placeholders
// are {session_id} {timestamp} {client_ip} {display} {user} (and any event
// field); every substituted value is reduced to [A-Za-z0-9._-] (others become
// '_', a leading '.' becomes '_', empty becomes "unknown"), so no value can
// name a directory, go up with "..", or hide a file. The template itself may
// contain '/' to make subdirectories; config validation refuses absolute
// templates and ".." segments.
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vhm::record {

inline constexpr std::string_view default_name_template = "{timestamp}_{session_id}_{client_ip}.vhmrec";

// Returns the error message when the template is unusable (unknown
// placeholder, absolute, "..", empty segment, empty, unbalanced braces),
// nullopt when it is valid. known_name_fields() are the accepted placeholders.
std::optional<std::string> check_name_template(std::string_view name_template);

// The placeholders a template may use: every event field name.
std::span<const std::string_view> known_name_fields();

// {timestamp} is `compact_utc` ("20261129T213000Z"); other values come from `fields`.
std::string expand_name(std::string_view name_template, const std::map<std::string, std::string>& fields,
                        std::string_view compact_utc);

// A value as it may appear in a file name (longer values are cut to
// max_name_part bytes, so a peer's desktop name cannot exceed NAME_MAX).
inline constexpr std::size_t max_name_part = 100;
std::string safe_name_part(std::string_view value);

}  // namespace vhm::record
