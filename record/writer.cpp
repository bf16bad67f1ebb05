#include "record/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "record/block_codec.hpp"
#include "record/file_io.hpp"
#include "record/header_json.hpp"
#include "record/preamble.hpp"

namespace vhm::record {

namespace {
// A flush of more than this is written as several zstd frames (at block
// boundaries), keeping each far below what a reader accepts per frame.
constexpr std::size_t zstd_frame_target = 8 << 20;
}  // namespace

struct RecordingWriter::State {
  std::filesystem::path path;
  int fd = -1;
  Compression compression = Compression::none;
  ZSTD_CCtx* cctx = nullptr;
  std::vector<std::uint8_t> pending;     // framed blocks not yet written
  std::vector<std::uint8_t> compressed;  // reused between flushes
  std::uint64_t file_bytes = 0;
  std::uint64_t last_time_us = 0;
  // After a failed write the file's end is unknown: nothing more is written.
  bool failed = false;
  int failed_errno = 0;

  ~State() {
    if (cctx != nullptr) ZSTD_freeCCtx(cctx);
    if (fd >= 0) ::close(fd);
  }

  bool fail(std::string& error, int* error_number, int e, std::string_view what) {
    failed = true;
    failed_errno = e;
    error = std::string(what) + " " + path.string() + ": " + io::errno_text(e);
    if (error_number != nullptr) *error_number = e;
    return false;
  }

  bool write(std::span<const std::uint8_t> bytes, std::string& error, int* error_number) {
    if (const int e = io::write_all(fd, bytes); e != 0) return fail(error, error_number, e, "cannot write");
    file_bytes += bytes.size();
    return true;
  }

  // The framed size of the blocks in pending[from...] that fit in `limit` (at least one).
  std::size_t whole_blocks(std::size_t from, std::size_t limit) const {
    std::size_t size = 0;
    while (from + size < pending.size()) {
      const std::size_t block = codec::block_overhead + codec::get_u32(pending.data() + from + size + 9);
      if (size > 0 && size + block > limit) break;
      size += block;
    }
    return size;
  }

  void append(const Block& block);

  bool flush(std::string& error, int* error_number) {
    if (failed) {
      error = "cannot write " + path.string() + ": an earlier write failed (" + io::errno_text(failed_errno) + ")";
      if (error_number != nullptr) *error_number = failed_errno;
      return false;
    }
    if (pending.empty()) return true;
    bool ok = true;
    if (compression == Compression::none) {
      ok = write(pending, error, error_number);
    } else {
      for (std::size_t at = 0; ok && at < pending.size();) {
        const std::size_t size = whole_blocks(at, zstd_frame_target);
        const std::size_t bound = ZSTD_compressBound(size);
        if (compressed.size() < bound) compressed.resize(bound);
        const std::size_t n = ZSTD_compress2(cctx, compressed.data(), compressed.size(), pending.data() + at, size);
        if (ZSTD_isError(n)) {
          error = "cannot compress for " + path.string() + ": " + ZSTD_getErrorName(n);
          if (error_number != nullptr) *error_number = 0;
          failed = true;
          failed_errno = EIO;
          return false;
        }
        ok = write(std::span(compressed).first(n), error, error_number);
        at += size;
      }
    }
    pending.clear();  // keeps the capacity: no allocation per flush in the steady state
    return ok;
  }
};

RecordingWriter::RecordingWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

RecordingWriter::~RecordingWriter() {
  if (state_->fd < 0) return;
  std::string ignored;
  state_->flush(ignored, nullptr);  // whole blocks are worth keeping; the file reads as truncated
}

std::unique_ptr<RecordingWriter> RecordingWriter::create(const WriterOptions& options, const Header& header,
                                                         std::string& error, int* error_number) {
  const auto fail = [&](int e, std::string text) -> std::unique_ptr<RecordingWriter> {
    error = std::move(text) + ": " + io::errno_text(e);
    if (error_number != nullptr) *error_number = e;
    return nullptr;
  };
  const auto refuse = [&](int e, std::string text) -> std::unique_ptr<RecordingWriter> {
    error = std::move(text);
    if (error_number != nullptr) *error_number = e;
    return nullptr;
  };
  auto state = std::make_unique<State>();
  state->path = options.path;
  state->compression = options.compression;
  if (options.compression == Compression::zstd) {
    state->cctx = ZSTD_createCCtx();
    if (state->cctx == nullptr) return fail(ENOMEM, "cannot create " + options.path.string());
    // Levels above 19 want windows a reader may refuse (docs/recording-format.md).
    ZSTD_CCtx_setParameter(state->cctx, ZSTD_c_compressionLevel, std::clamp(options.zstd_level, 1, 19));
  }
  std::filesystem::path failed_dir;
  if (!options.base_dir.empty()) {
    // The base itself is made like any missing parent (0700) on first use;
    // below it nothing is followed through a link.
    if (const int e = io::make_parent_directories(options.base_dir / ".", failed_dir); e != 0)
      return fail(e, "cannot create directory " + failed_dir.string());
    state->fd = io::open_new_below(options.base_dir, options.path, options.mode, failed_dir);
    if (state->fd == -EINVAL)
      return refuse(EINVAL, "cannot create " + options.path.string() + ": not below " + options.base_dir.string());
    if (state->fd == -ELOOP && failed_dir != options.path)
      return refuse(ELOOP, "cannot create " + options.path.string() + ": " + failed_dir.string() + " is a symbolic link");
    if (state->fd < 0)
      return fail(-state->fd, "cannot create " + (failed_dir == options.path ? "" : std::string("directory ")) +
                                  failed_dir.string());
  } else {
    if (const int e = io::make_parent_directories(options.path, failed_dir); e != 0)
      return fail(e, "cannot create directory " + failed_dir.string());
    state->fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.mode);
    if (state->fd < 0) return fail(errno, "cannot create " + options.path.string());
  }
  if (::fchmod(state->fd, options.mode) != 0) {  // the umask may have taken bits the caller asked for
    const int e = errno;
    ::unlink(options.path.c_str());
    return fail(e, "cannot set the mode of " + options.path.string());
  }
  Header written = header;
  written.compression = options.compression;
  const auto preamble = encode_preamble(written);
  if (preamble.size() > codec::preamble_fixed_size + max_header_json + codec::crc_size) {
    ::unlink(options.path.c_str());
    error = "cannot create " + options.path.string() + ": header too large";
    if (error_number != nullptr) *error_number = EINVAL;
    return nullptr;
  }
  if (!state->write(preamble, error, error_number)) {
    ::unlink(options.path.c_str());  // without a whole header the file is of no use
    return nullptr;
  }
  state->pending.reserve(256 << 10);
  return std::unique_ptr<RecordingWriter>(new RecordingWriter(std::move(state)));
}

void RecordingWriter::append(const Block& block) {
  if (block.type == BlockType::trailer) return;  // only finish() writes it: nothing may follow a trailer
  state_->append(block);
}

void RecordingWriter::State::append(const Block& block) {
  State& s = *this;
  if (s.failed) return;
  // The format promises non-decreasing times; a clock step must not break the file.
  const std::uint64_t time = std::max(block.time_us, s.last_time_us);
  s.last_time_us = time;
  const auto type = static_cast<std::uint8_t>(block.type);
  std::span<const std::uint8_t> payload(block.payload);
  do {
    const auto part = payload.first(std::min(payload.size(), max_block_payload));
    codec::append_block(s.pending, type, time, part);
    payload = payload.subspan(part.size());
  } while (!payload.empty());
}

bool RecordingWriter::append_filled(BlockType type, std::uint64_t time_us, std::size_t size,
                                   const std::function<bool(std::span<std::uint8_t>)>& fill) {
  State& s = *state_;
  if (s.failed || size > max_block_payload || type == BlockType::trailer) return false;
  const std::uint64_t time = std::max(time_us, s.last_time_us);
  const std::size_t start = s.pending.size();
  s.pending.push_back(static_cast<std::uint8_t>(type));
  codec::put_u64(s.pending, time);
  codec::put_u32(s.pending, static_cast<std::uint32_t>(size));
  s.pending.resize(start + codec::block_head_size + size);
  if (!fill(std::span(s.pending).subspan(start + codec::block_head_size))) {
    s.pending.resize(start);
    return false;
  }
  s.last_time_us = time;
  codec::put_u32(s.pending, codec::crc32(std::span(s.pending).subspan(start)));
  return true;
}

std::size_t RecordingWriter::pending_bytes() const { return state_->pending.size(); }

bool RecordingWriter::flush(std::string& error, int* error_number) {
  if (state_->fd < 0) {
    error = "cannot write " + state_->path.string() + ": already finished";
    return false;
  }
  return state_->flush(error, error_number);
}

bool RecordingWriter::finish(const Trailer& trailer, std::string& error, int* error_number) {
  State& s = *state_;
  if (s.fd < 0) {
    error = "cannot write " + s.path.string() + ": already finished";
    return false;
  }
  Trailer bounded = trailer;  // one block, whatever the peer's reason text was
  if (bounded.end_reason.size() > 4096) bounded.end_reason.resize(4096);
  const std::string json = trailer_to_json(bounded);
  Block block;
  block.type = BlockType::trailer;
  block.time_us = std::max(trailer.duration_us, s.last_time_us);
  block.payload.assign(json.begin(), json.end());
  s.append(block);
  bool ok = s.flush(error, error_number);
  if (ok && ::fdatasync(s.fd) != 0) ok = s.fail(error, error_number, errno, "cannot write");
  const int fd = std::exchange(s.fd, -1);
  if (::close(fd) != 0 && ok) ok = s.fail(error, error_number, errno, "cannot write");
  return ok;
}

std::uint64_t RecordingWriter::file_bytes() const { return state_->file_bytes; }

const std::filesystem::path& RecordingWriter::path() const { return state_->path; }

}  // namespace vhm::record
