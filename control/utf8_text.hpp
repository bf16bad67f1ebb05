#pragma once
// Handler rows carry peer-controlled text (user names, reasons) that may not be
// valid UTF-8; JSON must be. Boost.JSON escapes control characters but copies
// other bytes as they are, so text is made valid before it is serialized.
#include <string>
#include <string_view>

namespace vhm::control {

// `text` with every byte that is not part of a valid UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF included) replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

}  // namespace vhm::control
