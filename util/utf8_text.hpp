#pragma once
// Peer-controlled text (desktop names, user names, reasons) may not be
// valid UTF-8; JSON must be. Used by the event JSON writer and the control
// socket before they serialize text.
#include <string>
#include <string_view>

namespace vhm::util {

// `text` with every byte that is not part of a valid UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF included) replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

}  // namespace vhm::util
