#pragma once
// Header and Trailer <-> their JSON text (docs/recording-format.md). Readers
// ignore keys they do not know, so a later minor version can add some; a known
// key with the wrong type is an error.
#include <optional>
#include <string>
#include <string_view>

#include "record/format.hpp"

namespace vhm::record {

inline constexpr std::string_view writer_name = "vnc-hooks-manager";

std::string header_to_json(const Header& header);
// nullopt and `error` ("header JSON: ...") when the text is not a valid header.
std::optional<Header> header_from_json(std::string_view json, std::string& error);

std::string trailer_to_json(const Trailer& trailer);
std::optional<Trailer> trailer_from_json(std::string_view json, std::string& error);

std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);  // nullopt unless even length and [0-9a-fA-F]

}  // namespace vhm::record
