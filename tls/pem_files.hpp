#pragma once
// Checks of the PEM files a listener names, made when the configuration is
// loaded (so `--check-config` and a reload catch a missing, unreadable or
// mismatched file) and repeated, implicitly, whenever a context is built.
// Encrypted private keys are refused: a service cannot answer a passphrase
// prompt (Xvnc's -X509Key cannot be encrypted either).
#include <filesystem>
#include <optional>
#include <string>

namespace vhm::tls {

// Why the certificate chain and the key cannot be used together: unreadable,
// not PEM, an encrypted key, or a key that does not belong to the first
// certificate. nullopt when they are fine.
std::optional<std::string> certificate_and_key_problem(const std::filesystem::path& certificate,
                                                       const std::filesystem::path& key);

// Why the file cannot serve as a list of trusted CA certificates (unreadable,
// no PEM certificate in it). nullopt when it can.
std::optional<std::string> ca_file_problem(const std::filesystem::path& ca_file);

}  // namespace vhm::tls
