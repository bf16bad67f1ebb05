// Names of server messages and encodings, and which encodings the server
// framer can follow (rfb/server_messages.hpp).
#include "rfb/server_messages.hpp"

namespace vhm::rfb {

std::string encoding_name(std::int32_t e) {
  namespace n = encoding;
  switch (e) {
    case n::raw: return "Raw";
    case n::copy_rect: return "CopyRect";
    case n::rre: return "RRE";
    case n::corre: return "CoRRE";
    case n::hextile: return "Hextile";
    case n::zlib: return "Zlib";
    case n::tight: return "Tight";
    case 8: return "ZlibHex";
    case 9: return "Ultra";
    case 15: return "TRLE";
    case n::zrle: return "ZRLE";
    case n::zywrle: return "ZYWRLE";
    case n::h264: return "H.264";
    case n::tight_png: return "TightPNG";
    case n::desktop_size: return "DesktopSize";
    case n::last_rect: return "LastRect";
    case n::pointer_pos: return "PointerPos";
    case n::cursor: return "Cursor";
    case n::x_cursor: return "XCursor";
    case n::qemu_extended_key: return "QEMUExtendedKeyEvent";
    case n::qemu_audio: return "QEMUAudio";
    case n::qemu_led_state: return "QEMULEDState";
    case -305: return "gii";
    case n::desktop_name: return "DesktopName";
    case n::extended_desktop_size: return "ExtendedDesktopSize";
    case n::xvp: return "xvp";
    case n::fence: return "Fence";
    case n::continuous_updates: return "ContinuousUpdates";
    case n::cursor_with_alpha: return "CursorWithAlpha";
    case -316: return "ExtendedMouseButtons";
    case n::extended_clipboard: return "ExtendedClipboard";
    case n::vmware_cursor: return "VMwareCursor";
    case n::vmware_cursor_position: return "VMwareCursorPosition";
    case n::vmware_led_state: return "VMwareLEDState";
    default: break;
  }
  if (e >= -32 && e <= -23) return "QualityLevel" + std::to_string(e + 32);
  if (e >= -256 && e <= -247) return "CompressLevel" + std::to_string(e + 256);
  if (e >= -512 && e <= -412) return "FineQualityLevel" + std::to_string(e + 512);
  switch (e) {  // TigerVNC's chroma subsampling levels
    case -768: return "Subsamp1X";
    case -767: return "Subsamp4X";
    case -766: return "Subsamp2X";
    case -765: return "SubsampGray";
    case -764: return "Subsamp8X";
    case -763: return "Subsamp16X";
    default: return std::to_string(e);
  }
}

bool tracker_frames_encoding(std::int32_t e) {
  namespace n = encoding;
  switch (e) {
    // Rectangles the framer sizes.
    case n::raw:
    case n::copy_rect:
    case n::rre:
    case n::corre:
    case n::hextile:
    case n::zlib:
    case n::tight:
    case n::zrle:
    case n::zywrle:
    case n::h264:
    case n::tight_png:
    case n::desktop_size:
    case n::last_rect:
    case n::pointer_pos:
    case n::cursor:
    case n::x_cursor:
    case n::qemu_extended_key:
    case n::qemu_led_state:
    case n::desktop_name:
    case n::extended_desktop_size:
    case n::fence:
    case n::continuous_updates:
    case n::cursor_with_alpha:
    case n::vmware_cursor:
    case n::vmware_cursor_position:
    case n::vmware_led_state:
    case n::qemu_audio:  // an empty rectangle (TigerVNC), then QEMU audio messages (255)
    // Hints and capabilities that never produce a rectangle. xvp lets the
    // server send xvp messages (250), which the framer sizes.
    case n::extended_clipboard:
    case n::xvp:
      return true;
    default:
      break;
  }
  return (e >= -32 && e <= -23)       // JPEG quality
         || (e >= -256 && e <= -247)  // compression level
         || (e >= -512 && e <= -412)  // fine quality
         || (e >= -768 && e <= -763); // subsampling
}

std::string server_message_name(std::uint8_t type) {
  namespace m = server_message;
  switch (type) {
    case m::framebuffer_update: return "FramebufferUpdate";
    case m::set_colour_map_entries: return "SetColourMapEntries";
    case m::bell: return "Bell";
    case m::server_cut_text: return "ServerCutText";
    case m::end_of_continuous_updates: return "EndOfContinuousUpdates";
    case m::fence: return "Fence";
    case m::xvp: return "xvp";
    case m::qemu: return "QEMU";
    default: return "type-" + std::to_string(type);
  }
}

}  // namespace vhm::rfb
