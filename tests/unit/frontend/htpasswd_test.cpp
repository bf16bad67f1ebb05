// HTTP Basic against htpasswd files of crypt(3) hashes: which hashes load,
// which are refused naming the line, verification, its cache and the
// Authorization header.
#include <catch2/catch.hpp>

#include <crypt.h>
#include <sys/stat.h>

#include <cstring>
#include <future>
#include <memory>

#include "frontend_test_support.hpp"
#include "proxy/frontend/htpasswd.hpp"

using namespace vhm::proxy::frontend;
using vhm::proxy::frontend::test::ScratchDir;

namespace {

// A hash as htpasswd/mkpasswd write it, made here with libxcrypt (the tests
// do not need apache2-utils). count 0: the method's default cost.
std::string make_hash(const char* prefix, unsigned long count, const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn(prefix, count, nullptr, 0, setting, sizeof setting) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_rn(password.c_str(), setting, data.get(), sizeof *data);
  REQUIRE(hash != nullptr);
  return hash;
}

Htpasswd load_table(const ScratchDir& dir, const std::string& text) {
  std::string error;
  auto table = Htpasswd::load(dir.write("users.htpasswd", text), error);
  INFO(error);
  REQUIRE(table);
  return std::move(*table);
}

template <typename F>
double milliseconds_of(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("htpasswd: every hash type libxcrypt verifies and htpasswd or mkpasswd writes is accepted and checks") {
  ScratchDir dir;
  const std::pair<const char*, unsigned long> methods[] = {
      {"$2y$", 4}, {"$2b$", 4}, {"$2a$", 4}, {"$5$", 1000}, {"$6$", 1000}, {"$y$", 0}, {"$gy$", 0}, {"$7$", 0}, {"$1$", 0}};
  std::string text = "# users\r\n\r\n";
  for (const auto& [prefix, count] : methods)
    text += std::string("user") + prefix + ":" + make_hash(prefix, count, std::string("pw") + prefix) + "\r\n";
  const auto parsed = parse_htpasswd(text, "users");
  INFO(parsed.error);
  REQUIRE(parsed.error.empty());
  CHECK(parsed.hashes.size() == std::size(methods));
  const Htpasswd table = load_table(dir, text);
  for (const auto& [prefix, count] : methods) {
    INFO(prefix);
    CHECK(table.verify(std::string("user") + prefix, std::string("pw") + prefix));
    CHECK_FALSE(table.verify(std::string("user") + prefix, "wrong"));
    CHECK_FALSE(table.verify(std::string("user") + prefix, ""));
  }
}

TEST_CASE("htpasswd: hashes crypt(3) cannot verify are refused at load, naming file, line and user") {
  const std::string good = "alice:" + make_hash("$2y$", 4, "pw") + "\n";
  const char* refused[] = {
      "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/",              // htpasswd -m (Apache MD5)
      "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",                  // htpasswd -s
      "plaintext-password",                                 // htpasswd -p
      "rqXexS6ZhobKA",                                      // htpasswd -d (DES, 8 characters)
      "$2y$05$abcdefghijklmnopqrstuu",                      // a truncated bcrypt hash
      "$6$salt$tooshort",                                   // a truncated SHA-512 hash
      "$3$$8846f7eaee8fb117ad06bdd830b7586c",               // NT hash
      "",                                                   // nothing
  };
  for (const char* hash : refused) {
    INFO(hash);
    const auto parsed = parse_htpasswd(good + "# two\nbob:" + hash + "\n", "site.htpasswd");
    CHECK(parsed.error == "site.htpasswd:3: user bob: hash type not supported by crypt(3); write it with `htpasswd -B`");
    CHECK(parsed.hashes.empty());
  }
  CHECK(parse_htpasswd("no colon here\n", "f").error == "f:1: expected user:hash");
  CHECK(parse_htpasswd(":" + make_hash("$2y$", 4, "x"), "f").error == "f:1: expected user:hash");
  CHECK(parse_htpasswd(good + good, "f").error == "f:2: user alice: listed twice");
  // Apache reads the hash up to a further ':' (htpasswd-like files with more fields).
  CHECK(parse_htpasswd("alice:" + make_hash("$2y$", 4, "pw") + ":Alice Liddell\n", "f").error.empty());
}

TEST_CASE("htpasswd: the file must be a readable regular file with at least one user") {
  ScratchDir dir;
  std::string error;
  CHECK_FALSE(Htpasswd::load(dir.path() / "missing", error));
  CHECK(error == (dir.path() / "missing").string() + ": No such file or directory");
  CHECK_FALSE(Htpasswd::load(dir.write("empty", "# nobody\n"), error));
  CHECK(error == (dir.path() / "empty").string() + ": no users");
  REQUIRE(::mkfifo((dir.path() / "fifo").c_str(), 0600) == 0);
  CHECK_FALSE(Htpasswd::load(dir.path() / "fifo", error));  // and does not hang
  CHECK(error == (dir.path() / "fifo").string() + ": not a regular file");
  CHECK_FALSE(Htpasswd::load(dir.path(), error));
  CHECK(error == dir.path().string() + ": not a regular file");
}

TEST_CASE("htpasswd: unknown users and passwords with NUL are refused") {
  ScratchDir dir;
  const Htpasswd table = load_table(dir, "alice:" + make_hash("$2y$", 4, "pw") + "\n");
  CHECK(table.verify("alice", "pw"));
  CHECK_FALSE(table.verify("bob", "pw"));
  CHECK_FALSE(table.verify("", ""));
  CHECK_FALSE(table.verify("alice", std::string("pw\0extra", 8)));
  CHECK_FALSE(table.verify("alice", "pw "));
  CHECK_FALSE(table.verify("Alice", "pw"));
}

TEST_CASE("htpasswd: an unknown user costs a hash like a known one; a success is remembered") {
  ScratchDir dir;
  const Htpasswd table = load_table(dir, "alice:" + make_hash("$2y$", 8, "pw") + "\n");
  const double wrong = milliseconds_of([&] { CHECK_FALSE(table.verify("alice", "wrong")); });
  const double unknown = milliseconds_of([&] { CHECK_FALSE(table.verify("mallory", "wrong")); });
  INFO("wrong password " << wrong << " ms, unknown user " << unknown << " ms");
  CHECK(unknown > wrong / 3);
  const double first = milliseconds_of([&] { CHECK(table.verify("alice", "pw")); });
  const double second = milliseconds_of([&] { CHECK(table.verify("alice", "pw")); });
  INFO("first success " << first << " ms, remembered " << second << " ms");
  CHECK(second < first / 5);
  CHECK_FALSE(table.verify("alice", "wrong"));  // a failure is never remembered as a success
}

TEST_CASE("htpasswd: verify runs on several threads at once") {
  ScratchDir dir;
  const Htpasswd table = load_table(dir, "alice:" + make_hash("$6$", 1000, "pw") + "\nbob:" +
                                             make_hash("$2b$", 4, "bob-pw") + "\n");
  std::vector<std::future<int>> workers;
  for (int t = 0; t < 4; ++t)
    workers.push_back(std::async(std::launch::async, [&table, t] {
      int right = 0;
      for (int i = 0; i < 20; ++i) {
        // Distinct passwords so the cache does not answer for crypt.
        right += table.verify("alice", "pw") + table.verify("bob", "bob-pw") +
                 !table.verify("alice", "nope" + std::to_string(t * 100 + i));
      }
      return right;
    }));
  for (auto& worker : workers) CHECK(worker.get() == 60);
}

TEST_CASE("basic authorization: scheme in any case, base64 with or without padding, split at the first colon") {
  using Pair = std::pair<std::string, std::string>;
  CHECK(parse_basic_authorization("Basic YWxpY2U6cHc=") == Pair{"alice", "pw"});
  CHECK(parse_basic_authorization("basic YWxpY2U6cHc") == Pair{"alice", "pw"});
  CHECK(parse_basic_authorization("  BASIC \t YWxpY2U6cHc=  ") == Pair{"alice", "pw"});
  CHECK(parse_basic_authorization("Basic YWxpY2U6cDp3Og==") == Pair{"alice", "p:w:"});
  CHECK(parse_basic_authorization("Basic Og==") == Pair{"", ""});
  CHECK_FALSE(parse_basic_authorization(""));
  CHECK_FALSE(parse_basic_authorization("Basic"));
  CHECK_FALSE(parse_basic_authorization("Basic "));
  CHECK_FALSE(parse_basic_authorization("BasicYWxpY2U6cHc="));
  CHECK_FALSE(parse_basic_authorization("Bearer YWxpY2U6cHc="));
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2U"));           // no colon
  CHECK_FALSE(parse_basic_authorization("Basic YWxp Y2U6cHc="));     // a space inside
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2U6cHc=="));     // wrong padding
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2U6c=Hc"));      // padding inside
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2U6cHc*"));      // not base64
  CHECK_FALSE(parse_basic_authorization("Basic Y"));                 // 6 bits
}
