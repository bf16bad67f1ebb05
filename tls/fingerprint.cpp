#include "tls/fingerprint.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cctype>

namespace vhm::tls {
namespace {

constexpr std::string_view prefix = "sha256:";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

bool starts_with_prefix(std::string_view text) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

std::optional<Sha256> parse_fingerprint(std::string_view text, std::string& error) {
  const std::string_view expected = "expected sha256: followed by 64 hex digits (colons between bytes allowed)";
  if (!starts_with_prefix(text)) {
    error = std::string(expected);
    return std::nullopt;
  }
  text.remove_prefix(prefix.size());
  std::string digits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    // A colon only between two byte pairs: "ab:cd", never "a:bc", "::" or a trailing one.
    if (c == ':' && digits.size() % 2 == 0 && !digits.empty() && i + 1 < text.size() && text[i + 1] != ':') continue;
    if (hex_value(c) < 0) {
      error = std::string(expected);
      return std::nullopt;
    }
    digits += c;
  }
  if (digits.size() != 64) {
    error = std::string(expected) + "; got " + std::to_string(digits.size()) + " hex digits";
    return std::nullopt;
  }
  Sha256 digest{};
  for (std::size_t i = 0; i < digest.size(); ++i)
    digest[i] = static_cast<std::uint8_t>(hex_value(digits[2 * i]) * 16 + hex_value(digits[2 * i + 1]));
  return digest;
}

std::string format_fingerprint(const Sha256& digest) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string text(prefix);
  for (const auto byte : digest) {
    text += hex[byte >> 4];
    text += hex[byte & 0x0f];
  }
  return text;
}

std::optional<Sha256> certificate_fingerprint(X509* certificate) {
  if (certificate == nullptr) return std::nullopt;
  Sha256 digest{};
  unsigned int length = 0;
  if (X509_digest(certificate, EVP_sha256(), digest.data(), &length) != 1 || length != digest.size())
    return std::nullopt;
  return digest;
}

}  // namespace vhm::tls
