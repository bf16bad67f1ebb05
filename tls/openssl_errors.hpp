#pragma once
// OpenSSL keeps errors in a per-thread queue. Whoever reads one drains the
// queue, so a stale entry can never be blamed for a later, unrelated failure.
#include <string>

namespace vhm::tls {

void clear_openssl_errors();

// The reason of the oldest queued error ("no start line", "bad decrypt"), or
// `fallback` when the queue is empty; the queue is empty afterwards.
std::string take_openssl_error(const std::string& fallback);

}  // namespace vhm::tls
