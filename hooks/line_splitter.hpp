#pragma once
// Splits a hook's output stream into log lines with bounded memory: a line
// longer than max_bytes is emitted cut at max_bytes and the rest of it, up to
// the next newline, is skipped. A trailing '\r' is removed (CRLF output).
#include <cstddef>
#include <string>
#include <string_view>

namespace vhm::hooks {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_bytes) : max_bytes_(max_bytes == 0 ? 1 : max_bytes) {}

  // on_line(std::string_view line, bool cut) for every line completed by data.
  template <typename OnLine>
  void feed(std::string_view data, OnLine&& on_line) {
    while (!data.empty()) {
      const std::size_t newline = data.find('\n');
      const bool complete = newline != std::string_view::npos;
      const std::string_view piece = data.substr(0, newline);
      data = complete ? data.substr(newline + 1) : std::string_view();
      if (skipping_) {
        skipping_ = !complete;
        continue;
      }
      if (partial_.size() + piece.size() > max_bytes_) {
        partial_.append(piece.substr(0, max_bytes_ - partial_.size()));
        emit(partial_, true, on_line);
        partial_.clear();
        skipping_ = !complete;
      } else if (!complete) {
        partial_.append(piece);
      } else if (partial_.empty()) {
        emit(piece, false, on_line);
      } else {
        partial_.append(piece);
        emit(partial_, false, on_line);
        partial_.clear();
      }
    }
  }

  // Emits an unterminated last line, if any.
  template <typename OnLine>
  void finish(OnLine&& on_line) {
    if (!partial_.empty()) emit(partial_, false, on_line);
    partial_.clear();
    skipping_ = false;
  }

 private:
  template <typename OnLine>
  static void emit(std::string_view line, bool cut, OnLine& on_line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(line, cut);
  }

  std::size_t max_bytes_;
  std::string partial_;
  bool skipping_ = false;
};

}  // namespace vhm::hooks
