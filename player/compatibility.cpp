#include "player/compatibility.hpp"

#include <algorithm>

namespace vhm::player {
namespace {

const char* known_encoding(std::int32_t encoding) {
  switch (encoding) {
    case 0: return "Raw";
    case 1: return "CopyRect";
    case 2: return "RRE";
    case 4: return "CoRRE";
    case 5: return "Hextile";
    case 6: return "Zlib";
    case 7: return "Tight";
    case 8: return "ZlibHex";
    case 15: return "TRLE";
    case 16: return "ZRLE";
    case 21: return "JPEG";
    case 50: return "OpenH264";
    case -223: return "DesktopSize";
    case -224: return "LastRect";
    case -232: return "PointerPos";
    case -239: return "Cursor";
    case -240: return "XCursor";
    case -257: return "QEMU PointerMotionChange";
    case -258: return "QEMU ExtendedKeyEvent";
    case -259: return "QEMU Audio";
    case -305: return "gii";
    case -307: return "DesktopName";
    case -308: return "ExtendedDesktopSize";
    case -309: return "xvp";
    case -312: return "Fence";
    case -313: return "ContinuousUpdates";
    case -314: return "CursorWithAlpha";
    case -1063131698: return "ExtendedClipboard";
    default: return nullptr;
  }
}

}  // namespace

bool same_pixel_format(const record::PixelFormat& a, const record::PixelFormat& b) {
  const auto& x = a.bytes;
  const auto& y = b.bytes;
  if (x[0] != y[0] || x[1] != y[1]) return false;  // bits per pixel, depth
  const bool true_colour = x[3] != 0;
  if (true_colour != (y[3] != 0)) return false;
  if (x[0] > 8 && (x[2] != 0) != (y[2] != 0)) return false;  // big-endian flag
  if (true_colour && !std::equal(x.begin() + 4, x.begin() + 13, y.begin() + 4)) return false;  // maxima, shifts
  return true;
}

bool is_hint_encoding(std::int32_t e) {
  return (e >= -256 && e <= -247)     // compression level
         || (e >= -32 && e <= -23)    // JPEG quality level
         || (e >= -512 && e <= -412)  // fine quality level
         || (e >= -768 && e <= -763); // subsampling level
}

std::string encoding_name(std::int32_t encoding) {
  const char* name = known_encoding(encoding);
  return name ? std::string(name) + " (" + std::to_string(encoding) + ")" : "encoding " + std::to_string(encoding);
}

std::optional<std::string> incompatibility(const record::PixelFormat& recorded,
                                           const std::optional<std::vector<std::int32_t>>& recorded_encodings,
                                           const record::PixelFormat& viewer_format,
                                           const std::optional<std::vector<std::int32_t>>& viewer_encodings) {
  if (!same_pixel_format(recorded, viewer_format))
    return "asked for pixel format " + record::describe(viewer_format) + "; this recording holds " +
           record::describe(recorded) + ", which the player cannot convert";
  if (!recorded_encodings) return std::nullopt;  // unknown: nothing to check against
  std::vector<std::string> missing;
  for (const auto encoding : *recorded_encodings) {
    if (encoding == 0 || is_hint_encoding(encoding)) continue;  // Raw: every viewer decodes it
    const bool accepted =
        viewer_encodings && std::find(viewer_encodings->begin(), viewer_encodings->end(), encoding) != viewer_encodings->end();
    if (!accepted) missing.push_back(encoding_name(encoding));
  }
  if (missing.empty()) return std::nullopt;
  std::string list;
  for (const auto& name : missing) list += (list.empty() ? "" : ", ") + name;
  if (!viewer_encodings)
    return "sent no SetEncodings (so it decodes only Raw), but the recorded updates may use " + list +
           "; the player cannot re-encode them";
  return "does not accept " + list + ", which the recorded updates may use; the player cannot re-encode them";
}

}  // namespace vhm::player
