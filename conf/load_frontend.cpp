// A listener's front-end keys (conf/load_frontend.hpp).
#include "conf/load_frontend.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config_sections.hpp"
#include "conf/duration.hpp"
#include "conf/size.hpp"
#include "tls/pem_files.hpp"

namespace vhm::conf {
namespace fs = std::filesystem;

// Named, not anonymous: unity batches put this file beside load_listener_tls.cpp.
namespace frontend_load {

constexpr std::array<std::pair<std::string_view, FrontProtocol>, 4> protocol_table = {
    {{"rfb", FrontProtocol::rfb}, {"tls", FrontProtocol::tls}, {"ws", FrontProtocol::ws}, {"wss", FrontProtocol::wss}}};

constexpr std::uint8_t bit(FrontProtocol p) { return static_cast<std::uint8_t>(p); }
constexpr std::uint8_t raw_protocols = bit(FrontProtocol::rfb) | bit(FrontProtocol::tls);
constexpr std::uint8_t web_protocols = bit(FrontProtocol::ws) | bit(FrontProtocol::wss);
constexpr std::uint8_t tls_protocols = bit(FrontProtocol::tls) | bit(FrontProtocol::wss);

// The keys that only mean something to the HTTP side (ws, wss).
constexpr std::array<std::string_view, 6> http_keys = {"web",       "tokens",     "websocket",
                                                       "http_auth", "http_realm", "token_from_host"};

constexpr std::chrono::milliseconds min_sniff{10};
constexpr std::chrono::milliseconds max_sniff{10'000};
constexpr std::chrono::milliseconds min_heartbeat{1'000};
constexpr std::chrono::milliseconds max_heartbeat{3'600'000};
constexpr std::chrono::milliseconds min_request_timeout{100};
constexpr std::chrono::milliseconds max_request_timeout{600'000};
constexpr std::uint64_t min_message = 4 * 1024;
constexpr std::uint64_t max_message = 1024 * 1024 * 1024;
constexpr std::size_t max_realm = 128;

using SslCtx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

SslCtx throwaway_context() { return SslCtx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free); }

// OpenSSL separates list items with ':', ',' or ' '.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (char c : text) {
    if (c == ':' || c == ',' || c == ' ') {
      if (!item.empty()) items.push_back(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) items.push_back(std::move(item));
  return items;
}

std::optional<std::chrono::milliseconds> read_bounded_duration(const Entry& entry, ProblemList& problems,
                                                               std::chrono::milliseconds min,
                                                               std::chrono::milliseconds max) {
  auto value = read_duration(entry, problems);
  if (!value) return std::nullopt;
  if (*value < min || *value > max) {
    problems.add(entry.line, entry.key,
                 "must be between " + format_duration(min) + " and " + format_duration(max) + ", got " +
                     quote_value(entry.node.Scalar()));
    return std::nullopt;
  }
  return value;
}

// A path key: resolved against the config's directory, then `check`ed.
std::optional<fs::path> read_checked_path(const Entry& entry, const fs::path& base_dir, ProblemList& problems,
                                          std::optional<std::string> (*check)(const fs::path&)) {
  const auto text = read_nonempty_string(entry, problems);
  if (!text) return std::nullopt;
  const fs::path path = resolve_config_path(*text, base_dir);
  if (auto problem = check(path)) {
    problems.add(entry.line, entry.key, *problem);
    return std::nullopt;
  }
  return path;
}

std::optional<std::uint8_t> read_protocols(const Entry& entry, ProblemList& problems) {
  const std::size_t before = problems.size();
  std::uint8_t set = 0;
  for (const Entry& item : read_list(entry, problems, "protocols (rfb, tls, ws, wss)")) {
    const auto text = read_nonempty_string(item, problems);
    if (!text) continue;
    std::optional<FrontProtocol> found;
    for (const auto& [name, protocol] : protocol_table)
      if (name == *text) found = protocol;
    if (!found) {
      problems.add(item.line, item.key, "expected rfb, tls, ws or wss, got " + quote_value(*text));
      continue;
    }
    if ((set & bit(*found)) != 0) {
      problems.add(item.line, item.key, *text + " is listed twice");
      continue;
    }
    set |= bit(*found);
  }
  if (problems.size() != before) return std::nullopt;
  if (set == 0) {
    problems.add(entry.line, entry.key, "must list at least one of rfb, tls, ws, wss");
    return std::nullopt;
  }
  return set;
}

// "0" turns the heartbeat off; anything else is a duration.
std::optional<std::chrono::milliseconds> read_heartbeat(const Entry& entry, ProblemList& problems) {
  if (entry.node.IsScalar() && (entry.node.Scalar() == "0" || entry.node.Scalar() == "0s"))
    return std::chrono::milliseconds{0};
  return read_bounded_duration(entry, problems, min_heartbeat, max_heartbeat);
}

// An Origin as browsers send it: scheme://host[:port], no path. Lower-cased
// (scheme and host are case-insensitive, browsers send lower case).
std::optional<std::string> read_origin(const Entry& entry, ProblemList& problems) {
  const auto text = read_nonempty_string(entry, problems);
  if (!text) return std::nullopt;
  std::string origin;
  for (char c : *text) origin += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto bad = [&](const std::string& why) {
    problems.add(entry.line, entry.key,
                 why + ", got " + quote_value(*text) + " (an origin is scheme://host[:port], e.g. https://vnc.example.org)");
    return std::nullopt;
  };
  const std::size_t scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) return bad("no scheme");
  const std::string scheme = origin.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return bad("the scheme must be http or https");
  const std::string rest = origin.substr(scheme_end + 3);
  if (rest.empty()) return bad("no host");
  for (char c : rest) {
    if (c == '/' || c == '?' || c == '#') return bad("an origin has no path, query or fragment");
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return bad("spaces and control characters cannot be in an origin");
  }
  return origin;
}

std::optional<std::string> read_realm(const Entry& entry, ProblemList& problems) {
  const auto text = read_nonempty_string(entry, problems);
  if (!text) return std::nullopt;
  if (text->size() > max_realm) {
    problems.add(entry.line, entry.key, "must be at most " + std::to_string(max_realm) + " characters");
    return std::nullopt;
  }
  for (char c : *text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      problems.add(entry.line, entry.key,
                   "must be printable ASCII without quotes or backslashes (it is sent in a quoted header), got " +
                       quote_value(*text));
      return std::nullopt;
    }
  }
  return text;
}

void load_websocket(const Entry& section, WebConfig& web, ProblemList& problems) {
  MapReader map(section, problems);
  if (!map.ok()) return;
  if (auto entry = map.take("origins")) {
    for (const Entry& item : read_list(*entry, problems, "origins"))
      if (auto origin = read_origin(item, problems)) web.origins.push_back(*origin);
  }
  if (auto entry = map.take("heartbeat"))
    if (auto value = read_heartbeat(*entry, problems)) web.heartbeat = *value;
  if (auto entry = map.take("idle_timeout")) {
    if (auto value = read_bounded_duration(*entry, problems, std::chrono::seconds{1}, max_duration)) {
      web.idle_timeout = *value;
      // A quiet browser (a view-only noVNC) sends only pongs: it must get a ping first.
      if (web.heartbeat.count() > 0 && *value <= web.heartbeat)
        problems.add(entry->line, entry->key,
                     "must be longer than heartbeat (" + format_duration(web.heartbeat) +
                         "): a browser that only watches answers pings and would be cut off before the first one");
    }
  }
  if (auto entry = map.take("max_message")) {
    if (auto text = read_string(*entry, problems)) {
      std::string error;
      const auto size = parse_size(*text, error);
      if (!size)
        problems.add(entry->line, entry->key, error + ", got " + quote_value(*text));
      else if (*size < min_message || *size > max_message)
        problems.add(entry->line, entry->key,
                     "must be at least " + format_size(min_message) + " and at most " + format_size(max_message) +
                         ", got " + quote_value(*text));
      else
        web.max_message = *size;
    }
  }
  if (auto entry = map.take("request_timeout"))
    if (auto value = read_bounded_duration(*entry, problems, min_request_timeout, max_request_timeout))
      web.request_timeout = *value;
  map.finish();
}

// `frontend_tls:`; a section with problems still counts as given, so they
// are not reported a second time as "tls needs a certificate".
void load_frontend_tls(const Entry& section, const fs::path& base_dir, FrontendTlsConfig& tls, ProblemList& problems) {
  MapReader map(section, problems);
  if (!map.ok()) return;
  tls.line = section.line;
  const auto cert_entry = map.take("cert");
  const auto key_entry = map.take("key");
  std::optional<fs::path> cert, key;
  if (!cert_entry)
    problems.add(section.line, map.key_path("cert"), "cert is required (a PEM certificate, its key in it or in key)");
  else
    cert = read_checked_path(*cert_entry, base_dir, problems, readable_file_problem);
  if (key_entry) key = read_checked_path(*key_entry, base_dir, problems, readable_file_problem);
  if (cert && (key || !key_entry)) {
    const fs::path key_file = key ? *key : *cert;  // websockify's self.pem holds both
    if (auto problem = tls::certificate_and_key_problem(*cert, key_file))
      problems.add(key_entry ? key_entry->line : cert_entry->line, key_entry ? key_entry->key : cert_entry->key,
                   *problem);
    tls.cert = *cert;
    tls.key = key_file;
  }
  if (auto entry = map.take("chain")) {
    if (auto path = read_checked_path(*entry, base_dir, problems, readable_file_problem)) {
      if (auto problem = tls::ca_file_problem(*path))
        problems.add(entry->line, entry->key, *problem);
      else
        tls.chain = *path;
    }
  }
  if (auto entry = map.take("ciphers")) {
    if (auto text = read_nonempty_string(*entry, problems)) {
      if (auto problem = cipher_list_problem(*text))
        problems.add(entry->line, entry->key, *problem);
      else
        tls.ciphers = *text;
    }
  }
  if (auto entry = map.take("ciphersuites")) {
    if (auto text = read_nonempty_string(*entry, problems)) {
      if (auto problem = ciphersuites_problem(*text))
        problems.add(entry->line, entry->key, *problem);
      else
        tls.ciphersuites = *text;
    }
  }
  if (auto entry = map.take("min_version")) {
    if (auto text = read_string(*entry, problems)) {
      if (*text == "1.2")
        tls.min_version = TLS1_2_VERSION;
      else if (*text == "1.3")
        tls.min_version = TLS1_3_VERSION;
      else
        problems.add(entry->line, entry->key, "expected \"1.2\" or \"1.3\", got " + quote_value(*text));
    }
  }
  const auto ca_entry = map.take("client_ca");
  if (ca_entry) {
    if (auto path = read_checked_path(*ca_entry, base_dir, problems, readable_file_problem)) {
      if (auto problem = tls::ca_file_problem(*path))
        problems.add(ca_entry->line, ca_entry->key, *problem);
      tls.client_ca = *path;
    }
  }
  bool mode_ok = true;
  if (auto entry = map.take("client_cert")) {
    const auto text = read_string(*entry, problems);
    mode_ok = false;
    if (text) {
      if (*text == "none") tls.client_cert = ClientCertMode::none, mode_ok = true;
      else if (*text == "optional") tls.client_cert = ClientCertMode::optional, mode_ok = true;
      else if (*text == "required") tls.client_cert = ClientCertMode::required, mode_ok = true;
      else problems.add(entry->line, entry->key, "expected none, optional or required, got " + quote_value(*text));
    }
    if (mode_ok && tls.client_cert != ClientCertMode::none && !ca_entry)
      problems.add(entry->line, entry->key,
                   "client certificates are verified against client_ca: add frontend_tls.client_ca");
  }
  if (mode_ok && ca_entry && tls.client_cert == ClientCertMode::none)
    problems.add(ca_entry->line, ca_entry->key,
                 "client_ca is only used with client_cert: optional or required");
  map.finish();
}

}  // namespace frontend_load

using namespace frontend_load;

std::optional<std::string> cipher_list_problem(const std::string& ciphers) {
  auto ctx = throwaway_context();
  if (!ctx) return "OpenSSL could not make a context to check it";
  const auto items = split_list(ciphers);
  if (items.empty()) return "lists no cipher";
  // A list with one good name passes as a whole: check each name on its own
  // so a typo is caught. Items starting with ! - + @ only modify the list.
  for (const auto& item : items) {
    if (item.front() == '!' || item.front() == '-' || item.front() == '+' || item.front() == '@') continue;
    if (SSL_CTX_set_cipher_list(ctx.get(), item.c_str()) != 1) {
      ERR_clear_error();
      return "OpenSSL knows no TLS 1.2 cipher " + quote_value(item) + " (see `openssl ciphers -v`)";
    }
  }
  if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
    ERR_clear_error();
    return "leaves no TLS 1.2 cipher";
  }
  return std::nullopt;
}

std::optional<std::string> ciphersuites_problem(const std::string& ciphersuites) {
  const auto items = split_list(ciphersuites);
  if (items.empty()) return "lists no TLS 1.3 suite";
  for (const auto& item : items) {
    // OpenSSL ignores unknown suite names: look for the name among what it kept.
    auto ctx = throwaway_context();
    if (!ctx) return "OpenSSL could not make a context to check it";
    bool known = false;
    if (SSL_CTX_set_ciphersuites(ctx.get(), item.c_str()) == 1) {
      const STACK_OF(SSL_CIPHER)* kept = SSL_CTX_get_ciphers(ctx.get());
      for (int i = 0; kept && i < sk_SSL_CIPHER_num(kept); ++i)
        known = known || item == SSL_CIPHER_get_name(sk_SSL_CIPHER_value(kept, i));
    }
    ERR_clear_error();
    if (!known)
      return "OpenSSL knows no TLS 1.3 suite " + quote_value(item) +
             " (e.g. TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256)";
  }
  return std::nullopt;
}

std::optional<std::string> readable_file_problem(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return "cannot read " + path.string() + ": no such file";
  if (fs::is_directory(status)) return "cannot read " + path.string() + ": it is a directory";
  if (!fs::is_regular_file(status)) return "cannot read " + path.string() + ": not a regular file";
  if (::access(path.c_str(), R_OK) != 0) return "cannot read " + path.string() + ": permission denied";
  return std::nullopt;
}

std::optional<std::string> directory_problem(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return path.string() + ": no such directory";
  if (!fs::is_directory(status)) return path.string() + ": not a directory";
  if (::access(path.c_str(), R_OK | X_OK) != 0) return "cannot read " + path.string() + ": permission denied";
  return std::nullopt;
}

std::optional<std::string> token_source_problem(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(fs::status(path, ec))) return directory_problem(path);
  return readable_file_problem(path);
}

std::string protocol_names(std::uint8_t protocols) {
  std::string names;
  for (const auto& [name, protocol] : protocol_table)
    if ((protocols & bit(protocol)) != 0) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

std::optional<std::string> browser_access_summary(const Config& config) {
  std::size_t count = 0;
  std::uint8_t all = 0;
  std::vector<std::string> token_sources;
  for (const auto& listener : config.listeners) {
    const std::uint8_t beyond_rfb = listener.frontend.protocols & ~bit(FrontProtocol::rfb);
    if (beyond_rfb == 0) continue;
    ++count;
    all |= beyond_rfb;
    const std::string tokens = listener.frontend.web.tokens.string();
    if (!tokens.empty() && std::find(token_sources.begin(), token_sources.end(), tokens) == token_sources.end())
      token_sources.push_back(tokens);
  }
  if (count == 0) return std::nullopt;
  std::string text = "browser access on " + std::to_string(count) + " listener(s): " + protocol_names(all);
  for (std::size_t i = 0; i < token_sources.size(); ++i) text += (i == 0 ? "; tokens from " : ", ") + token_sources[i];
  return text;
}

void load_frontend(MapReader& listener, const fs::path& base_dir, bool has_target, ListenerConfig& config,
                   ProblemList& problems) {
  FrontendConfig& front = config.frontend;
  WebConfig& web = front.web;

  bool http_wanted = false;
  for (auto key : http_keys) http_wanted = http_wanted || listener.has(key);
  const bool tls_given = listener.has("frontend_tls");

  const auto protocols_entry = listener.take("protocols");
  std::optional<std::uint8_t> explicit_protocols;
  if (protocols_entry) explicit_protocols = read_protocols(*protocols_entry, problems);
  if (auto entry = listener.take("sniff_timeout"))
    if (auto value = read_bounded_duration(*entry, problems, min_sniff, max_sniff)) front.sniff_timeout = *value;
  const auto tls_entry = listener.take("frontend_tls");
  if (tls_entry) load_frontend_tls(*tls_entry, base_dir, front.tls, problems);

  if (auto entry = listener.take("web")) {
    if (auto path = read_checked_path(*entry, base_dir, problems, directory_problem)) web.root = *path;
  }
  const auto tokens_entry = listener.take("tokens");
  if (tokens_entry)
    if (auto path = read_checked_path(*tokens_entry, base_dir, problems, token_source_problem)) web.tokens = *path;
  if (auto entry = listener.take("token_from_host")) {
    if (auto value = read_bool(*entry, problems)) {
      web.token_from_host = *value;
      if (*value && !tokens_entry)
        problems.add(entry->line, entry->key, "token_from_host looks the Host name up in tokens: add tokens");
    }
  }
  if (auto entry = listener.take("http_auth"))
    if (auto path = read_checked_path(*entry, base_dir, problems, readable_file_problem)) web.http_auth = *path;
  if (auto entry = listener.take("http_realm"))
    if (auto realm = read_realm(*entry, problems)) web.realm = *realm;
  if (auto entry = listener.take("websocket")) load_websocket(*entry, web, problems);
  const auto trusted_entry = listener.take("trusted_proxies");
  if (trusted_entry) front.trusted_proxies = load_cidr_list(*trusted_entry, problems);
  if (auto entry = listener.take("proxy_protocol")) front.proxy_protocol = load_cidr_list(*entry, problems);
  if (auto entry = listener.take("target_tls"))
    if (auto value = read_bool(*entry, problems)) config.target_tls = *value;

  if (tokens_entry && config.transparent != Transparent::off)
    problems.add(tokens_entry->line, tokens_entry->key,
                 "tokens cannot be used with transparent: a transparent listener relays to each connection's own "
                 "destination");

  // The set of protocols: as written, or what the other keys ask for.
  if (protocols_entry) {
    if (!explicit_protocols) return;  // already reported
    front.protocols = *explicit_protocols;
  } else {
    std::uint8_t set = bit(FrontProtocol::rfb);
    if (http_wanted) set |= bit(FrontProtocol::ws);
    if (tls_given) set |= http_wanted ? tls_protocols : bit(FrontProtocol::tls);
    if (!has_target) set &= static_cast<std::uint8_t>(~raw_protocols);  // tokens name every target
    front.protocols = set;
  }
  const std::uint8_t set = front.protocols;
  if (trusted_entry && (set & web_protocols) == 0)
    problems.add(trusted_entry->line, trusted_entry->key,
                 "trusted_proxies applies to HTTP headers (X-Forwarded-For): add ws or wss to protocols");
  if (!protocols_entry) return;

  // A written list against the other keys.
  const auto& at = *protocols_entry;
  if ((set & tls_protocols) != 0 && !tls_given)
    problems.add(at.line, at.key,
                 protocol_names(set & tls_protocols) + " need" + ((set & tls_protocols) == tls_protocols ? "" : "s") +
                     " a certificate: add frontend_tls: {cert: ..., key: ...}");
  if (tls_given && (set & tls_protocols) == 0)
    problems.add(tls_entry->line, tls_entry->key, "frontend_tls is used only by tls and wss: add one to protocols");
  if ((set & web_protocols) == 0) {
    for (auto key : http_keys) {
      if (!listener.has(key)) continue;
      problems.add(at.line, at.key, std::string(key) + " is served over WebSocket: add ws or wss to protocols");
      break;
    }
  }
  if (!has_target && tokens_entry && (set & raw_protocols) != 0)
    problems.add(at.line, at.key,
                 protocol_names(set & raw_protocols) +
                     " cannot be served without a target: a raw RFB viewer cannot name a token (add target: for "
                     "them, or list only ws and wss)");
}

}  // namespace vhm::conf
