#include "record/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "record/block_codec.hpp"
#include "record/file_io.hpp"
#include "record/header_json.hpp"
#include "record/preamble.hpp"

namespace vhm::record {

namespace {

constexpr std::size_t reader_chunk = 64 << 10;
// Largest window a frame may ask for: the writer's levels (<= 19) stay below
// it, and a hostile frame cannot make the decoder allocate more.
constexpr int reader_window_log_max = 24;

// Bytes read but not yet parsed; grows to at most one block plus a chunk,
// because a block's length is checked before the reader waits for its bytes.
class ByteQueue {
 public:
  std::span<const std::uint8_t> view() const { return std::span(bytes_).subspan(begin_); }
  bool empty() const { return begin_ == bytes_.size(); }
  std::size_t size() const { return bytes_.size() - begin_; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == bytes_.size()) bytes_.clear(), begin_ = 0;
  }
  // Room for `n` more bytes at tail(); commit() what was filled.
  std::uint8_t* tail(std::size_t n) {
    if (begin_ > 0 && begin_ >= bytes_.size() / 2) {  // compact now and then, not on every read
      bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(begin_));
      begin_ = 0;
    }
    filled_ = bytes_.size();
    bytes_.resize(filled_ + n);
    return bytes_.data() + filled_;
  }
  void commit(std::size_t n) { bytes_.resize(filled_ + n); }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t begin_ = 0;
  std::size_t filled_ = 0;
};

}  // namespace

struct RecordingReader::State {
  std::string name;  // error prefix: the file name, empty for memory
  int fd = -1;
  std::vector<std::uint8_t> memory;
  std::size_t memory_pos = 0;
  bool source_eof = false;

  Header header;
  std::optional<Trailer> trailer;
  ByteQueue raw;             // file bytes not yet parsed (none) or not yet decompressed (zstd)
  std::uint64_t raw_offset = 0;  // file offset of raw.view()[0]
  ByteQueue blocks;          // zstd: decompressed bytes not yet parsed
  std::uint64_t block_offset = 0;  // zstd: offset of blocks.view()[0] in its frame's content
  ZSTD_DCtx* dctx = nullptr;
  bool in_frame = false;      // zstd: a frame has begun and not ended
  bool frame_ended = false;   // zstd: the last frame ended and nothing was decompressed since
  std::uint64_t frame_start = 0;
  std::uint64_t frame_content = 0;

  std::uint64_t blocks_read = 0;
  std::uint64_t last_time_us = 0;
  std::optional<ReadStatus> final_status;
  std::string final_error;
  std::string read_error;  // why fill() failed
  std::string deferred_error;  // zstd: a frame error, reported once the blocks before it are read

  ~State() {
    if (dctx != nullptr) ZSTD_freeDCtx(dctx);
    if (fd >= 0) ::close(fd);
  }

  std::string where(std::string_view text) const { return name.empty() ? std::string(text) : name + ": " + std::string(text); }

  // Reads more of the source into `raw`: bytes read, 0 at the end, -1 on an error (final_error set).
  long fill() {
    if (source_eof) return 0;
    std::uint8_t* to = raw.tail(reader_chunk);
    std::size_t n = 0;
    if (fd < 0) {
      n = std::min(reader_chunk, memory.size() - memory_pos);
      if (n > 0) std::memcpy(to, memory.data() + memory_pos, n);
      memory_pos += n;
    } else {
      ssize_t r;
      do r = ::read(fd, to, reader_chunk);
      while (r < 0 && errno == EINTR);
      if (r < 0) {
        const int e = errno;
        raw.commit(0);
        read_error = "cannot read at byte " + std::to_string(raw_offset + raw.size()) + ": " + io::errno_text(e);
        return -1;
      }
      n = static_cast<std::size_t>(r);
    }
    raw.commit(n);
    if (n == 0) source_eof = true;
    return static_cast<long>(n);
  }

  // Makes `raw` hold at least `n` bytes if the source has them.
  bool fill_to(std::size_t n) {
    while (raw.size() < n) {
      const long got = fill();
      if (got < 0) return false;
      if (got == 0) break;
    }
    return true;
  }

  ReadStatus finish(ReadStatus status, std::string text, std::string& error) {
    final_status = status;
    final_error = where(text);
    error = final_error;
    return status;
  }

  std::string block_place(std::uint64_t offset) const {
    if (header.compression == Compression::none) return "block at byte " + std::to_string(offset);
    return "zstd frame at byte " + std::to_string(frame_start) + ": block at content byte " + std::to_string(offset);
  }

  // zstd: decompresses more into `blocks`. nullopt when it did; else the final status.
  std::optional<ReadStatus> inflate(std::string& error, bool after_trailer) {
    if (!deferred_error.empty()) return finish(ReadStatus::corrupt, deferred_error, error);
    if (frame_ended && !blocks.empty())
      return finish(ReadStatus::corrupt, block_place(block_offset) + ": block split across zstd frames", error);
    if (raw.empty()) {
      const long got = fill();
      if (got < 0) return finish(ReadStatus::corrupt, read_error, error);
      if (got == 0) {
        if (in_frame)
          return finish(ReadStatus::truncated,
                        "file ends inside the zstd frame at byte " + std::to_string(frame_start), error);
        return std::nullopt;  // the caller decides what a clean end means
      }
    }
    if (!in_frame) {
      in_frame = true;
      frame_ended = false;
      frame_start = raw_offset;
      frame_content = 0;
      block_offset = 0;
    }
    const auto input = raw.view();
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    ZSTD_outBuffer out{blocks.tail(reader_chunk), reader_chunk, 0};
    const std::size_t r = ZSTD_decompressStream(dctx, &out, &in);
    blocks.commit(out.pos);
    raw.consume(in.pos);
    raw_offset += in.pos;
    // A frame error is reported after the whole blocks decompressed before
    // it: the file as it is then yields what any cut of it would.
    if (ZSTD_isError(r)) {
      deferred_error = "zstd frame at byte " + std::to_string(frame_start) + ": " + ZSTD_getErrorName(r);
      return std::nullopt;
    }
    frame_content += out.pos;
    if (frame_content > max_zstd_frame_content) {
      deferred_error = "zstd frame at byte " + std::to_string(frame_start) + " holds more than " +
                       std::to_string(max_zstd_frame_content) + " bytes";
      return std::nullopt;
    }
    if (after_trailer && out.pos > 0)
      return finish(ReadStatus::corrupt, "data after the trailer in the zstd frame at byte " + std::to_string(frame_start), error);
    if (r == 0) {
      in_frame = false;
      frame_ended = true;
    }
    return std::nullopt;
  }

  // After the trailer block: the file must end here.
  ReadStatus check_end(std::string& error) {
    if (header.compression == Compression::zstd) {
      if (!blocks.empty())
        return finish(ReadStatus::corrupt, block_place(block_offset) + ": data after the trailer", error);
      while (in_frame)  // the rest of the trailer's frame: its end, nothing more
        if (auto status = inflate(error, true)) return *status;
    }
    if (raw.empty() && fill() < 0) return finish(ReadStatus::corrupt, read_error, error);
    if (!raw.empty())
      return finish(ReadStatus::corrupt, "data after the trailer at byte " + std::to_string(raw_offset), error);
    final_status = ReadStatus::complete;
    final_error.clear();
    error.clear();
    return ReadStatus::complete;
  }

  ReadStatus next(Block& out, std::string& error) {
    if (final_status) {
      error = final_error;
      return *final_status;
    }
    const bool zstd = header.compression == Compression::zstd;
    ByteQueue& queue = zstd ? blocks : raw;
    for (;;) {
      std::uint64_t& offset = zstd ? block_offset : raw_offset;
      codec::BlockView view;
      std::size_t size = 0;
      switch (codec::decode_block(queue.view(), view, size)) {
        case codec::DecodeStatus::too_long:
          return finish(ReadStatus::corrupt,
                        block_place(offset) + ": payload length " + std::to_string(codec::get_u32(queue.view().data() + 9)) +
                            " exceeds the limit of " + std::to_string(max_block_payload),
                        error);
        case codec::DecodeStatus::bad_crc:
          return finish(ReadStatus::corrupt, block_place(offset) + ": CRC mismatch", error);
        case codec::DecodeStatus::ok: {
          if (view.time_us < last_time_us)
            return finish(ReadStatus::corrupt,
                          block_place(offset) + ": time goes backwards (" + std::to_string(view.time_us) + " after " +
                              std::to_string(last_time_us) + ")",
                          error);
          last_time_us = view.time_us;
          if (view.type == static_cast<std::uint8_t>(BlockType::trailer)) {
            const std::string json(view.payload.begin(), view.payload.end());
            std::string why;
            auto parsed = trailer_from_json(json, why);
            if (!parsed) return finish(ReadStatus::corrupt, block_place(offset) + ": " + why, error);
            queue.consume(size);
            offset += size;
            const ReadStatus status = check_end(error);
            if (status == ReadStatus::complete) trailer = std::move(parsed);
            return status;
          }
          const bool known = view.type >= static_cast<std::uint8_t>(BlockType::server_data) &&
                             view.type < static_cast<std::uint8_t>(BlockType::trailer);
          if (known) {
            out.type = static_cast<BlockType>(view.type);
            out.time_us = view.time_us;
            out.payload.assign(view.payload.begin(), view.payload.end());
          }
          queue.consume(size);
          offset += size;
          if (!known) continue;  // a block type of a later minor version
          ++blocks_read;
          return ReadStatus::block;
        }
        case codec::DecodeStatus::need_more:
          break;
      }
      if (zstd) {
        if (auto status = inflate(error, false)) return *status;
        if (raw.empty() && source_eof && !in_frame && blocks.empty())
          return finish(ReadStatus::truncated,
                        "file ends after " + std::to_string(blocks_read) + " blocks, without a trailer", error);
      } else {
        const long got = fill();
        if (got < 0) return finish(ReadStatus::corrupt, read_error, error);
        if (got == 0)
          return finish(ReadStatus::truncated,
                        raw.empty() ? "file ends after " + std::to_string(blocks_read) + " blocks, without a trailer"
                                    : "file ends inside the block at byte " + std::to_string(offset),
                        error);
      }
    }
  }

  // Preamble and header. Empty string when good, else the error (without the name).
  std::string read_header() {
    if (!fill_to(codec::preamble_fixed_size)) return where(read_error);
    std::string error;
    const auto view = raw.view();
    const auto fixed = parse_preamble_fixed(view.first(std::min(view.size(), codec::preamble_fixed_size)), error);
    if (!fixed) return where(error);
    const std::size_t total = codec::preamble_fixed_size + fixed->json_length + codec::crc_size;
    if (!fill_to(total)) return where(read_error);
    const auto all = raw.view();
    if (all.size() < total) return where("header truncated");
    if (codec::crc32(all.first(total - codec::crc_size)) != codec::get_u32(all.data() + total - codec::crc_size))
      return where("header CRC mismatch");
    const std::string json(all.begin() + codec::preamble_fixed_size, all.begin() + static_cast<std::ptrdiff_t>(total - codec::crc_size));
    auto parsed = header_from_json(json, error);
    if (!parsed) return where(error);
    if (parsed->compression != fixed->compression) return where("header JSON: compression disagrees with the preamble");
    header = std::move(*parsed);
    raw.consume(total);
    raw_offset = total;
    if (header.compression == Compression::zstd) {
      dctx = ZSTD_createDCtx();
      if (dctx == nullptr) return where("out of memory");
      ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, reader_window_log_max);
    }
    return {};
  }
};

RecordingReader::RecordingReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
RecordingReader::~RecordingReader() = default;

std::unique_ptr<RecordingReader> RecordingReader::open(const std::filesystem::path& path, std::string& error) {
  auto state = std::make_unique<State>();
  state->name = path.string();
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read.
  state->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (state->fd < 0) {
    error = "cannot open " + path.string() + ": " + io::errno_text(errno);
    return nullptr;
  }
  struct stat st {};
  if (::fstat(state->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path.string() + ": not a regular file";
    return nullptr;
  }
  ::fcntl(state->fd, F_SETFL, ::fcntl(state->fd, F_GETFL) & ~O_NONBLOCK);
  error = state->read_header();
  if (!error.empty()) return nullptr;
  return std::unique_ptr<RecordingReader>(new RecordingReader(std::move(state)));
}

std::unique_ptr<RecordingReader> RecordingReader::from_memory(std::vector<std::uint8_t> bytes, std::string& error) {
  auto state = std::make_unique<State>();
  state->memory = std::move(bytes);
  error = state->read_header();
  if (!error.empty()) return nullptr;
  return std::unique_ptr<RecordingReader>(new RecordingReader(std::move(state)));
}

const Header& RecordingReader::header() const { return state_->header; }

ReadStatus RecordingReader::next(Block& out, std::string& error) { return state_->next(out, error); }

const std::optional<Trailer>& RecordingReader::trailer() const { return state_->trailer; }

std::uint64_t RecordingReader::file_offset() const { return state_->raw_offset; }

}  // namespace vhm::record
