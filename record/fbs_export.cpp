#include "record/fbs_export.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <vector>

#include "record/block_codec.hpp"
#include "record/file_io.hpp"
#include "record/reader.hpp"

namespace vhm::record {

namespace {

constexpr std::string_view fbs_magic = "FBS 001.000\n";
constexpr std::size_t fbs_write_chunk = 1 << 20;

void append_fbs_block(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> data, std::uint64_t time_us) {
  codec::put_u32(out, static_cast<std::uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  out.insert(out.end(), (4 - data.size() % 4) % 4, 0);
  const std::uint64_t ms = time_us / 1000;
  codec::put_u32(out, static_cast<std::uint32_t>(std::min<std::uint64_t>(ms, std::numeric_limits<std::uint32_t>::max())));
}

// What a 3.3 server with security None sends before its first message: the
// player needs it to start, and the recording holds the ServerInit only as fields.
std::vector<std::uint8_t> handshake(const Header& h) {
  static constexpr std::string_view version = "RFB 003.003\n";
  std::vector<std::uint8_t> out(version.begin(), version.end());
  codec::put_u32(out, 1);  // security type None
  codec::put_u16(out, h.server_init.width);
  codec::put_u16(out, h.server_init.height);
  const PixelFormat& format = h.viewer_pixel_format ? *h.viewer_pixel_format : h.server_init.pixel_format;
  out.insert(out.end(), format.bytes.begin(), format.bytes.end());
  codec::put_u32(out, static_cast<std::uint32_t>(h.server_init.desktop_name.size()));
  out.insert(out.end(), h.server_init.desktop_name.begin(), h.server_init.desktop_name.end());
  return out;
}

// Moves `tmp` to `out`; without `overwrite` an existing `out` stays (RENAME_NOREPLACE, or link where unsupported).
int move_into_place(const std::string& tmp, const std::filesystem::path& out, bool overwrite) {
  if (overwrite) return ::rename(tmp.c_str(), out.c_str()) == 0 ? 0 : errno;
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::link(tmp.c_str(), out.c_str()) != 0) return errno;
  ::unlink(tmp.c_str());
  return 0;
}

}  // namespace

ExportResult export_fbs(const std::filesystem::path& in, const std::filesystem::path& out, bool overwrite) {
  ExportResult result;
  struct stat st {};
  if (!overwrite && ::lstat(out.c_str(), &st) == 0) {
    result.error = "refusing to overwrite " + out.string();
    return result;
  }
  std::string error;
  auto reader = RecordingReader::open(in, error);
  if (!reader) {
    result.error = error;
    return result;
  }
  const Header& header = reader->header();
  if (!header.content_visible) {
    result.error = "nothing to export: " + in.string() + ": the proxy could not see the session's content (" +
                   header.not_visible_reason + ")";
    return result;
  }

  std::string tmp = out.string() + ".tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600: a recording's content stays private
  if (fd < 0) {
    result.error = "cannot create " + tmp + ": " + io::errno_text(errno);
    return result;
  }
  const auto fail = [&](std::string text) {
    ::close(fd);
    ::unlink(tmp.c_str());
    result.error = std::move(text);
    result.ok = false;
    return result;
  };
  std::vector<std::uint8_t> buffer(fbs_magic.begin(), fbs_magic.end());
  append_fbs_block(buffer, handshake(header), 0);
  result.blocks = 1;
  const auto write_out = [&]() {
    const int e = io::write_all(fd, buffer);
    result.bytes += buffer.size();
    buffer.clear();
    return e;
  };
  Block block;
  for (;;) {
    const ReadStatus status = reader->next(block, error);
    if (status == ReadStatus::corrupt) return fail(error);
    if (status == ReadStatus::truncated) result.source_truncated = true;
    if (status != ReadStatus::block) break;
    if (block.type != BlockType::server_data || block.payload.empty()) continue;  // never an empty FBS block
    append_fbs_block(buffer, block.payload, block.time_us);
    ++result.blocks;
    if (buffer.size() >= fbs_write_chunk)
      if (const int e = write_out(); e != 0) return fail("cannot write " + tmp + ": " + io::errno_text(e));
  }
  if (const int e = write_out(); e != 0) return fail("cannot write " + tmp + ": " + io::errno_text(e));
  if (::fdatasync(fd) != 0) return fail("cannot write " + tmp + ": " + io::errno_text(errno));
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    result.error = "cannot write " + tmp + ": " + io::errno_text(e);
    return result;
  }
  if (const int e = move_into_place(tmp, out, overwrite); e != 0) {
    ::unlink(tmp.c_str());
    result.error = (e == EEXIST ? "refusing to overwrite " + out.string()
                                : "cannot rename " + tmp + " to " + out.string() + ": " + io::errno_text(e));
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace vhm::record
