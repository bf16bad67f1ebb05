#include "proxy/session.hpp"

#include "util/log.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include "conf/address.hpp"
#include "proxy/blocking.hpp"
#include "proxy/connection_fields.hpp"
#include "proxy/endpoint_text.hpp"
#include "proxy/gate.hpp"
#include "proxy/recording/recorder_tap.hpp"
#include "proxy/relay/legs.hpp"
#include "proxy/relay/tcp_transport.hpp"
#include "proxy/viewer_refusal.hpp"
#include "rfb/refusal.hpp"
#include "proxy/session_registry.hpp"
#include "proxy/target_owner.hpp"
#include "util/iso_time.hpp"
#include "util/printable.hpp"

namespace vhm::proxy {

using conf::EventKind;
using conf::Field;
using namespace asio::experimental::awaitable_operators;

namespace {

// The relay reads with non-blocking read_some after a readiness wait, so a
// buffer is only held while data is actually there (see BufferPool).
void make_non_blocking(tcp::socket& socket) {
  boost::system::error_code ignored;
  if (!socket.non_blocking()) socket.non_blocking(true, ignored);
}

// The viewer's socket has these from the listening socket (listener.cpp).
void set_dialed_options(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  make_non_blocking(socket);
}

// The two pumps in one parallel group, as `a && b` would run them (both to
// the end; an exception cancels the other and is rethrown), without the
// operators' own coroutine frames.
awaitable<void> run_relay_group(asio::any_io_executor executor, awaitable<void> up, awaitable<void> down) {
  auto [order, up_error, down_error] =
      co_await asio::experimental::make_parallel_group(co_spawn(executor, std::move(up), asio::deferred),
                                                       co_spawn(executor, std::move(down), asio::deferred))
          .async_wait(asio::experimental::wait_for_one_error(), asio::deferred);
  for (const auto& error : {up_error, down_error})
    if (error) std::rethrow_exception(error);
}

}  // namespace

frontend::Accepted Session::plain_viewer(tcp::socket socket, const tcp::endpoint& peer) {
  frontend::Accepted viewer;
  viewer.origin.peer = peer;
  // Non-blocking from the start: the relay needs it, and Asio then need not
  // switch it on for its own first operation (one ioctl instead of two).
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  viewer.transport = std::make_unique<relay::TcpTransport>(std::move(socket));
  return viewer;
}

Session::Session(frontend::Accepted viewer, std::shared_ptr<const ListenerContext> listener, SessionServices services,
                 std::optional<tcp::endpoint> destination)
    : viewer_(std::move(viewer.transport)),
      server_(viewer_->get_executor()),
      timer_(server_.get_executor()),
      listener_(std::move(listener)),
      services_(services),
      destination_(destination),
      token_target_(std::move(viewer.origin.token_target)),
      view_only_(listener_->config.session.view_only),
      started_(std::chrono::steady_clock::now()) {
  const auto& origin = viewer.origin;
  client_address_ = canonical_address(origin.peer.address());
  fields_ = connection_fields(origin.peer, *listener_, destination_, token_target_ ? &*token_target_ : nullptr);
  fields_[Field::transport] = origin.transport;
  fields_[Field::token] = origin.token;
  fields_[Field::http_user] = origin.http_user;
  fields_[Field::origin] = origin.origin;
  if (!origin.cert_user.empty()) fields_[Field::user] = origin.cert_user;  // a client certificate names the user
}

Session::~Session() {
  if (listener_->limits) listener_->limits->session_ended(client_address_);
}

awaitable<void> Session::run() {
  services_.registry.add(*this);
  try {
    co_await connect_and_relay();
  } catch (const std::exception& error) {
    // A bug must not cost the disconnect event or leave a dangling registry entry.
    spdlog::error("session {}: unexpected error: {}", id(), error.what());
    close(DisconnectReason::protocol_error, std::string("internal error: ") + error.what());
  }
  if (relay_parked()) co_return;  // run_parked() relays on and finishes the session
  co_await end_recording();       // the file is closed before `disconnect`, so a hook can take it
  finish();
}

awaitable<void> Session::connect_and_relay() {
  spdlog::info("session {}: accepted {}:{} on {} ({}) for {}", id(), fields_[Field::client_ip],
               fields_[Field::client_port], fields_[Field::listen], fields_[Field::transport], target_text());

  auto endpoints = co_await resolve_target();
  // {user}: a static target's listener `user:` comes first; a transparent
  // listener fronts every user's display, so there the port's owner does.
  if (endpoints && (destination_ || fields_[Field::user].empty()))
    if (auto owner = fill_user_from_target_owner(endpoints->begin()->endpoint()); !owner.empty())
      fields_[Field::user] = std::move(owner);
  if (has_gate(hooks_config()->hooks_for(EventKind::connect))) {
    std::string refusal;
    if (!co_await pass_gate(EventKind::connect, refusal)) {
      if (!closing_) co_await refuse_viewer(*viewer_, refusal, std::chrono::seconds(10));
      co_return;
    }
  } else {
    publish(EventKind::connect);
  }

  // Scanner shield (session_greeting.cpp): only a viewer that answered the
  // proxy's greeting with a valid ProtocolVersion gets a connection to the server.
  const bool shield = listener_->config.scanner_shield;
  if (shield && !closing_ && !co_await greet_viewer()) {
    spdlog::info("session {}: not relayed to {}: no valid RFB ProtocolVersion from the viewer", id(), target_text());
    co_return;
  }
  if (!endpoints || closing_ || !co_await dial(*endpoints) || !co_await open_server_stream()) {
    if (shield && !closing_) co_await refuse_greeted_viewer("The VNC server cannot be reached.");
    co_return;
  }
  make_non_blocking(viewer_->socket());
  set_dialed_options(server_);
  if (!shield) parser_.emplace(rfb::Limits{}, tls_visibility());
  if (shield && !co_await join_server_version()) co_return;
  // tls.server_security: plain may speak VeNCrypt to the viewer itself (session_tls_plain.cpp).
  if (has_session_timers())
    co_await (relay_both_ways() && session_timers());
  else
    co_await relay_both_ways();
}

awaitable<void> Session::relay_both_ways() {
  // Awaited into a local first: GCC 12 miscompiles `if (!co_await ...)` around a nested co_await.
  const bool proxy_took_over = co_await plain_server_handshake();
  if (!proxy_took_over) {
    running_pumps_ = 2;
    co_await relay_legs();
  }
  // vencrypt: terminate: the pumps stopped where TLS starts; TLS on both legs from here (session_tls.cpp).
  if (tls_starting_ && !closing_) co_await relay_tls();
  relay_over_ = true;
  if (session_timer_) session_timer_->cancel();
}

// One leg type per side: plain TCP keeps readiness reads and splice; any
// other transport is a stream leg (pump.cpp has one body for all of them).
awaitable<void> Session::relay_legs() {
  using relay::StreamLeg;
  using relay::TcpLeg;
  using relay::Transport;
  const auto up = rfb::Direction::client_to_server;
  const auto down = rfb::Direction::server_to_client;
  tcp::socket* viewer_socket = viewer_->plain_socket();
  tcp::socket* server_socket = server_stream_->plain_socket();
  const auto executor = server_.get_executor();
  HandshakePhase phase(*this);  // until ServerInit (handshake_finished() disarms it) or the relay's end
  if (viewer_socket && server_socket) {
    TcpLeg viewer(*viewer_socket, services_.buffers), server(*server_socket, services_.buffers);
    co_await run_relay_group(executor, pump(viewer, server, up), pump(server, viewer, down));
  } else if (server_socket) {
    StreamLeg<Transport> viewer(*viewer_, viewer_buffer);
    TcpLeg server(*server_socket, services_.buffers);
    co_await run_relay_group(executor, pump(viewer, server, up), pump(server, viewer, down));
  } else {
    StreamLeg<Transport> viewer(*viewer_, viewer_buffer), server(*server_stream_, stream_buffer);
    co_await run_relay_group(executor, pump(viewer, server, up), pump(server, viewer, down));
  }
}

awaitable<void> Session::end_viewer_in_order() {
  asio::steady_timer grace(server_.get_executor());
  grace.expires_after(std::chrono::seconds(1));
  co_await (viewer_->async_end(1000) || grace.async_wait(use_tuple));
}

void Session::finish() {
  boost::system::error_code ignored;
  viewer_->close();
  server_.close(ignored);
  const auto reason = end_reason_.value_or(DisconnectReason::client_closed);
  const auto elapsed = std::chrono::steady_clock::now() - started_;
  fields_[Field::duration] = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count());
  fields_[Field::bytes_in] = std::to_string(bytes_in_);
  fields_[Field::bytes_out] = std::to_string(bytes_out_);
  fill_tracking_fields();
  spdlog::info("session {}: closed ({}{}{}) after {:.3f}s, {} bytes in, {} bytes out", id(), to_string(reason),
               end_detail_.empty() ? "" : ": ", util::printable(end_detail_),
               std::chrono::duration<double>(elapsed).count(), bytes_in_, bytes_out_);
  publish(EventKind::disconnect, std::string(to_string(reason)));
  services_.registry.remove(*this);
}

void Session::close(DisconnectReason reason, std::string detail) {
  note_end(reason, std::move(detail));
  if (closing_) return;
  closing_ = true;
  boost::system::error_code ignored;
  if (resolver_) resolver_->cancel();
  timer_.cancel();
  if (session_timer_) session_timer_->cancel();
  if (gate_waiter_) gate_waiter_->cancel();
  viewer_->close();
  server_.close(ignored);
}

void Session::arm_handshake_deadline() {
  if (handshake_done_ || closing_) return;
  if (handshake_deadline_ == std::chrono::steady_clock::time_point{})
    handshake_deadline_ = std::chrono::steady_clock::now() + listener_->config.handshake_timeout;
  timer_.expires_at(handshake_deadline_);
  on_timer_expiry([](Session& session) {
    if (session.handshake_done_ || session.closing_) return;
    session.close(DisconnectReason::timeout, "RFB handshake not finished within " +
                                                 std::to_string(session.listener_->config.handshake_timeout.count()) + "s");
  });
}

void Session::disarm_deadline() {
  ++deadline_serial_;  // a callback already queued with success does nothing
  timer_.cancel();
}

void Session::observe(rfb::Direction direction, std::span<const std::uint8_t> bytes) {
  auto result = parser_->feed(direction, bytes);
  for (const auto& event : result.events) apply(event);
  if (result.status == rfb::Status::error) {
    close(DisconnectReason::protocol_error, result.error);
    return;
  }
  if (parser_->finished()) handshake_finished();
}

std::span<const std::uint8_t> Session::show_to_taps(rfb::Direction direction, std::span<const std::uint8_t> bytes) {
  // Taps added by this very chunk (the handshake ended in it) got the
  // chunk's tail from the parser already; the tracker's version of that
  // tail replaces it.
  const std::size_t running = taps_.size();
  if (parser_) {
    observe(direction, bytes);
    if (direction == rfb::Direction::client_to_server && viewer_ran_ahead()) return {};
    const auto d = static_cast<std::size_t>(direction);
    if (handshake_done_ && tracker_ && running == 0 && raw_tail_size_[d] > 0 && raw_tail_size_[d] <= bytes.size()) {
      finishing_chunk_.assign(bytes.begin(), bytes.end() - static_cast<std::ptrdiff_t>(raw_tail_size_[d]));
      finishing_chunk_.insert(finishing_chunk_.end(), tracked_tail_[d].begin(), tracked_tail_[d].end());
      bytes = finishing_chunk_;
    }
  }
  for (std::size_t i = 0; i < running && !closing_; ++i) {
    bytes = taps_[i]->filter(direction, bytes);
    if (!bytes.empty()) taps_[i]->on_bytes(direction, bytes);
  }
  return closing_ ? std::span<const std::uint8_t>() : bytes;
}

bool Session::splice_allowed(rfb::Direction direction) const {
  return std::none_of(taps_.begin(), taps_.end(),
                      [&](const auto& tap) { return tap->needs(direction) == relay::Tap::Need::copy; });
}

void Session::apply(const rfb::Event& event) {
  const auto& summary = parser_->summary();
  if (summary.version.major != 0)
    fields_[Field::rfb_version] = std::to_string(summary.version.major) + "." + std::to_string(summary.version.minor);
  if (!summary.security_name.empty()) fields_[Field::security_type] = summary.security_name;

  if (const auto* user = std::get_if<rfb::UserNameSeen>(&event)) {
    fields_[Field::user] = user->user;
  } else if (const auto* refused = std::get_if<rfb::ConnectionRefused>(&event)) {
    spdlog::info("session {}: server refused the connection: {}", id(), util::printable(refused->reason));
  } else if (const auto* auth = std::get_if<rfb::AuthResultSeen>(&event)) {
    switch (auth->result) {
      case rfb::AuthResult::ok:
        spdlog::info("session {}: authentication succeeded ({})", id(), fields_[Field::security_type]);
        if (has_gate(hooks_config()->hooks_for(EventKind::auth_success)))
          auth_gate_pending_ = true;  // pump() publishes it and waits for the gate
        else
          publish(EventKind::auth_success);
        break;
      case rfb::AuthResult::failed: {
        const std::string reason = auth->reason.empty() ? "authentication failed" : auth->reason;
        spdlog::info("session {}: authentication failed for client {} ({}): {}", id(), fields_[Field::client_ip],
                     fields_[Field::security_type], util::printable(reason));
        publish(EventKind::auth_failure, reason);
        if (services_.blocking) services_.blocking->record_failure(client_address_, fields_.full());
        break;
      }
      case rfb::AuthResult::unknown:
        spdlog::info("session {}: authentication result not visible ({})", id(), fields_[Field::security_type]);
        break;
    }
  } else if (std::holds_alternative<rfb::SecurityTypesOffered>(event)) {
    learn_server_version();  // the server got past its version: it speaks it
  } else if (const auto* offer = std::get_if<rfb::VeNCryptSubtypesOffered>(&event)) {
    note_vencrypt_offer(*offer);
  } else if (const auto* tls = std::get_if<rfb::TlsStarts>(&event)) {
    note_tls_starts(*tls);
  } else if (std::holds_alternative<rfb::ClientInitSeen>(event)) {
    client_init_seen_ = true;
  } else if (const auto* init = std::get_if<rfb::ServerInitSeen>(&event)) {
    server_init_seen_ = true;
    fields_[Field::width] = std::to_string(init->width);
    fields_[Field::height] = std::to_string(init->height);
    fields_[Field::desktop_name] = init->desktop_name;
    spdlog::debug("session {}: desktop \"{}\" {}x{}", id(), util::printable(init->desktop_name), init->width,
                  init->height);
  }
}

void Session::handshake_finished() {
  handshake_done_ = true;
  services_.registry.handshake_finished(*this);
  handshake_bytes_in_ = bytes_in_;
  handshake_bytes_out_ = bytes_out_;
  last_input_ = std::chrono::steady_clock::now();  // idleness counts from the end of the handshake
  start_tracking();   // before the parser goes: it holds the bytes past the handshake;
  start_recording();  // and before the recorder, which records what the tracker lets through
  parser_.reset();  // nothing more to parse: free its buffers for the rest of the session
  disarm_deadline();
}

awaitable<bool> Session::pass_gate(EventKind kind, std::string& reason) {
  const auto config = hooks_config();  // kept alive: a reload may replace it meanwhile
  const auto& handlers = config->hooks_for(kind);
  OutcomeWaiter waiter(server_.get_executor());
  gate_waiter_ = &waiter;
  publish(kind, {}, waiter.completion());
  spdlog::debug("session {}: waiting for the {} gate", id(), conf::to_string(kind));
  auto outcome = co_await waiter.wait();
  gate_waiter_ = nullptr;
  if (!outcome) co_return false;  // the session is closing anyway
  const auto decision = decide_gate(handlers, *outcome);
  if (decision.allowed && decision.view_only && !view_only_) {
    view_only_ = true;
    spdlog::info("session {}: view-only, as the {} gate said", id(), conf::to_string(kind));
  }
  if (decision.allowed) co_return true;
  spdlog::info("session {}: refused by the {} gate: {}", id(), conf::to_string(kind), decision.detail);
  note_end(DisconnectReason::refused, decision.detail);
  reason = decision.reason;
  co_return false;
}

awaitable<std::optional<std::vector<std::uint8_t>>> Session::settle_auth_gate(bool chunk_starts_result) {
  auth_gate_pending_ = false;
  std::string refusal;
  if (co_await pass_gate(EventKind::auth_success, refusal)) co_return std::nullopt;
  std::vector<std::uint8_t> to_viewer;
  // Only a SecurityResult that has not started can be replaced; if part of an
  // OK already reached the viewer, closing leaves it unauthenticated.
  if (!closing_ && chunk_starts_result) {
    const auto version = parser_ ? parser_->summary().version : rfb::Version{3, 8};
    to_viewer = rfb::failed_security_result(version, refusal);
  }
  co_return to_viewer;
}

void Session::publish(EventKind kind, std::string reason, hooks::EventCompletion done) {
  hooks::Event event = fields_.full();
  event.kind = kind;
  event[Field::event] = std::string(conf::to_string(kind));
  event[Field::timestamp] = util::iso8601_utc_now();
  event[Field::reason] = std::move(reason);
  if (kind != EventKind::disconnect) {
    event[Field::duration].clear();
    event[Field::bytes_in].clear();
    event[Field::bytes_out].clear();
  }
  services_.events.publish(std::move(event), std::move(done));
}

void Session::publish_with(EventKind kind, std::initializer_list<std::pair<Field, std::string>> extra) {
  const hooks::Event saved = fields_.full();
  for (const auto& [field, value] : extra) fields_[field] = value;
  publish(kind);
  fields_ = saved;
}

void Session::note_end(DisconnectReason reason, std::string detail) {
  if (end_reason_) return;
  end_reason_ = reason;
  end_detail_ = std::move(detail);
}

void Session::note_socket_end(bool client_side, const boost::system::error_code& error) {
  if (error == asio::error::operation_aborted) return;  // close() already said why
  const auto reason = client_side ? DisconnectReason::client_closed : DisconnectReason::server_closed;
  note_end(reason, error == asio::error::eof ? std::string() : error.message());
}

void Session::fail_socket(bool client_side, const boost::system::error_code& error) {
  note_socket_end(client_side, error);
  // A broken direction ends both: the other one has no one left to talk to.
  close(client_side ? DisconnectReason::client_closed : DisconnectReason::server_closed, error.message());
}

}  // namespace vhm::proxy
