#pragma once
// One viewer connection: resolve and dial the target, relay bytes both ways
// while the RFB parser watches copies of the handshake, turn what it sees into
// events, and report exactly one `disconnect` at the end. The session is one
// coroutine that owns both sockets (STYLE.md); close() is the single way to end
// it early, from any reason, and the first reason wins.
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "hooks/event.hpp"
#include "hooks/event_sink.hpp"
#include "proxy/asio.hpp"
#include "proxy/relay/buffer_pool.hpp"
#include "proxy/relay/splice_pipe.hpp"
#include "proxy/relay/tap.hpp"
#include "proxy/disconnect_reason.hpp"
#include "proxy/frontend/front_end.hpp"
#include "proxy/relay/transport.hpp"
#include "proxy/server_versions.hpp"
#include "proxy/session_fields.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/transparent_loop.hpp"
#include "policy/connection_limits.hpp"
#include "rfb/handshake_parser.hpp"
#include "rfb/message_tracker.hpp"

namespace vhm::proxy {

class SessionRegistry;
class Blocking;
class ServerVersions;
class RecorderService;
class RecorderTap;
class TrackerTap;

struct ListenerContext {
  conf::ListenerConfig config;
  std::string listen_text;  // bound address, "127.0.0.1:5900", the {listen} field
  tcp::endpoint listen_endpoint;  // the same as bound (a port 0 listener's real port)
  // The listener's admission state; every session was admitted by it and
  // hands its slot back when it ends.
  std::shared_ptr<policy::ConnectionLimits> limits;
  // Browser access, TLS, PROXY protocol (proxy/frontend/); null: plain RFB only.
  std::shared_ptr<frontend::FrontEnd> front_end;
};

struct SessionServices {
  hooks::EventSink& events;
  BufferPool& buffers;
  SessionRegistry& registry;
  std::shared_ptr<const conf::Config> config;  // handler lists for gates
  Blocking* blocking = nullptr;                // null when blocking is off
  // The config in force now (the Server's; a reload replaces it): gates follow
  // the hooks the dispatcher runs for each new event. Null: `config`.
  const std::shared_ptr<const conf::Config>* live_config = nullptr;
  // The scanner shield's greetings per target (server_versions.hpp); null: 3.8 or the listener's server_version.
  ServerVersions* server_versions = nullptr;
  // Writes the recordings of listeners with `recording: enabled` (proxy/recording/); null: none.
  RecorderService* recorder = nullptr;
};

class OutcomeWaiter;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `viewer`: the viewer's transport (plain TCP, or what the listener's front
  // end accepted: TLS, WebSocket) and who it is. `destination`: a transparent
  // listener's target for this connection (proxy/transparent_target.hpp);
  // nullopt: the token's target, else the listener's static target.
  Session(frontend::Accepted viewer, std::shared_ptr<const ListenerContext> listener, SessionServices services,
          std::optional<tcp::endpoint> destination = std::nullopt);
  // A plain TCP viewer, as accepted from `peer`.
  static frontend::Accepted plain_viewer(tcp::socket socket, const tcp::endpoint& peer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the whole session; returns after `disconnect` was published, or
  // with relay_parked(): then run_parked() must carry the session on.
  awaitable<void> run();
  // The relay went idle where nothing needs a coroutine (plain TCP on both
  // legs, the handshake over, no tap, no session timer): run() returned, and
  // run_parked() relays on with callbacks that hold this session
  // (relay/idle_relay.cpp), so an idle session keeps no coroutine frames.
  bool relay_parked() const { return !closing_ && (parked_[0] || parked_[1]); }
  void run_parked();

  // Ends the session (idempotent; the first reason is kept). Safe to call at
  // any point of run(), from the io thread.
  void close(DisconnectReason reason, std::string detail = {});

  const std::string& id() const { return fields_.session_id(); }
  const SessionFields& fields() const { return fields_; }
  // For `ctl sessions`.
  const char* state() const {
    return closing_          ? "closing"
           : handshake_done_ ? (recording() ? "recording" : "relaying")
           : running_pumps_ > 0 ? "handshake"
                                : "connecting";
  }
  bool view_only() const { return view_only_; }
  bool handshake_done() const { return handshake_done_; }  // ServerInit went by
  bool recording() const;  // its recorder is writing the session now (proxy/recording/session_recording.cpp)
  std::chrono::steady_clock::duration age() const { return std::chrono::steady_clock::now() - started_; }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }

 private:
  awaitable<void> connect_and_relay();
  void finish();
  awaitable<std::optional<tcp::resolver::results_type>> resolve_target();
  awaitable<bool> dial(const tcp::resolver::results_type& endpoints);
  // One direction of the relay between two legs (proxy/relay/legs.hpp, pump.cpp).
  template <typename From, typename To>
  awaitable<void> pump(From& from, To& to, rfb::Direction direction);
  // The handshake parser while it lasts, then the taps (tracker, recorder).
  // Returns what goes on to the peer (the tracker may drop or rewrite).
  std::span<const std::uint8_t> show_to_taps(rfb::Direction direction, std::span<const std::uint8_t> bytes);
  // Every tap can do without a copy of this direction (none needs it, or the recorder takes a tee).
  bool splice_allowed(rfb::Direction direction) const;
  // A tap is behind (the recorder's queue): wait until it caught up, or give up on it.
  bool taps_congested() const;
  awaitable<void> wait_for_taps();
  // Recording (proxy/recording/session_recording.cpp): the recorder tap starts
  // where the handshake ends; the file is closed before `disconnect`.
  void start_recording();
  awaitable<void> end_recording();
  // The handshake deadline (handshake_timeout, fixed when first armed) on
  // timer_, as a plain callback: it closes the session if it expires while a
  // phase that reads the peers runs. Cheaper than racing every phase against
  // a watchdog coroutine (`phase && watchdog`: a parallel group per phase).
  void arm_handshake_deadline();
  void disarm_deadline();  // whatever timer_ waits for (handshake or connect deadline)
  // Calls `expired(*this)` when timer_ expires, unless disarm_deadline() or a
  // later arming came first (the serial check: a cancel cannot stop a
  // completion that is already queued).
  template <typename Expired>
  void on_timer_expiry(Expired expired) {
    timer_.async_wait([self = shared_from_this(), serial = ++deadline_serial_, expired](
                          const boost::system::error_code& error) {
      if (!error && serial == self->deadline_serial_) expired(*self);
    });
  }
  struct HandshakePhase {  // armed for one phase's scope
    explicit HandshakePhase(Session& session) : session(session) { session.arm_handshake_deadline(); }
    ~HandshakePhase() { session.disarm_deadline(); }
    HandshakePhase(const HandshakePhase&) = delete;
    HandshakePhase& operator=(const HandshakePhase&) = delete;
    Session& session;
  };
  // Message tracking and the `session:` rules (proxy/tracking/session_tracking.cpp):
  // the tracker tap starts where the handshake ends, before the recorder.
  void start_tracking();
  rfb::TrackerPolicy tracker_policy() const;
  bool viewer_rules_apply() const;  // view-only or a viewer clipboard rule: the viewer's stream is filtered
  bool viewer_ran_ahead();          // such a viewer sent messages before ServerInit: closes the session
  void on_tracker_notes(std::vector<rfb::TrackerNote>& notes);
  void note_clipboard(const rfb::tracker_note::Clipboard& clip);
  void note_tracking_lost(const rfb::tracker_note::Opaque& lost);
  void fill_tracking_fields();
  // The bytes after the handshake as they go on (filtered by the tracker where it ran).
  std::span<const std::uint8_t> handshake_tail(rfb::Direction direction) const;
  // input_idle_timeout, idle_warning and max_duration, beside the relay.
  bool has_session_timers() const;
  awaitable<void> session_timers();
  awaitable<void> relay_both_ways();
  awaitable<void> relay_legs();
  // Initial read buffers of stream legs (proxy/relay/legs.hpp): a viewer's
  // input is small; a TLS server leg reads whole records.
  static constexpr std::size_t viewer_buffer = 4 * 1024;
  static constexpr std::size_t stream_buffer = 16 * 1024;
  // Scanner shield (session_greeting.cpp): the viewer is greeted with the
  // server's version and must answer with a valid one before the proxy dials;
  // after the dial the server's version is read and the two exchanges joined.
  awaitable<bool> greet_viewer();
  awaitable<bool> join_server_version();
  awaitable<bool> refuse_greeted_viewer(const std::string& reason);
  VersionMessageBytes greeting();
  std::size_t answer_server_early();  // bytes of the viewer's version written
  void learn_server_version();
  // Zero-copy relay of one direction through a pipe (relay/splice.cpp), with
  // a tee(2) into the recorder's pipe when it records this direction.
  // no_pipe, copy_again, parked: nothing moved is left behind.
  enum class SpliceEnd { done, no_pipe, copy_again, parked };
  awaitable<SpliceEnd> splice_relay(tcp::socket& from, tcp::socket& to, rfb::Direction direction);
  void pass_eof(bool from_client, tcp::socket& to);  // half-close: note it, FIN to the other side
  // Tees the first `in_pipe` bytes of `pipe_read` to the tap that tees this
  // direction (as far as its pipe has room; waits, bounded, when it has
  // none). Returns how many bytes at the front of the pipe may be spliced on
  // now (all of them when no tap tees). relay/tap_backpressure.cpp.
  awaitable<std::size_t> tee_to_taps(int pipe_read, std::size_t in_pipe, rfb::Direction direction);
  relay::Tap* teeing_tap(rfb::Direction direction) const;
  // VeNCrypt termination (session_tls*.cpp, docs/vencrypt.md): the parser's
  // view of TLS, the notes it takes of the offer and of TLS starting, the
  // proxy's own VeNCrypt in front of a plain VncAuth server, and the relay
  // between the TLS legs once the copying pumps have stopped.
  rfb::TlsVisibility tls_visibility() const;
  void note_vencrypt_offer(const rfb::VeNCryptSubtypesOffered& offer);
  void note_tls_starts(const rfb::TlsStarts& starts);
  awaitable<bool> plain_server_handshake();  // true: it took the handshake over (skip the pumps)
  awaitable<bool> speak_vencrypt_to_viewer();
  awaitable<bool> forward_exact(bool from_client, std::size_t count);
  awaitable<void> relay_tls();
  template <typename ServerStream>
  awaitable<void> relay_tls_legs(TlsStream& viewer, ServerStream& server);
  // A relay without half-close (TLS, WebSocket) ended in one direction: end the session in order.
  template <typename From, typename To>
  awaitable<void> end_stream_relay(bool from_client, const boost::system::error_code& error, From& from, To& to);
  // The viewer's transport ends in order (FIN, close_notify, a Close frame), within a second.
  awaitable<void> end_viewer_in_order();
  void note_leg_error(bool client_side, relay::Transport::Ending ending, const std::string& detail);
  // The server's stream once dialed: plain TCP over server_, or TLS (target_tls).
  awaitable<bool> open_server_stream();

  // Parking (relay/idle_relay.cpp). An idle point is where a direction of a
  // plain relay waits for its source to become readable (the pump's top, the
  // splice loop's wait). There a direction parks when may_park() and the
  // other direction is idle, parked or ended too (the other one, if
  // waiting, is woken to park as well): both pumps return, and run() with them.
  static std::size_t index(rfb::Direction direction) { return static_cast<std::size_t>(direction); }
  bool may_park() const;
  bool park_now(rfb::Direction direction);           // true: leave the pump, parked
  bool parks_after_wait(rfb::Direction direction);  // the idle wait was ended to park
  // The parked relay: a readiness callback per direction, then splice until drained.
  void wait_readable(rfb::Direction direction);
  void move_parked(rfb::Direction direction);
  void copy_parked(rfb::Direction direction);  // no pipe to be had: copying, until idle again
  awaitable<void> copy_until_drained(rfb::Direction direction);
  void parked_direction_done(rfb::Direction direction);
  tcp::socket& source_socket(rfb::Direction direction);

  void observe(rfb::Direction direction, std::span<const std::uint8_t> bytes);
  void apply(const rfb::Event& event);
  void handshake_finished();
  void publish(conf::EventKind kind, std::string reason = {}, hooks::EventCompletion done = {});
  // With fields that only this event carries ({direction}, {clipboard_bytes}...).
  void publish_with(conf::EventKind kind, std::initializer_list<std::pair<conf::Field, std::string>> extra);
  // Publishes `kind` and waits for its hooks; true when every gate passed.
  // On refusal, `reason` is the text for the viewer.
  awaitable<bool> pass_gate(conf::EventKind kind, std::string& reason);
  // The server accepted and an auth_success gate decides before its
  // SecurityResult reaches the viewer (both pumps call this). nullopt: relay
  // on. Otherwise the session ends as refused once the returned bytes (an RFB
  // failure, or none) reached the viewer.
  awaitable<std::optional<std::vector<std::uint8_t>>> settle_auth_gate(bool chunk_starts_result);
  void note_end(DisconnectReason reason, std::string detail);
  void note_socket_end(bool client_side, const boost::system::error_code& error);
  void fail_socket(bool client_side, const boost::system::error_code& error);
  std::string fill_user_from_target_owner(const tcp::endpoint& target);
  std::string target_text() const;  // "host:port" of this session's target, for logs
  std::shared_ptr<const conf::Config> hooks_config() const {
    return services_.live_config ? *services_.live_config : services_.config;
  }

  std::unique_ptr<relay::Transport> viewer_;  // never null
  tcp::socket server_;
  std::unique_ptr<relay::Transport> server_stream_;  // over server_, once dialed
  std::unique_ptr<tcp::resolver> resolver_;  // only while a host name is resolved (IP literals need none)
  asio::steady_timer timer_;  // the handshake deadline, or the dial's connect timeout
  std::uint32_t deadline_serial_ = 0;  // a callback from an earlier arming finds it changed
  bool connect_timed_out_ = false;
  std::shared_ptr<const ListenerContext> listener_;
  SessionServices services_;
  std::optional<tcp::endpoint> destination_;  // transparent listeners: the original destination
  std::optional<conf::HostPort> token_target_;  // browser access: the token's target
  OwnSource own_source_;  // transparent listeners: the upstream socket's source, for loop detection

  asio::ip::address client_address_;
  SessionFields fields_;  // everything known so far; each event is a copy
  std::optional<rfb::HandshakeParser> parser_;  // dropped once the handshake is over
  bool handshake_done_ = false;
  bool server_init_seen_ = false;  // the handshake ended in the clear: the content is visible
  std::vector<std::unique_ptr<relay::Tap>> taps_;  // after the handshake, in order
  RecorderTap* recorder_ = nullptr;                // one of taps_, when recording
  TrackerTap* tracker_ = nullptr;                  // one of taps_ (the first), when tracking
  // The tracker's output for the tails of the handshake's last chunks (handshake_tail()).
  std::array<std::vector<std::uint8_t>, 2> tracked_tail_;
  std::array<std::size_t, 2> raw_tail_size_{};
  std::vector<std::uint8_t> finishing_chunk_;  // the chunk that ended the handshake, rebuilt with its filtered tail
  bool view_only_ = false;                     // the listener's `session: view_only`, or a gate said so
  bool client_init_seen_ = false;
  std::unique_ptr<asio::steady_timer> session_timer_;  // with session timers only (session_timers())
  std::chrono::steady_clock::time_point last_input_{};
  std::chrono::steady_clock::time_point last_screen_update_{};
  bool idle_warned_ = false;
  bool relay_over_ = false;
  bool screen_seen_ = false;          // the first update (the whole screen) is no change
  unsigned clipboard_files_ = 0;
  std::uint64_t handshake_bytes_in_ = 0;           // counters when the handshake ended
  std::uint64_t handshake_bytes_out_ = 0;
  // Scanner shield: the viewer's ProtocolVersion, read before dialing. Once
  // the relay runs, set means both version messages went where they belong.
  VersionMessageBytes greeted_with_{};
  bool greeted_as_learned_ = false;  // greeted_with_ is what this target last answered
  std::optional<VersionMessageBytes> viewer_version_;
  std::optional<VersionMessageBytes> server_version_;  // as the server sent it, learned at its security offer
  bool auth_gate_pending_ = false;  // the server accepted; an auth_success gate must decide
  OutcomeWaiter* gate_waiter_ = nullptr;  // set while a gate is being waited for
  int running_pumps_ = 0;
  std::optional<DisconnectReason> end_reason_;
  std::string end_detail_;
  bool closing_ = false;
  std::chrono::steady_clock::time_point started_;
  std::uint64_t bytes_in_ = 0;   // viewer -> server
  std::uint64_t bytes_out_ = 0;  // server -> viewer
  // VeNCrypt termination: TLS starts on both legs, so the copying pumps stop
  // before reading (the viewer's next bytes are its ClientHello).
  bool tls_starting_ = false;
  bool tls_ending_ = false;        // one direction of a relay without half-close ended: the other only stops
  bool tls_running_ = false;       // the relay inside VeNCrypt's TLS runs (the outer one has stopped)
  // Bytes a stream leg's read took past the TLS ack (the viewer's ClientHello), per direction.
  std::array<std::vector<std::uint8_t>, 2> tls_prefix_;
  bool server_leg_plain_ = false;  // server_security: plain: the server leg is VncAuth in clear
  std::uint32_t tls_subtype_ = 0;
  // Parking, per direction (index()): the socket a pump waits on at an idle
  // point; parked; woken to park; its pump ended without parking.
  std::array<tcp::socket*, 2> idle_wait_{};
  std::array<bool, 2> parked_{};
  std::array<bool, 2> park_requested_{};
  std::array<bool, 2> direction_ended_{};
  int parked_directions_ = 0;  // directions run_parked() still relays
  // The parked relay's bytes in flight, per direction.
  std::array<relay::SplicePipe, 2> parked_pipes_;
  // Fixed when the handshake deadline is first armed, so every phase of one
  // session shares one handshake_timeout.
  std::chrono::steady_clock::time_point handshake_deadline_{};
};

}  // namespace vhm::proxy
