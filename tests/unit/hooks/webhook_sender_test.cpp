// The webhook client against a tiny HTTP/1.1 server on loopback (plain TCP;
// TLS is tests/integration/test_webhooks.py's): results for 2xx, non-2xx,
// refused connections and timeouts, keep-alive reuse, the stale-connection
// retry, and log lines that show scheme://host:port and nothing else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>

#include "hook_test_support.hpp"
#include "hooks/async_action.hpp"

using namespace vhm::hooks;
using namespace vhm::hooks::test;

namespace {

struct SeenRequest {
  std::string head;  // request line and headers
  std::string body;
  int connection = 0;  // index of the connection it came on
};

// What the server does with the n-th request (0-based).
struct Reply {
  std::string bytes;           // the whole response; empty: send nothing
  bool close_after = false;    // hang up after replying
  std::chrono::milliseconds delay{0};
};

// One thread per connection; requests are read by Content-Length.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(std::function<Reply(int)> script) : script_(std::move(script)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 16) != 0)
      throw std::runtime_error("cannot listen");
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TinyHttpServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& worker : workers_) worker.join();
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      if (stopping_) {
        ::close(fd);
        return;
      }
      const int index = connections_++;
      std::lock_guard lock(mutex_);
      open_.push_back(fd);
      workers_.emplace_back([this, fd, index] { serve(fd, index); });
    }
  }

  void serve(int fd, int connection) {
    std::string pending;
    char chunk[4096];
    for (;;) {
      std::size_t head_end;
      while ((head_end = pending.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) return finish(fd);
        pending.append(chunk, static_cast<std::size_t>(got));
      }
      SeenRequest request{pending.substr(0, head_end), {}, connection};
      std::size_t length = 0;
      std::string lower = request.head;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto at = lower.find("content-length: "); at != std::string::npos) length = std::stoul(lower.substr(at + 16));
      while (pending.size() < head_end + 4 + length) {
        const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) return finish(fd);
        pending.append(chunk, static_cast<std::size_t>(got));
      }
      request.body = pending.substr(head_end + 4, length);
      pending.erase(0, head_end + 4 + length);
      int index;
      {
        std::lock_guard lock(mutex_);
        index = static_cast<int>(requests_.size());
        requests_.push_back(request);
      }
      const Reply reply = script_(index);
      if (reply.delay.count() > 0) std::this_thread::sleep_for(reply.delay);
      if (!reply.bytes.empty()) ::send(fd, reply.bytes.data(), reply.bytes.size(), MSG_NOSIGNAL);
      if (reply.close_after) return finish(fd);
    }
  }

  void finish(int fd) {
    std::lock_guard lock(mutex_);
    std::erase(open_, fd);
    ::close(fd);
  }

  std::function<Reply(int)> script_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<int> open_;
  std::vector<SeenRequest> requests_;
};

std::string http_reply(int status, std::string_view body, std::string_view extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

vhm::conf::HookConfig webhook_hook(std::uint16_t port, std::string target = "/in/secret-token?key=s3cr3t") {
  vhm::conf::HookConfig hook;
  hook.name = "notify";
  hook.action = vhm::conf::HookAction::webhook;
  hook.timeout = 5000ms;
  hook.webhook.host = "127.0.0.1";
  hook.webhook.port = port;
  hook.webhook.target = std::move(target);
  hook.webhook.headers = {{"Authorization", "Bearer top-secret-value"}};
  hook.webhook.body = R"({"user":"{user}"})";
  hook.webhook.body_is_json = true;
  return hook;
}

// Runs one attempt to completion.
HookResult send_one(AsyncAction& sender, const vhm::conf::HookConfig& hook, const Event& event) {
  std::mutex mutex;
  std::condition_variable ready;
  std::optional<HookResult> result;
  sender.start(hook, event, [&](HookResult r) {
    std::lock_guard lock(mutex);
    result = std::move(r);
    ready.notify_all();
  });
  std::unique_lock lock(mutex);
  REQUIRE(ready.wait_for(lock, 20s, [&] { return result.has_value(); }));
  return *result;
}

Event webhook_event() {
  Event event = make_event(vhm::conf::EventKind::connect, "00112233aabbccdd");
  event[vhm::conf::Field::user] = "al\"ice";
  return event;
}

}  // namespace

TEST_CASE("webhook sender: a 2xx reply is success; its first line is the gate's answer") {
  TinyHttpServer server([](int) { return Reply{http_reply(200, "view_only\r\nignored")}; });
  LogCapture log;
  spdlog::default_logger()->set_level(spdlog::level::debug);
  auto sender = make_webhook_sender();
  const HookResult result = send_one(*sender, webhook_hook(server.port()), webhook_event());
  CHECK(result.ok());
  CHECK(result.name == "notify");
  CHECK(result.http_status == 200);
  CHECK(result.first_stdout_line == "view_only");
  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].head.rfind("POST /in/secret-token?key=s3cr3t HTTP/1.1\r\n", 0) == 0);
  CHECK(requests[0].head.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
  CHECK(requests[0].head.find("\r\nAuthorization: Bearer top-secret-value\r\n") != std::string::npos);
  CHECK(requests[0].head.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
  CHECK(requests[0].body == R"({"user":"al\"ice"})");
  sender->shutdown();
  const std::string text = log.all();
  INFO(text);
  CHECK(log.contains("hook notify [session 00112233aabbccdd] webhook POST http://127.0.0.1:" +
                     std::to_string(server.port()) + ": 200 in "));
  CHECK(text.find("secret-token") == std::string::npos);
  CHECK(text.find("s3cr3t") == std::string::npos);
  CHECK(text.find("top-secret-value") == std::string::npos);
}

TEST_CASE("webhook sender: non-2xx fails with the status, logged as a warning") {
  TinyHttpServer server([](int) { return Reply{http_reply(403, "Not during backups\nmore")}; });
  LogCapture log;
  auto sender = make_webhook_sender();
  const HookResult result = send_one(*sender, webhook_hook(server.port()), webhook_event());
  CHECK_FALSE(result.ok());
  CHECK(result.ran);
  CHECK(result.exit_code == 1);
  CHECK_FALSE(result.timed_out);
  CHECK(result.http_status == 403);
  CHECK(result.first_stdout_line == "Not during backups");
  sender->shutdown();
  CHECK(log.contains("webhook POST http://127.0.0.1:" + std::to_string(server.port()) + ": failed with status 403 in "));
}

TEST_CASE("webhook sender: keep-alive connections are reused; a stale one is retried on a fresh one") {
  SECTION("three requests, one connection") {
    TinyHttpServer server([](int) { return Reply{http_reply(204, "")}; });
    auto sender = make_webhook_sender();
    for (int i = 0; i < 3; ++i) CHECK(send_one(*sender, webhook_hook(server.port()), webhook_event()).ok());
    CHECK(server.requests().size() == 3);
    CHECK(server.connections() == 1);
    sender->shutdown();
  }
  SECTION("the receiver hangs up after each reply without saying so") {
    TinyHttpServer server([](int) { return Reply{http_reply(200, "ok"), true}; });
    auto sender = make_webhook_sender();
    CHECK(send_one(*sender, webhook_hook(server.port()), webhook_event()).ok());
    REQUIRE(wait_until([&] { return server.connections() == 1; }));
    std::this_thread::sleep_for(50ms);  // let the hang-up reach the client's socket
    const HookResult second = send_one(*sender, webhook_hook(server.port()), webhook_event());
    CHECK(second.ok());
    CHECK(server.requests().size() == 2);
    CHECK(server.connections() == 2);
    sender->shutdown();
  }
  SECTION("Connection: close is honoured") {
    TinyHttpServer server([](int) { return Reply{http_reply(200, "", "Connection: close\r\n"), true}; });
    auto sender = make_webhook_sender();
    CHECK(send_one(*sender, webhook_hook(server.port()), webhook_event()).ok());
    CHECK(send_one(*sender, webhook_hook(server.port()), webhook_event()).ok());
    CHECK(server.connections() == 2);
    sender->shutdown();
  }
}

TEST_CASE("webhook sender: network failures and timeouts give no status") {
  LogCapture log;
  auto sender = make_webhook_sender();
  SECTION("a closed port") {
    std::uint16_t port;
    { TinyHttpServer gone([](int) { return Reply{}; }); port = gone.port(); }
    const HookResult result = send_one(*sender, webhook_hook(port), webhook_event());
    CHECK_FALSE(result.ok());
    CHECK(result.ran);
    CHECK(result.http_status == 0);
    CHECK_FALSE(result.timed_out);
    CHECK(log.contains("webhook POST http://127.0.0.1:" + std::to_string(port) + ": cannot connect: "));
  }
  SECTION("no reply within the hook's timeout: the whole attempt is bounded") {
    TinyHttpServer server([](int) { return Reply{http_reply(200, ""), false, 1500ms}; });
    auto hook = webhook_hook(server.port());
    hook.timeout = 300ms;
    const auto started = Clock::now();
    const HookResult result = send_one(*sender, hook, webhook_event());
    const auto elapsed = Clock::now() - started;
    CHECK(result.timed_out);
    CHECK(result.http_status == 0);
    CHECK_FALSE(result.ok());
    CHECK(elapsed >= 250ms);
    CHECK(elapsed < 1200ms);
    CHECK(log.contains(": timed out after "));
  }
  SECTION("a reply body over 64 KiB: the status counts, the body is not read, the connection not kept") {
    TinyHttpServer server([](int) { return Reply{http_reply(200, "first\n" + std::string(100'000, 'x'))}; });
    CHECK(send_one(*sender, webhook_hook(server.port()), webhook_event()).ok());
    const HookResult second = send_one(*sender, webhook_hook(server.port()), webhook_event());
    CHECK(second.ok());
    CHECK(second.first_stdout_line.empty());
    CHECK(server.connections() == 2);
  }
  sender->shutdown();
}

TEST_CASE("webhook sender: a header value with a line break is never sent") {
  TinyHttpServer server([](int) { return Reply{http_reply(200, "")}; });
  LogCapture log;
  auto sender = make_webhook_sender();
  auto hook = webhook_hook(server.port());
  hook.webhook.headers.emplace_back("X-User", "{user}");
  Event event = webhook_event();
  event[vhm::conf::Field::user] = "eve\r\nX-Admin: yes";
  const HookResult result = send_one(*sender, hook, event);
  CHECK_FALSE(result.ran);
  CHECK(server.requests().empty());
  CHECK(log.contains("the value of header X-User would contain a control character; not sent"));
  CHECK_FALSE(log.contains("X-Admin"));
  sender->shutdown();
}
