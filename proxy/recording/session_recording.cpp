// The session's side of recording: where the handshake ends it starts the
// recorder tap (if its listener records), turns the recorder's reports into
// events (recording_started / _failed / _finished, {recording_path},
// {recording_bytes}), applies `on_error`, and closes the file before the
// session's `disconnect`, so a hook on either event finds a finished file.
#include "util/log.hpp"

#include "proxy/recording/recorder_service.hpp"
#include "proxy/recording/recorder_tap.hpp"
#include "proxy/tracking/tracker_tap.hpp"
#include "proxy/session.hpp"
#include "record/naming.hpp"
#include "util/iso_time.hpp"
#include "util/printable.hpp"

namespace vhm::proxy {

using conf::EventKind;
using conf::Field;

namespace {

constexpr auto close_wait = std::chrono::seconds(10);  // for the last flush of a stalled disk

// Fields worth keeping in a recording's header: what identifies the session.
std::map<std::string, std::string> header_fields(const hooks::Event& fields) {
  std::map<std::string, std::string> out;
  for (const auto field : {Field::session_id, Field::client_ip, Field::client_port, Field::listen, Field::target_host,
                           Field::target_port, Field::display, Field::user, Field::rfb_version, Field::security_type,
                           Field::desktop_name, Field::width, Field::height}) {
    if (!fields[field].empty()) out.emplace(std::string(conf::to_string(field)), fields[field]);
  }
  return out;
}

}  // namespace

void Session::start_recording() {
  const auto& config = listener_->config.recording;
  if (!config.enabled || !services_.recorder || !parser_) return;
  const auto& summary = parser_->summary();

  record::Header header;
  header.session = header_fields(fields_.full());
  header.rfb_version = fields_[Field::rfb_version];
  header.security_type = fields_[Field::security_type];
  header.content_visible = server_init_seen_;
  if (!server_init_seen_)
    header.not_visible_reason = tls_visibility() == rfb::TlsVisibility::opaque && summary.vencrypt_subtype != 0
                                    ? "VeNCrypt TLS is not terminated by the proxy (listener vencrypt: pass)"
                                    : "security type " + summary.security_name + " hides the session from the proxy";
  header.server_init.width = summary.width;
  header.server_init.height = summary.height;
  header.server_init.desktop_name = summary.desktop_name;
  std::copy(summary.pixel_format.begin(), summary.pixel_format.end(), header.server_init.pixel_format.bytes.begin());

  std::map<std::string, std::string> name_fields;
  for (std::size_t i = 0; i < conf::field_count; ++i)
    name_fields.emplace(std::string(conf::field_names[i]), fields_.full().values[i]);
  const auto path = config.dir / record::expand_name(config.name, name_fields, util::compact_utc(std::chrono::system_clock::now()));

  RecorderTap::Callbacks callbacks;
  callbacks.started = [this](const std::filesystem::path& file) {
    fields_[Field::recording_path] = file.string();
    spdlog::info("session {}: recording to {}", id(), file.string());
    publish(EventKind::recording_started);
  };
  const bool fail_closed = config.on_error == conf::RecordingOnError::close_session;
  callbacks.on_error = [this, fail_closed](const std::string& error) {
    if (fail_closed) close(DisconnectReason::recording_failed, error);
  };
  callbacks.failed = [this, fail_closed](const std::string& error) {
    fields_[Field::recording_path] = recorder_->path().string();
    spdlog::error("session {}: recording failed ({}): {}; {}", id(), recorder_->path().string(),
                  util::printable(error), fail_closed ? "the session is closed (on_error: close_session)"
                                                      : "the session goes on unrecorded (on_error: continue)");
    publish(EventKind::recording_failed, error);
  };
  callbacks.finished = [this](const std::filesystem::path& file, std::uint64_t bytes) {
    fields_[Field::recording_bytes] = std::to_string(bytes);
    spdlog::info("session {}: recording finished: {} ({} bytes)", id(), file.string(), bytes);
    publish(EventKind::recording_finished);
  };
  auto tap = std::make_unique<RecorderTap>(*services_.recorder, config, std::move(header), path,
                                           server_.get_executor(), std::move(callbacks));
  recorder_ = tap.get();
  taps_.push_back(std::move(tap));
  if (tracker_) tracker_->copies_only();  // one tap tees a direction: the recorder's pipe takes it
  recorder_->start(handshake_tail(rfb::Direction::client_to_server), handshake_tail(rfb::Direction::server_to_client));
}

bool Session::recording() const { return recorder_ && recorder_->writing(); }

awaitable<void> Session::end_recording() {
  if (!recorder_) co_return;
  asio::steady_timer closed(server_.get_executor());
  closed.expires_after(close_wait);
  bool done = false;
  const auto reason = end_reason_.value_or(DisconnectReason::client_closed);
  recorder_->end(std::string(to_string(reason)), bytes_out_ - handshake_bytes_out_, bytes_in_ - handshake_bytes_in_,
                 [&] {
                   done = true;
                   closed.cancel();
                 });
  if (!done) co_await closed.async_wait(use_tuple);
  if (!done)
    spdlog::error("session {}: recording {} not closed within {}s (disk stalled?); it may read as truncated", id(),
                  recorder_->path().string(), close_wait.count());
  // No report may reach this session once it is gone.
  recorder_ = nullptr;
  taps_.clear();
}

}  // namespace vhm::proxy
