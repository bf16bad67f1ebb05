#pragma once
// `vnc-hooks-manager ctl ...`: talks to a running proxy through its control
// socket. This file only turns the command line (and, with --config, the
// configuration's `control: socket:`) into control::CtlOptions.
namespace vhm::app {

// argv[1] is "ctl". Returns the process exit status: 0 ok, 1 error reported
// by the proxy or proxy unreachable or bad configuration, 2 usage.
int run_ctl_command(int argc, char** argv);

}  // namespace vhm::app
