#pragma once
// `vnc-hooks-manager recording info|list|export ...`: looks at recordings
// without a running proxy (record/inspect.hpp, record/fbs_export.hpp).
namespace vhm::app {

// Exit status of the recording commands.
inline constexpr int recording_exit_ok = 0;         // complete file(s), export done
inline constexpr int recording_exit_error = 1;      // export could not write its output
inline constexpr int recording_exit_usage = 2;
inline constexpr int recording_exit_truncated = 3;  // info/export: the file ends early (export wrote what was there)
inline constexpr int recording_exit_corrupt = 4;    // info/export: damaged or unreadable file; list: DIR unreadable

// argv[1] is "recording". Returns the process exit status (above).
int run_recording_command(int argc, char** argv);

}  // namespace vhm::app
