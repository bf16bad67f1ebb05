#pragma once
// The recording file format, version 1 (docs/recording-format.md is the spec).
// A file is a fixed preamble, a JSON header, then blocks, the last of which is
// the trailer. Every block carries its own CRC, so a file cut at any byte
// (kill -9, power loss) still reads up to its last complete block. With zstd
// the blocks after the header are grouped into independent zstd frames, one
// per flush, so the same holds.
//
// Never in a file: the handshake bytes. Blocks start after ServerInit; what
// the handshake told (version, security type, ServerInit) is in the header.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vhm::record {

inline constexpr std::string_view file_magic = "VHM-REC\n";  // 8 bytes
inline constexpr std::uint16_t format_major = 1;             // a reader refuses other majors
inline constexpr std::uint16_t format_minor = 0;             // later minors only add JSON keys / block types
inline constexpr std::size_t max_header_json = 1 << 20;      // 1 MiB
inline constexpr std::size_t max_block_payload = 4 << 20;    // 4 MiB; writers split larger chunks
inline constexpr std::size_t max_zstd_frame_content = 64 << 20;  // a reader refuses frames that decompress to more

enum class Compression : std::uint8_t { none = 0, zstd = 1 };

enum class BlockType : std::uint8_t {
  server_data = 1,  // bytes the server sent the viewer
  viewer_data = 2,  // bytes the viewer sent the server (whole messages; input only with include_input)
  note = 3,         // UTF-8 text: something the reader should know ("viewer stream not followed: ...")
  trailer = 4,      // JSON (Trailer): the last block of a complete file
};

struct PixelFormat {  // the 16 bytes of RFB's PIXEL_FORMAT, as on the wire
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const PixelFormat&, const PixelFormat&) = default;
};

struct ServerInit {
  std::uint16_t width = 0;
  std::uint16_t height = 0;
  PixelFormat pixel_format;
  std::string desktop_name;  // bytes as sent (usually UTF-8 or Latin-1)
};

struct Header {
  Compression compression = Compression::none;
  std::int64_t start_unix_us = 0;  // wall clock of time 0 of the blocks
  // The session's event fields at the start (session_id, client_ip, client_port,
  // listen, target_host, target_port, display, user, rfb_version, security_type, ...).
  std::map<std::string, std::string> session;
  std::string rfb_version;    // negotiated, "3.8"
  std::string security_type;  // "VncAuth", "VeNCrypt/TLSVnc", ...
  // False: the proxy could not see the session's content (e.g. TLS it does not
  // terminate); then no data blocks follow and `not_visible_reason` says why.
  bool content_visible = true;
  std::string not_visible_reason;
  bool include_input = false;  // viewer key/pointer/clipboard messages are in viewer_data blocks
  ServerInit server_init;
  // The viewer's SetPixelFormat / SetEncodings sent before its first
  // FramebufferUpdateRequest (what the recorded updates are encoded for).
  std::optional<PixelFormat> viewer_pixel_format;
  std::optional<std::vector<std::int32_t>> viewer_encodings;
};

struct Block {
  BlockType type = BlockType::server_data;
  std::uint64_t time_us = 0;  // since Header::start_unix_us; never decreases within a file
  std::vector<std::uint8_t> payload;
};

struct Trailer {
  std::uint64_t duration_us = 0;
  std::uint64_t server_bytes = 0;           // relayed server -> viewer after ServerInit
  std::uint64_t viewer_bytes = 0;           // relayed viewer -> server after ClientInit
  std::uint64_t recorded_server_bytes = 0;  // payload bytes in server_data blocks
  std::uint64_t recorded_viewer_bytes = 0;  // payload bytes in viewer_data blocks
  std::uint64_t dropped_bytes = 0;          // relayed but not recorded (queue overflow with on_error: continue)
  std::string end_reason;                   // the session's disconnect reason
};

// PIXEL_FORMAT as text for messages: "32bpp depth 24 little-endian true-colour r255<<16 g255<<8 b255<<0".
std::string describe(const PixelFormat& format);

// The settings a viewer sends, from whole messages (rfb/client_messages.hpp
// frames them): SetPixelFormat (20 bytes), SetEncodings (4 + 4n bytes).
PixelFormat pixel_format_of_message(std::span<const std::uint8_t> set_pixel_format);
std::vector<std::int32_t> encodings_of_message(std::span<const std::uint8_t> set_encodings);

}  // namespace vhm::record
