#pragma once
// Certificate pinning: a server's certificate is identified by the SHA-256 of
// its DER encoding, written "sha256:" + hex as `openssl x509 -fingerprint
// -sha256` prints it (colons between bytes optional, any case), so a
// self-signed Xvnc certificate can be trusted without a CA.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

typedef struct x509_st X509;

namespace vhm::tls {

using Sha256 = std::array<std::uint8_t, 32>;

// nullopt with `error` set ("expected sha256: followed by 64 hex digits") when
// the text is not a SHA-256 fingerprint.
std::optional<Sha256> parse_fingerprint(std::string_view text, std::string& error);

// "sha256:" + 64 lower-case hex digits.
std::string format_fingerprint(const Sha256& digest);

// SHA-256 of the certificate's DER encoding; nullopt if it cannot be encoded.
std::optional<Sha256> certificate_fingerprint(X509* certificate);

}  // namespace vhm::tls
