#pragma once
// Runs a piece of a test in a forked child, so a privilege drop (which
// cannot be undone) only changes the child. The child writes one text back.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace vhm::service::test {

// `body` runs in the child; what it returns comes back. The child ends with
// _exit, so nothing of the test framework runs twice.
inline std::string in_child(const std::function<std::string()>& body) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string text;
    try {
      text = body();
    } catch (...) {
      text = "child threw";
    }
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(pipe_fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return text;
}

// The value of one "Key:\tvalue" line of /proc/self/status.
inline std::string proc_status(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      const auto first = value.find_first_not_of(" \t");
      return first == std::string::npos ? "" : value.substr(first);
    }
  return "";
}

// A capability mask as /proc shows it (16 hex digits).
inline std::string mask_of(std::initializer_list<int> capabilities) {
  unsigned long long mask = 0;
  for (int capability : capabilities) mask |= 1ULL << capability;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", mask);
  return text;
}

}  // namespace vhm::service::test
