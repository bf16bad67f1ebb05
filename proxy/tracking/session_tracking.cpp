// The session's side of message tracking and the listener's `session:` rules
// (docs/session-policy.md): where the handshake ends it starts the tracker
// tap if anything needs it, turns what the tracker noticed into events
// (clipboard, resize, screen_change, desktop_name), runs the idle and
// duration timers, and puts the counters on `disconnect`.
#include "util/log.hpp"

#include "proxy/session.hpp"
#include "proxy/tracking/clipboard_file.hpp"
#include "proxy/tracking/tracker_tap.hpp"
#include "rfb/server_messages.hpp"
#include "util/printable.hpp"

namespace vhm::proxy {

using conf::EventKind;
using conf::Field;

namespace {

rfb::ClipboardRuleAction to_rule(conf::ClipboardAction action) {
  switch (action) {
    case conf::ClipboardAction::allow: return rfb::ClipboardRuleAction::allow;
    case conf::ClipboardAction::deny: return rfb::ClipboardRuleAction::deny;
    case conf::ClipboardAction::log: return rfb::ClipboardRuleAction::log;
  }
  return rfb::ClipboardRuleAction::deny;
}

const char* direction_name(rfb::Direction direction) {
  return direction == rfb::Direction::client_to_server ? "viewer_to_server" : "server_to_viewer";
}

constexpr std::uint64_t default_kept_text = 1u << 20;  // clipboard_content: file without max_bytes

std::string seconds_text(std::chrono::seconds s) { return std::to_string(s.count()) + "s"; }

}  // namespace

rfb::TrackerPolicy Session::tracker_policy() const {
  const auto& rules = listener_->config.session;
  const auto config = hooks_config();
  rfb::TrackerPolicy policy;
  policy.view_only = view_only_;
  policy.viewer_to_server = to_rule(rules.viewer_to_server.action);
  policy.server_to_viewer = to_rule(rules.server_to_viewer.action);
  policy.clipboard_max_bytes = rules.clipboard_max_bytes;
  if (rules.clipboard_content == conf::ClipboardContent::file)
    policy.keep_clipboard_text = rules.clipboard_max_bytes.value_or(default_kept_text);
  policy.strip_unknown_encodings = rules.unknown_encodings == conf::UnknownEncodings::strip;
  policy.idle_needs_viewer = rules.input_idle_timeout.has_value();
  policy.follow_viewer = viewer_rules_apply() || policy.idle_needs_viewer || rules.track;
  policy.follow_server = policy.server_to_viewer != rfb::ClipboardRuleAction::allow || policy.clipboard_max_bytes ||
                         rules.track || !config->hooks_for(EventKind::resize).empty() ||
                         !config->hooks_for(EventKind::screen_change).empty() ||
                         !config->hooks_for(EventKind::desktop_name).empty();
  return policy;
}

bool Session::viewer_rules_apply() const {
  const auto& rules = listener_->config.session;
  return view_only_ || rules.viewer_to_server.action != conf::ClipboardAction::allow ||
         rules.clipboard_max_bytes.has_value();
}

// A viewer that sends messages after ClientInit before the server's
// ServerInit would get them past the rules: the tracker starts at ServerInit
// and those bytes would already be on their way. No real viewer does; the
// chunk is not relayed and the session ends.
bool Session::viewer_ran_ahead() {
  if (!client_init_seen_ || handshake_done_ || !parser_ || !viewer_rules_apply()) return false;
  const auto waiting = parser_->waiting_bytes(rfb::Direction::client_to_server);
  if (waiting == 0) return false;
  close(DisconnectReason::protocol_error,
        "the viewer sent " + std::to_string(waiting) + " bytes after ClientInit before ServerInit (not relayed: the session rules apply from ServerInit)");
  return true;
}

void Session::start_tracking() {
  if (!parser_) return;
  const auto policy = tracker_policy();
  const bool wanted = policy.follow_viewer || policy.follow_server;
  if (!wanted) {
    fields_[Field::tracking] = "off";
    return;
  }
  if (!server_init_seen_) {
    // Encrypted (RA2, VeNCrypt passed through): nothing to follow. A rule
    // that needs the stream cannot be kept: fail closed.
    const std::string why = "security type " + fields_[Field::security_type] + " hides the session from the proxy";
    fields_[Field::tracking] = "opaque: " + why;
    if (viewer_rules_apply() || policy.server_to_viewer != rfb::ClipboardRuleAction::allow || policy.idle_needs_viewer) {
      close(DisconnectReason::protocol_error, "the session: rules of listener " + fields_[Field::listen] +
                                                  " need to see the session, but " + why);
    } else {
      spdlog::info("session {}: not tracking messages: {}", id(), why);
    }
    return;
  }
  const auto& summary = parser_->summary();
  auto tap = std::make_unique<TrackerTap>(policy, rfb::PixelFormat::from_wire(summary.pixel_format), summary.width,
                                          summary.height,
                                          [this](std::vector<rfb::TrackerNote>& notes) { on_tracker_notes(notes); });
  tracker_ = tap.get();
  taps_.insert(taps_.begin(), std::move(tap));
  fields_[Field::tracking] = "on";
  spdlog::debug("session {}: tracking messages ({}{}{})", id(), policy.follow_server ? "both directions" : "viewer",
                view_only_ ? ", view-only" : "", policy.clipboard_max_bytes ? ", clipboard size limit" : "");
  for (const auto direction : {rfb::Direction::client_to_server, rfb::Direction::server_to_client}) {
    const auto d = static_cast<std::size_t>(direction);
    const auto tail = parser_->after_handshake(direction);
    raw_tail_size_[d] = tail.size();
    if (tail.empty()) continue;
    const auto out = tracker_->filter(direction, tail);
    tracked_tail_[d].assign(out.begin(), out.end());
  }
}

std::span<const std::uint8_t> Session::handshake_tail(rfb::Direction direction) const {
  const auto d = static_cast<std::size_t>(direction);
  if (tracker_ && raw_tail_size_[d] > 0) return tracked_tail_[d];
  return parser_ ? parser_->after_handshake(direction) : std::span<const std::uint8_t>();
}

void Session::on_tracker_notes(std::vector<rfb::TrackerNote>& notes) {
  namespace note = rfb::tracker_note;
  const auto now = std::chrono::steady_clock::now();
  for (auto& item : notes) {
    if (std::holds_alternative<note::Input>(item)) {
      last_input_ = now;
      idle_warned_ = false;
    } else if (const auto* resized = std::get_if<note::Resized>(&item)) {
      fields_[Field::width] = std::to_string(resized->width);
      fields_[Field::height] = std::to_string(resized->height);
      spdlog::info("session {}: desktop resized to {}x{}", id(), resized->width, resized->height);
      publish(EventKind::resize);
    } else if (const auto* named = std::get_if<note::DesktopNamed>(&item)) {
      if (named->name == fields_[Field::desktop_name]) continue;
      fields_[Field::desktop_name] = named->name;
      spdlog::info("session {}: desktop name now \"{}\"", id(), util::printable(named->name));
      publish(EventKind::desktop_name);
    } else if (std::holds_alternative<note::ScreenUpdated>(item)) {
      const auto quiet = listener_->config.session.screen_change_quiet;
      if (screen_seen_ && now - last_screen_update_ >= quiet) publish(EventKind::screen_change);
      screen_seen_ = true;
      last_screen_update_ = now;
    } else if (const auto* clip = std::get_if<note::Clipboard>(&item)) {
      note_clipboard(*clip);
    } else if (const auto* stripped = std::get_if<note::EncodingsStripped>(&item)) {
      std::string names;
      for (const auto encoding : stripped->removed)
        names += (names.empty() ? "" : ", ") + rfb::encoding_name(encoding);
      spdlog::info("session {}: removed from the viewer's SetEncodings (the tracker cannot follow them): {}", id(),
                   names);
    } else if (const auto* lost = std::get_if<note::Opaque>(&item)) {
      note_tracking_lost(*lost);
    }
  }
}

void Session::note_clipboard(const rfb::tracker_note::Clipboard& clip) {
  const char* direction = direction_name(clip.direction);
  if (clip.dropped) {
    // Never the text: only its size.
    spdlog::info("session {}: clipboard {} dropped ({} bytes): {}", id(), direction, clip.bytes, clip.why);
    return;
  }
  std::string path;
  if (listener_->config.session.clipboard_content == conf::ClipboardContent::file) {
    auto written = write_clipboard_file(listener_->config.session.clipboard_dir, id(), ++clipboard_files_, direction,
                                        clip.text);
    if (written.error.empty())
      path = written.path.string();
    else
      spdlog::warn("session {}: clipboard text not kept: {}", id(), written.error);
  }
  spdlog::info("session {}: clipboard {} ({} bytes)", id(), direction, clip.bytes);
  publish_with(EventKind::clipboard,
          {{Field::direction, direction}, {Field::clipboard_bytes, std::to_string(clip.bytes)}, {Field::clipboard_path, path}});
}

void Session::note_tracking_lost(const rfb::tracker_note::Opaque& lost) {
  const std::string side = lost.direction == rfb::Direction::client_to_server ? "viewer" : "server";
  fields_[Field::tracking] = tracker_->tracker().state();
  if (lost.fatal) {
    spdlog::warn("session {}: message tracking lost ({} side, opaque): {}; the session rules need it", id(), side,
                 lost.why);
    close(DisconnectReason::protocol_error, "message tracking lost on the " + side + " side: " + lost.why);
    return;
  }
  spdlog::warn("session {}: message tracking stops on the {} side (opaque): {}", id(), side, lost.why);
}

void Session::fill_tracking_fields() {
  if (fields_[Field::tracking].empty()) fields_[Field::tracking] = "off";
  if (!tracker_) return;
  const auto& counters = tracker_->tracker().counters();
  fields_[Field::key_events] = std::to_string(counters.key_events);
  fields_[Field::pointer_events] = std::to_string(counters.pointer_events);
  fields_[Field::updates] = std::to_string(counters.updates);
  fields_[Field::clipboard_in] = std::to_string(counters.clipboard_in);
  fields_[Field::clipboard_out] = std::to_string(counters.clipboard_out);
}

bool Session::has_session_timers() const {
  const auto& rules = listener_->config.session;
  return rules.input_idle_timeout || rules.max_duration;
}

// One timer for the three deadlines: whichever comes first is waited for,
// then all are looked at again (input moves the idle one later).
awaitable<void> Session::session_timers() {
  const auto& rules = listener_->config.session;
  const auto ends_at = rules.max_duration ? std::optional(started_ + *rules.max_duration) : std::nullopt;
  session_timer_ = std::make_unique<asio::steady_timer>(server_.get_executor());
  while (!closing_ && !relay_over_) {
    const auto now = std::chrono::steady_clock::now();
    if (ends_at && now >= *ends_at) {
      close(DisconnectReason::max_duration, "session.max_duration " + seconds_text(*rules.max_duration) + " reached");
      break;
    }
    auto next = ends_at.value_or(std::chrono::steady_clock::time_point::max());
    // Idleness counts from the end of the handshake: before, handshake_timeout rules.
    if (rules.input_idle_timeout && handshake_done_ && tracker_) {
      const auto idle_at = last_input_ + *rules.input_idle_timeout;
      if (now >= idle_at) {
        close(DisconnectReason::idle, "no key or pointer input for " + seconds_text(*rules.input_idle_timeout));
        break;
      }
      if (rules.idle_warning) {
        const auto warn_at = idle_at - *rules.idle_warning;
        if (now >= warn_at && !idle_warned_) {
          idle_warned_ = true;
          spdlog::info("session {}: idle, closing in {} without input", id(), seconds_text(*rules.idle_warning));
          publish(EventKind::idle_warning, "closing in " + seconds_text(*rules.idle_warning) + " without input");
        }
        if (!idle_warned_) next = std::min(next, warn_at);
      }
      next = std::min(next, idle_at);
    } else if (rules.input_idle_timeout) {
      next = std::min(next, now + std::chrono::seconds(1));  // the handshake is not over yet: look again
    }
    session_timer_->expires_at(next);
    co_await session_timer_->async_wait(use_tuple);
  }
}

}  // namespace vhm::proxy
