#pragma once
// A listener's `session:` map (docs/session-policy.md): what the proxy does
// after the handshake. Keys:
//   view_only, clipboard (allow | deny | log, or a map of viewer_to_server,
//   server_to_viewer, max_bytes), clipboard_content, clipboard_dir,
//   input_idle_timeout, idle_warning, max_duration, screen_change_quiet,
//   unknown_encodings, track
//
// Checked together, after each key on its own: clipboard_content: file needs
// a `log` direction and a clipboard_dir (and clipboard_dir needs
// clipboard_content: file, so a section never looks like it keeps texts when
// it does not); idle_warning needs input_idle_timeout and must be shorter.
// A cross-key problem is reported only when the keys it compares were valid
// on their own, so one mistake is one message.
//
// needs_message_tracking() is public: --check-config and the session use the
// same answer to "does this listener follow the messages after the handshake".
#include <filesystem>

#include "conf/config.hpp"
#include "conf/config_reader.hpp"

namespace vhm::conf {

// Takes `session` from a listener's map into config.session; defaults when
// absent or empty. clipboard_dir resolves against base_dir.
void load_session_policy(MapReader& listener, const std::filesystem::path& base_dir, ListenerConfig& config,
                         ProblemList& problems);

// True when the section alone needs the message tracker: view_only, a
// clipboard rule other than allow, a clipboard max_bytes (the texts must be
// measured to drop the large ones), input_idle_timeout, or track: true.
// max_duration is a timer and needs nothing.
bool needs_message_tracking(const SessionPolicyConfig& session);

// The event hooks that turn the tracker on for every listener: resize,
// screen_change and desktop_name can only fire when the server's messages
// are followed.
bool has_tracking_hooks(const Config& config);

// What the session decides for a new session on `listener`: either of the above.
bool needs_message_tracking(const Config& config, const ListenerConfig& listener);

}  // namespace vhm::conf
