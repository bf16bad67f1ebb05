// The text parsers of the browser front end (proxy/frontend/), selected by
// the first byte (mod 7), the rest being the text:
//   0 token file (parse_token_file)       1 htpasswd file (parse_htpasswd)
//   2 Authorization value (Basic)         3 Forwarded "\n" X-Forwarded-For
//   4 request target "\n" Host (requested_token), bit 7 of byte 0: token_from_host
//   5 request target "\n" If-None-Match "\n" If-Modified-Since on a small web root
//   6 first bytes (sniff)
// Beyond not crashing: problems are "FILE:LINE: " + a fixed reason (so never
// a token or hash), accepted entries survive writing out and reading again,
// Basic credentials survive re-encoding, the forwarded client is a canonical
// IP literal and never comes from an untrusted peer, a static file served is
// below the root, and sniffing never changes its mind when more bytes come.
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz/support/check.hpp"
#include "proxy/frontend/forwarded.hpp"
#include "proxy/frontend/htpasswd.hpp"
#include "proxy/frontend/ip_literal.hpp"
#include "proxy/frontend/sniff.hpp"
#include "proxy/frontend/static_files.hpp"
#include "proxy/frontend/token_table.hpp"

namespace {

using namespace vhm::proxy::frontend;
namespace fs = std::filesystem;

// The text up to the first '\n' and the rest after it.
std::pair<std::string_view, std::string_view> split_line(std::string_view text) {
  const std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return {text, {}};
  return {text.substr(0, newline), text.substr(newline + 1)};
}

bool has_reason(const std::string& problem, std::string_view file, std::initializer_list<std::string_view> reasons) {
  if (!problem.starts_with(std::string(file) + ":")) return false;
  std::size_t at = file.size() + 1, digits = 0;
  while (at < problem.size() && problem[at] >= '0' && problem[at] <= '9') ++at, ++digits;
  if (digits == 0 || problem.compare(at, 2, ": ") != 0) return false;
  const std::string_view reason = std::string_view(problem).substr(at + 2);
  for (std::string_view known : reasons)
    if (reason == known) return true;
  return false;
}

void token_file(std::string_view text) {
  const TokenFileParse parsed = parse_token_file(text, "fuzz.cfg");
  for (const auto& problem : parsed.problems)
    VHM_FUZZ_CHECK(has_reason(problem, "fuzz.cfg",
                              {"expected `token: host:port` (one \": \" between token and target)",
                               "expected host:port after the token", "the target has no host",
                               "unix_socket targets are not supported",
                               "the target's host has a space or control character",
                               "the target's port is not a number from 1 to 65535"}),
                   "problem: " + problem);
  std::string written;
  for (const auto& [token, target] : parsed.tokens) {
    VHM_FUZZ_CHECK(!target.host.empty() && target.port != 0, "empty target for a token");
    const bool brackets = target.host.find(':') != std::string::npos ||
                          (target.host.front() == '[' && target.host.back() == ']');  // read without one pair
    written += token + ": " + (brackets ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port) + "\n";
  }
  const TokenFileParse again = parse_token_file(written, "again.cfg");
  VHM_FUZZ_CHECK(again.problems.empty() && again.tokens.size() == parsed.tokens.size(),
                 "written out, the tokens read differently:\n" + written);
  for (const auto& [token, target] : parsed.tokens) {
    const auto found = again.tokens.find(token);
    VHM_FUZZ_CHECK(found != again.tokens.end() && found->second.host == target.host && found->second.port == target.port,
                   "a token changed when written out:\n" + written);
  }
  (void)redact_token(text);
}

void htpasswd_file(std::string_view text) {
  const HtpasswdParse parsed = parse_htpasswd(text, "fuzz.htpasswd");
  if (!parsed.error.empty()) {
    VHM_FUZZ_CHECK(parsed.hashes.empty(), "users and an error: " + parsed.error);
    const bool known = has_reason(parsed.error, "fuzz.htpasswd", {"expected user:hash"}) ||
                       (parsed.error.find(": user ") != std::string::npos &&
                        (parsed.error.ends_with(": hash type not supported by crypt(3); write it with `htpasswd -B`") ||
                         parsed.error.ends_with(": listed twice")));
    VHM_FUZZ_CHECK(known && parsed.error.starts_with("fuzz.htpasswd:"), "error: " + parsed.error);
    return;
  }
  std::string written;
  for (const auto& [user, hash] : parsed.hashes) {
    VHM_FUZZ_CHECK(!user.empty() && user.find(':') == std::string::npos && hash.find(':') == std::string::npos,
                   "user " + user);
    written += user + ":" + hash + "\n";
  }
  const HtpasswdParse again = parse_htpasswd(written, "again");
  VHM_FUZZ_CHECK(again.error.empty() && again.hashes == parsed.hashes, "written out, the file read differently: " + again.error);
}

void basic_authorization(std::string_view text) {
  const auto credentials = parse_basic_authorization(text);
  if (!credentials) return;
  VHM_FUZZ_CHECK(credentials->first.find(':') == std::string::npos, "a user with ':'");
  const std::string joined = credentials->first + ":" + credentials->second;
  std::string encoded(4 * ((joined.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(joined.data()), static_cast<int>(joined.size()));
  encoded.resize(static_cast<std::size_t>(length));
  VHM_FUZZ_CHECK(parse_basic_authorization("Basic " + encoded) == credentials, "re-encoded credentials differ");
}

void forwarded_headers(std::string_view text) {
  static const std::vector<vhm::conf::Cidr> trusted = [] {
    std::vector<vhm::conf::Cidr> blocks;
    std::string error;
    for (const char* block : {"10.0.0.0/8", "2001:db8::/32", "192.0.2.128/25"})
      blocks.push_back(vhm::conf::parse_cidr(block, error).value());
    return blocks;
  }();
  const auto [forwarded, x_forwarded_for] = split_line(text);
  VHM_FUZZ_CHECK(!forwarded_client("192.0.2.1", forwarded, x_forwarded_for, trusted), "believed an untrusted peer");
  const auto client = forwarded_client("10.0.0.1", forwarded, x_forwarded_for, trusted);
  if (!client) return;
  const auto parsed = parse_ip_literal(*client);
  VHM_FUZZ_CHECK(parsed && ip_text(*parsed) == *client, "not a canonical IP literal: " + *client);
  // Whatever it is, it was written in the header (possibly with other spelling); an
  // untrusted result is the rightmost untrusted hop, so a trusted one means all were.
  VHM_FUZZ_CHECK(forwarded_client("::ffff:10.0.0.1", forwarded, x_forwarded_for, trusted) == client,
                 "the IPv4-mapped peer differs");
}

void token_request(std::string_view text, bool token_from_host) {
  const auto [target, host] = split_line(text);
  const auto token = requested_token(target, host, token_from_host);
  if (!token_from_host && (target == "/" || target == "/websockify"))
    VHM_FUZZ_CHECK(!token, "a token without one given");
  if (token && !token_from_host) VHM_FUZZ_CHECK(target.find('?') != std::string_view::npos || target.find('/') != std::string_view::npos, "token from nowhere");
}

// A small web root made once per process: files, a directory with and one
// without index, a symlink inside and two out.
struct FuzzWebRoot {
  fs::path dir;
  fs::path root;
  std::optional<StaticRoot> files;
  FuzzWebRoot() {
    std::string pattern = (fs::temp_directory_path() / "vhm-fuzz-web-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
    root = dir / "web";
    fs::create_directories(root / "app" / "sub");
    fs::create_directories(root / "empty");
    std::ofstream(root / "vnc.html") << "vnc";
    std::ofstream(root / "app" / "ui.js") << "js";
    std::ofstream(root / "app" / "index.html") << "index";
    std::ofstream(dir / "secret") << "secret";
    fs::create_symlink("vnc.html", root / "link.html");
    fs::create_symlink("../secret", root / "out");
    fs::create_symlink("/etc", root / "etc");
    std::string error;
    files = StaticRoot::open(root, error);
    if (!files) std::abort();
    root = fs::canonical(root);
  }
  ~FuzzWebRoot() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

void static_lookup(std::string_view text) {
  static FuzzWebRoot web;
  const auto [target, rest] = split_line(text);
  const auto [if_none_match, if_modified_since] = split_line(rest);
  const StaticResult result = web.files->lookup(target, if_none_match, if_modified_since);
  if (result.status != StaticStatus::ok) {
    VHM_FUZZ_CHECK(result.file.fd == -1, "a descriptor without ok");
    return;
  }
  char link[4096];
  const std::string proc = "/proc/self/fd/" + std::to_string(result.file.fd);
  const ssize_t length = ::readlink(proc.c_str(), link, sizeof link - 1);
  ::close(result.file.fd);
  VHM_FUZZ_CHECK(length > 0, "no path for the descriptor");
  const std::string opened(link, static_cast<std::size_t>(length));
  VHM_FUZZ_CHECK(opened.starts_with(web.root.string() + "/"), "served from outside the root: " + opened);
  VHM_FUZZ_CHECK(!result.file.etag.empty() && result.file.last_modified.ends_with(" GMT"), "no validators");
}

void sniff_bytes(std::string_view text) {
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  const Sniffed all = sniff(bytes);
  for (std::size_t n = 0; n <= std::min<std::size_t>(bytes.size(), 4); ++n) {
    const Sniffed some = sniff(bytes.first(n));
    VHM_FUZZ_CHECK(some == Sniffed::need_more || some == all, "sniff changed its mind after " + std::to_string(n) + " bytes");
  }
  VHM_FUZZ_CHECK(all != Sniffed::need_more || bytes.size() < 4, "need_more after 4 bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 7) {
    case 0: token_file(text); break;
    case 1: htpasswd_file(text); break;
    case 2: basic_authorization(text); break;
    case 3: forwarded_headers(text); break;
    case 4: token_request(text, (data[0] & 0x80) != 0); break;
    case 5: static_lookup(text); break;
    case 6: sniff_bytes(text); break;
  }
  return 0;
}
