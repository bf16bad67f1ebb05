#pragma once
// Can this viewer show the recorded bytes as they are? The player relays the
// recorded updates untouched, so the viewer must use the pixel format they are
// encoded in and accept every encoding the recorded viewer announced (the
// server may have used any of them). Otherwise the viewer would draw garbage
// or lose sync, so the player refuses it instead.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "record/format.hpp"

namespace vhm::player {

// Same pixels on the wire: padding ignored; byte order only above 8 bpp;
// maxima and shifts only for true colour.
bool same_pixel_format(const record::PixelFormat& a, const record::PixelFormat& b);

// Quality, compression, fine-quality and subsampling levels: hints to the
// server that change nothing the viewer has to decode.
bool is_hint_encoding(std::int32_t encoding);

std::string encoding_name(std::int32_t encoding);  // "Tight (7)", "-239 (Cursor)"...

// nullopt when the viewer can show the recording; else what is wrong, as
// "asked for pixel format X; this recording holds Y, which the player cannot convert".
// `viewer_encodings`: nullopt when it sent no SetEncodings (Raw only).
std::optional<std::string> incompatibility(const record::PixelFormat& recorded,
                                           const std::optional<std::vector<std::int32_t>>& recorded_encodings,
                                           const record::PixelFormat& viewer_format,
                                           const std::optional<std::vector<std::int32_t>>& viewer_encodings);

}  // namespace vhm::player
