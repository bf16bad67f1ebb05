#pragma once
// Helpers for the conf/ unit tests: a scratch directory (hook scripts, config
// files) removed afterwards, and lookups into a LoadResult's problems.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "conf/cidr.hpp"
#include "conf/config_loader.hpp"

namespace vhm::conf::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vhm-conf-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  // Writes `relative` (creating parent directories) with the given mode.
  std::filesystem::path write(const std::string& relative, std::string_view content, mode_t mode = 0644) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    ::chmod(file.c_str(), mode);
    return file;
  }
  // An executable shell script that does nothing.
  std::filesystem::path script(const std::string& relative) const {
    return write(relative, "#!/bin/sh\nexit 0\n", 0755);
  }

 private:
  std::filesystem::path path_;
};

// 1-based number of the first line of `text` that contains `needle`; 0 if none.
inline int line_of(std::string_view text, std::string_view needle) {
  int line = 1;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (text.substr(start, end - start).find(needle) != std::string_view::npos) return line;
    ++line;
    start = end + 1;
  }
  return 0;
}

// Every problem, one per line, for INFO() on failure.
inline std::string describe(const LoadResult& result) {
  std::string text;
  for (const auto& problem : result.problems) text += problem.to_string() + "\n";
  return text.empty() ? "(no problems)" : text;
}

// The first problem reported for exactly this key, or nullptr.
inline const ConfigProblem* problem_for(const LoadResult& result, std::string_view key) {
  for (const auto& problem : result.problems)
    if (problem.key == key) return &problem;
  return nullptr;
}

inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// The loaded config; the test stops (listing the problems) if loading failed.
inline Config require_ok(const LoadResult& result) {
  INFO(describe(result));
  REQUIRE(result.ok());
  return *result.config;
}

// A parsed CIDR; the test stops if `text` is not one.
inline Cidr cidr(std::string_view text) {
  std::string error;
  auto parsed = parse_cidr(text, error);
  REQUIRE(parsed);
  return *parsed;
}

// The smallest valid config: one listener.
inline constexpr std::string_view listener = R"(listeners:
  - listen: "127.0.0.1:5900"
    target: ":1"
)";

// Sets an environment variable for one scope and restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    had_ = std::getenv(name) != nullptr;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

}  // namespace vhm::conf::test
