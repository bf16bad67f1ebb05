#include "conf/load_listener_tls.hpp"

#include "tls/fingerprint.hpp"
#include "tls/pem_files.hpp"

namespace vhm::conf {
namespace {

struct PathEntry {
  std::filesystem::path path;
  Entry entry;
};

// An absolute path to a file (relative paths would depend on the service's
// working directory).
std::optional<PathEntry> read_path(MapReader& map, std::string_view key, ProblemList& problems) {
  auto entry = map.take(key);
  if (!entry) return std::nullopt;
  auto text = read_nonempty_string(*entry, problems);
  if (!text) return std::nullopt;
  const std::filesystem::path path(*text);
  if (!path.is_absolute()) {
    problems.add(entry->line, entry->key, "must be an absolute path, got " + quote_value(*text));
    return std::nullopt;
  }
  return PathEntry{path.lexically_normal(), *entry};
}

template <typename Enum>
std::optional<Enum> read_choice(const Entry& entry, ProblemList& problems, std::string_view first, Enum first_value,
                                std::string_view second, Enum second_value) {
  auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  if (*text == first) return first_value;
  if (*text == second) return second_value;
  problems.add(entry.line, entry.key,
               "expected " + std::string(first) + " or " + std::string(second) + ", got " + quote_value(*text));
  return std::nullopt;
}

// Returns whether a server trust key was written (valid or not), so a broken
// one is not reported a second time as missing.
bool load_tls_map(const Entry& section, ListenerTlsConfig& tls, ProblemList& problems) {
  MapReader map(section, problems);
  if (!map.ok()) return false;
  tls.line = section.line;
  const bool trust_written = map.has("server_ca") || map.has("server_fingerprint");

  auto cert = read_path(map, "cert", problems);
  auto key = read_path(map, "key", problems);
  const bool cert_given = map.has("cert"), key_given = map.has("key");
  if (cert_given != key_given) {
    problems.add(section.line, section.key, cert_given ? "cert needs its key: add tls.key" : "key needs its cert: add tls.cert");
  } else if (cert && key) {
    if (auto problem = tls::certificate_and_key_problem(cert->path, key->path))
      problems.add(cert->entry.line, cert->entry.key, *problem);
    tls.cert = cert->path;
    tls.key = key->path;
  }

  if (auto ca = read_path(map, "server_ca", problems)) {
    if (auto problem = tls::ca_file_problem(ca->path)) problems.add(ca->entry.line, ca->entry.key, *problem);
    tls.server_ca = ca->path;
  }
  if (auto entry = map.take("server_fingerprint")) {
    if (auto text = read_nonempty_string(*entry, problems)) {
      std::string error;
      if (auto digest = tls::parse_fingerprint(*text, error))
        tls.server_fingerprint = *digest;
      else
        problems.add(entry->line, entry->key, error + ", got " + quote_value(*text));
    }
  }
  if (auto entry = map.take("server_name")) {
    if (auto text = read_nonempty_string(*entry, problems)) {
      tls.server_name = *text;
      if (!map.has("server_ca"))
        problems.add(entry->line, entry->key, "server_name is checked against a CA-verified certificate: add tls.server_ca");
    }
  }
  if (auto entry = map.take("server_anonymous"))
    if (auto value = read_bool(*entry, problems)) tls.server_anonymous = *value;
  if (auto entry = map.take("server_security"))
    if (auto value = read_choice(*entry, problems, "vencrypt", ServerSecurity::vencrypt, "plain", ServerSecurity::plain))
      tls.server_security = *value;
  map.finish();
  return trust_written;
}

}  // namespace

void load_listener_tls(MapReader& listener, ListenerConfig& config, ProblemList& problems) {
  auto mode = listener.take("vencrypt");
  bool mode_ok = true;
  if (mode) {
    auto value = read_choice(*mode, problems, "pass", VeNCryptMode::pass, "terminate", VeNCryptMode::terminate);
    mode_ok = value.has_value();
    if (value) config.vencrypt = *value;
  }
  auto tls = listener.take("tls");
  const bool trust_written = tls && load_tls_map(*tls, config.tls, problems);
  if (!mode_ok) return;  // already reported; anything more would be a guess

  if (config.vencrypt != VeNCryptMode::terminate) {
    if (tls) problems.add(tls->line, tls->key, "tls is only used with vencrypt: terminate");
    return;
  }
  const auto& t = config.tls;
  if (!trust_written && !t.server_anonymous && t.server_security != ServerSecurity::plain)
    problems.add(mode->line, mode->key,
                 "terminate needs a way to secure the server leg: set tls.server_ca, tls.server_fingerprint, "
                 "tls.server_anonymous: true or tls.server_security: plain");
}

}  // namespace vhm::conf
