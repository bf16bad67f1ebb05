#pragma once
// `clipboard_content: file`: a logged clipboard text goes to its own file
// (mode 0600, in a 0700 directory made on first use), never to the log. The
// path reaches hooks as {clipboard_path}.
#include <filesystem>
#include <string>
#include <string_view>

namespace vhm::proxy {

struct ClipboardFile {
  std::filesystem::path path;  // set when written
  std::string error;           // why not
};

// <dir>/<session_id>-<n>-<direction>.txt; never replaces an existing file.
ClipboardFile write_clipboard_file(const std::filesystem::path& dir, std::string_view session_id, unsigned number,
                                   std::string_view direction, std::string_view text);

}  // namespace vhm::proxy
