#include "player/viewer_session.hpp"

#include "util/log.hpp"

#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "rfb/client_messages.hpp"
#include "player/compatibility.hpp"
#include "player/handshake.hpp"
#include "player/recorded_viewer.hpp"
#include "record/reader.hpp"

namespace vhm::player {
namespace {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

// Large enough for the largest SetEncodings (4 + 4 * 65535); larger messages
// (clipboard) are skipped as they arrive instead of being held.
constexpr std::size_t max_held_message = 512 * 1024;

std::string peer_name(const tcp::socket& socket) {
  boost::system::error_code error;
  const auto peer = socket.remote_endpoint(error);
  if (error) return "viewer (unknown address)";
  auto address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  const auto text = address.to_string();
  return "viewer " + (address.is_v6() ? "[" + text + "]" : text) + ":" + std::to_string(peer.port());
}

std::string seconds_text(double seconds) {
  return std::to_string(std::lround(seconds * 10) / 10) + "." + std::to_string(std::lround(seconds * 10) % 10) + " s";
}

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

awaitable<void> sleep_for(asio::steady_timer& timer, std::chrono::milliseconds duration) {
  timer.expires_after(duration);
  co_await timer.async_wait(use_tuple);
}

}  // namespace

ViewerSession::ViewerSession(tcp::socket socket, const PlaybackSettings& settings)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      settings_(settings),
      name_(peer_name(socket_)),
      connected_(Clock::now()),
      viewer_format_(settings.playable->pixel_format) {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
}

awaitable<void> ViewerSession::run() {
  spdlog::info("{} connected", name_);
  // Not `if (co_await handshake())`: GCC 12 miscompiles a co_await in an if
  // condition followed by one in its body (the frame resumes at a bad index).
  const bool logged_in = co_await handshake();
  if (logged_in) co_await (read_messages() && stream_recording());
  end();
  spdlog::info("{} left after {} ({} recorded bytes sent)", name_, seconds_text(since(connected_)), bytes_sent_);
}

void ViewerSession::stop(const std::string& why) {
  if (closing_) return;
  spdlog::info("{}: closing ({})", name_, why);
  end();
}

void ViewerSession::end() {
  closing_ = true;
  timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

awaitable<bool> ViewerSession::handshake() {
  asio::steady_timer deadline(socket_.get_executor());
  const HandshakeSettings settings{settings_.password, settings_.server_init};
  auto outcome = co_await (serve_handshake(socket_, settings) || sleep_for(deadline, settings_.handshake_timeout));
  if (outcome.index() == 1) {
    spdlog::warn("{}: no complete handshake within {} s; closed", name_, settings_.handshake_timeout.count() / 1000);
    co_return false;
  }
  const auto& result = std::get<0>(outcome);
  if (closing_) co_return false;  // the player is stopping: stop() logged it
  if (!result.ok) {
    spdlog::warn("{}: {}; closed", name_, result.failure);
    co_return false;
  }
  spdlog::info("{} logged in (RFB {}, security {}); waiting for its first update request", name_, result.version,
               result.security);
  co_return true;
}

// ---------------------------------------------------------------- viewer -> player

awaitable<void> ViewerSession::read_messages() {
  std::array<std::uint8_t, 16384> chunk{};
  while (!closing_) {
    auto [error, n] = co_await socket_.async_read_some(asio::buffer(chunk), use_tuple);
    if (error) {
      if (!closing_) spdlog::debug("{}: connection ended ({})", name_, error.message());
      break;
    }
    if (!consume({chunk.data(), n})) break;
  }
  end();  // the viewer left (or was refused): stop the streamer too
}

bool ViewerSession::consume(std::span<const std::uint8_t> bytes) {
  const auto skipped = std::min<std::uint64_t>(skip_, bytes.size());
  skip_ -= skipped;
  bytes = bytes.subspan(static_cast<std::size_t>(skipped));
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  std::size_t offset = 0;
  for (;;) {
    const std::span<const std::uint8_t> rest(pending_.data() + offset, pending_.size() - offset);
    const auto frame = rfb::measure_client_message(rest, rfb::no_length_limits);
    if (frame.kind == rfb::ClientMessageSize::Kind::need_more) break;
    if (frame.kind == rfb::ClientMessageSize::Kind::invalid) {
      spdlog::warn("{}: {}; the player cannot follow its messages, closing", name_, frame.error);
      return false;
    }
    if (rest.size() >= frame.size) {
      if (!handle_message(rest.first(static_cast<std::size_t>(frame.size)))) return false;
      offset += static_cast<std::size_t>(frame.size);
      continue;
    }
    if (frame.size > max_held_message) {  // nobody needs its content: drop it as it comes
      skip_ = frame.size - rest.size();
      offset = pending_.size();
    }
    break;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset));
  return true;
}

bool ViewerSession::handle_message(std::span<const std::uint8_t> message) {
  switch (message[0]) {
    case rfb::client_message::set_pixel_format:
      viewer_format_ = record::pixel_format_of_message(message);
      return !playing_ || check_compatible("during playback");
    case rfb::client_message::set_encodings:
      viewer_encodings_ = record::encodings_of_message(message);
      return !playing_ || check_compatible("during playback");
    case rfb::client_message::framebuffer_update_request:
      if (playing_) return true;  // the recording sets the pace, not the requests
      if (!check_compatible("before playback")) return false;
      playing_ = true;
      timer_.cancel();  // wakes the streamer
      return true;
    default:
      spdlog::trace("{} sent {} ({} bytes), ignored", name_, rfb::client_message_name(message[0]), message.size());
      return true;
  }
}

bool ViewerSession::check_compatible(const char* when) {
  const auto problem = incompatibility(settings_.playable->pixel_format, settings_.playable->header.viewer_encodings,
                                       viewer_format_, viewer_encodings_);
  if (!problem) return true;
  if (playing_)
    spdlog::warn("{} {} {}; closing ({} recorded bytes were sent)", name_, *problem, when, bytes_sent_);
  else
    spdlog::warn("{} {}; closing before sending any recorded byte", name_, *problem);
  return false;
}

// ---------------------------------------------------------------- player -> viewer

awaitable<void> ViewerSession::wait_until_playing() {
  while (!playing_ && !closing_) {
    timer_.expires_at(Clock::time_point::max());
    co_await timer_.async_wait(use_tuple);
  }
}

awaitable<void> ViewerSession::stream_recording() {
  co_await wait_until_playing();
  if (closing_) co_return;
  const auto& playable = *settings_.playable;
  std::string error;
  auto reader = record::RecordingReader::open(playable.path, error);
  if (!reader) {
    spdlog::error("{}: {}; closing", name_, error);
    end();
    co_return;
  }
  playback_start_ = Clock::now();
  spdlog::info("{}: playing from {} at speed {}", name_, seconds_text(settings_.pace.start_us / 1e6),
               settings_.pace.speed);
  record::Block block;
  RecordedViewerMessages recorded_viewer;
  for (;;) {
    const auto status = reader->next(block, error);
    if (status == record::ReadStatus::block) {
      if (block.type == record::BlockType::viewer_data) {
        if (const auto why = recorded_viewer_change(recorded_viewer.feed(block.payload), block.time_us)) {
          spdlog::warn("{} {}; playback ends here", name_, *why);
          co_await finish_stream(false);
          co_return;
        }
        continue;
      }
      if (block.type != record::BlockType::server_data || block.payload.empty()) continue;
      if (!co_await send_block(block.payload, block.time_us)) co_return;
      continue;
    }
    if (status == record::ReadStatus::truncated)
      spdlog::warn("{}: the recording is truncated here ({}); showing what it holds", name_,
                   error.empty() ? "no trailer" : without_file_name(playable.path, error));
    else if (status == record::ReadStatus::corrupt)
      spdlog::warn("{}: the recording is damaged here ({}); showing what came before", name_,
                   without_file_name(playable.path, error));
    break;
  }
  co_await finish_stream(true);
}

std::optional<std::string> ViewerSession::recorded_viewer_change(const std::vector<RecordedViewerChange>& changes,
                                                                 std::uint64_t time_us) const {
  const auto& served = settings_.playable->pixel_format;
  const auto when = " (the recorded viewer's change at " + seconds_text(time_us / 1e6) + ")";
  for (const auto& change : changes) {
    if (change.pixel_format && !same_pixel_format(*change.pixel_format, served))
      return "would need pixel format " + record::describe(*change.pixel_format) + " from here on" + when +
             "; it was served " + record::describe(served) + ", and the player cannot convert";
    if (change.encodings)
      if (auto problem = incompatibility(served, change.encodings, viewer_format_, viewer_encodings_))
        return *problem + when;
  }
  return std::nullopt;
}

awaitable<bool> ViewerSession::send_block(std::span<const std::uint8_t> payload, std::uint64_t time_us) {
  const auto due = playback_start_ + due_after(settings_.pace, time_us);
  if (due > Clock::now()) {
    timer_.expires_at(due);
    co_await timer_.async_wait(use_tuple);
    if (closing_) co_return false;
  }
  // One block in flight: the file is read no faster than this viewer takes it.
  auto [error, n] = co_await asio::async_write(socket_, asio::buffer(payload.data(), payload.size()), use_tuple);
  bytes_sent_ += n;
  if (error) {
    if (!closing_) spdlog::debug("{}: write failed ({})", name_, error.message());
    end();
    co_return false;
  }
  co_return true;
}

awaitable<void> ViewerSession::finish_stream(bool complete) {
  if (closing_) co_return;
  const auto played = since(playback_start_);
  const char* what = complete ? "end of the recording" : "end of what it can be shown";
  if (!settings_.loop) {
    spdlog::info("{}: {} ({} recorded bytes in {}); showing the last frame until the viewer leaves", name_, what,
                 bytes_sent_, seconds_text(played));
    co_return;  // the reader keeps the connection until the viewer closes it
  }
  // --loop: a VNC stream cannot restart in place (the viewer's decoders keep
  // state, e.g. zlib streams), so the connection ends and a viewer that
  // reconnects starts from the beginning. Half-close first, so the last
  // bytes arrive before the FIN and no reset discards them.
  spdlog::info("{}: {} ({} recorded bytes in {}); --loop: closing so that it reconnects", name_, what, bytes_sent_,
               seconds_text(played));
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  co_await sleep_for(timer_, settings_.loop_close_grace);
  end();
}

}  // namespace vhm::player
