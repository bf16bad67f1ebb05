#include "player/vnc_auth.hpp"

// OpenSSL 3 deprecates the low-level DES API; EVP's DES-ECB would need the
// legacy provider loaded, which is a process-wide change for one 16-byte
// operation. The low-level call is still part of libcrypto 3.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/des.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace vhm::player {
namespace {

std::uint8_t reverse_bits(std::uint8_t byte) {
  std::uint8_t out = 0;
  for (int i = 0; i < 8; ++i) out = static_cast<std::uint8_t>(out | ((byte >> i) & 1) << (7 - i));
  return out;
}

}  // namespace

VncChallenge random_vnc_challenge() {
  VncChallenge challenge{};
  if (RAND_bytes(challenge.data(), static_cast<int>(challenge.size())) != 1)
    throw std::runtime_error("no random bytes for the VNC authentication challenge");
  return challenge;
}

VncChallenge vnc_auth_response(std::string_view password, std::span<const std::uint8_t, 16> challenge) {
  DES_cblock key{};
  for (std::size_t i = 0; i < password.size() && i < sizeof key; ++i)
    key[i] = reverse_bits(static_cast<std::uint8_t>(password[i]));
  DES_key_schedule schedule;
  DES_set_key_unchecked(&key, &schedule);  // a password may make a weak DES key; VNC accepts it
  VncChallenge response{};
  for (std::size_t block = 0; block < 16; block += 8) {
    DES_cblock in;
    DES_cblock out;
    for (std::size_t i = 0; i < 8; ++i) in[i] = challenge[block + i];
    DES_ecb_encrypt(&in, &out, &schedule, DES_ENCRYPT);
    for (std::size_t i = 0; i < 8; ++i) response[block + i] = out[i];
  }
  OPENSSL_cleanse(&schedule, sizeof schedule);
  OPENSSL_cleanse(key, sizeof key);
  return response;
}

bool vnc_auth_matches(std::string_view password, std::span<const std::uint8_t, 16> challenge,
                      std::span<const std::uint8_t, 16> response) {
  const auto expected = vnc_auth_response(password, challenge);
  return CRYPTO_memcmp(expected.data(), response.data(), expected.size()) == 0;
}

}  // namespace vhm::player
