#include "record/inspect.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "record/header_json.hpp"
#include "record/reader.hpp"
#include "util/iso_time.hpp"
#include "util/printable.hpp"

namespace vhm::record {

namespace {

const char* integrity_name(Integrity i) {
  switch (i) {
    case Integrity::complete: return "complete";
    case Integrity::truncated: return "truncated";
    case Integrity::corrupt: return "corrupt";
    case Integrity::unreadable: return "unreadable";
  }
  return "unreadable";
}

std::chrono::system_clock::time_point start_of(const Header& h) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(h.start_unix_us)));
}

std::uint64_t duration_us(const FileSummary& s) { return s.trailer ? s.trailer->duration_us : s.last_time_us; }

std::string human_duration(std::uint64_t us) {
  char text[64];
  const std::uint64_t seconds = us / 1'000'000;
  if (seconds < 60)
    std::snprintf(text, sizeof text, "%llu.%03llus", static_cast<unsigned long long>(seconds),
                  static_cast<unsigned long long>(us / 1000 % 1000));
  else if (seconds < 3600)
    std::snprintf(text, sizeof text, "%llum %02llus", static_cast<unsigned long long>(seconds / 60),
                  static_cast<unsigned long long>(seconds % 60));
  else
    std::snprintf(text, sizeof text, "%lluh %02llum %02llus", static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds / 60 % 60), static_cast<unsigned long long>(seconds % 60));
  return text;
}

std::string human_size(std::uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) value /= 1024, ++unit;
  char text[32];
  if (unit == 0)
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

std::string field(const Header& h, const std::string& key) {
  const auto it = h.session.find(key);
  return it == h.session.end() ? std::string() : util::printable(it->second, 200);
}

std::string endpoint(const Header& h, const std::string& host, const std::string& port) {
  const std::string a = field(h, host), p = field(h, port);
  if (a.empty()) return "-";
  const bool v6 = a.find(':') != std::string::npos;
  return p.empty() ? a : (v6 ? "[" + a + "]:" + p : a + ":" + p);
}

std::string status_text(const FileSummary& s) {
  std::string problem = s.problem;  // the reader names the file, which to_text shows above
  if (const std::string prefix = s.path.string() + ": "; problem.starts_with(prefix)) problem.erase(0, prefix.size());
  switch (s.integrity) {
    case Integrity::complete: return "complete";
    case Integrity::truncated:
      return "truncated (after " + std::to_string(s.blocks) + " blocks, " + human_duration(s.last_time_us) + ": " +
             util::printable(problem) + ")";
    case Integrity::corrupt:
      return "corrupt (after " + std::to_string(s.blocks) + " blocks: " + util::printable(problem) + ")";
    case Integrity::unreadable: return "unreadable (" + util::printable(problem) + ")";
  }
  return "unreadable";
}

}  // namespace

FileSummary inspect(const std::filesystem::path& path) {
  FileSummary s;
  s.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) s.file_bytes = static_cast<std::uint64_t>(st.st_size);
  std::string error;
  auto reader = RecordingReader::open(path, error);
  if (!reader) {
    s.integrity = Integrity::unreadable;
    s.problem = error;
    return s;
  }
  s.header = reader->header();
  Block block;
  for (;;) {
    const ReadStatus status = reader->next(block, error);
    if (status != ReadStatus::block) {
      s.integrity = status == ReadStatus::complete    ? Integrity::complete
                    : status == ReadStatus::truncated ? Integrity::truncated
                                                      : Integrity::corrupt;
      s.problem = error;
      break;
    }
    ++s.blocks;
    s.last_time_us = block.time_us;
    if (block.type == BlockType::server_data) s.server_bytes += block.payload.size();
    if (block.type == BlockType::viewer_data) s.viewer_bytes += block.payload.size();
    if (block.type == BlockType::note) ++s.notes;
  }
  s.trailer = reader->trailer();
  if (s.trailer) s.last_time_us = std::max(s.last_time_us, s.trailer->duration_us);
  return s;
}

std::vector<FileSummary> inspect_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<FileSummary> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".vhmrec" || !it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    out.push_back(inspect(it->path()));
  }
  std::sort(out.begin(), out.end(), [](const FileSummary& a, const FileSummary& b) {
    if (a.header.has_value() != b.header.has_value()) return a.header.has_value();  // unreadable ones last
    if (a.header && a.header->start_unix_us != b.header->start_unix_us)
      return a.header->start_unix_us < b.header->start_unix_us;
    return a.path < b.path;
  });
  return out;
}

std::string to_text(const FileSummary& s) {
  std::string out;
  const auto line = [&](std::string_view label, const std::string& value) {
    out += label;
    out.append(label.size() < 14 ? 14 - label.size() : 1, ' ');
    out += value;
    out += '\n';
  };
  line("file:", util::printable(s.path.string()));
  if (s.header) {
    const Header& h = *s.header;
    const std::string user = field(h, "user");
    line("session:", field(h, "session_id").empty() ? "-" : field(h, "session_id"));
    line("client:", endpoint(h, "client_ip", "client_port"));
    line("target:", endpoint(h, "target_host", "target_port"));
    line("user:", user.empty() ? "-" : user);
    line("started:", util::iso8601_utc(start_of(h)));
    line("duration:", human_duration(duration_us(s)));
    line("desktop:", "\"" + util::printable(h.server_init.desktop_name, 200) + "\" " +
                         std::to_string(h.server_init.width) + "x" + std::to_string(h.server_init.height));
    line("pixel format:", describe(h.server_init.pixel_format));
    if (h.viewer_pixel_format) line("viewer format:", describe(*h.viewer_pixel_format));
    line("security:", util::printable(h.security_type, 100) + " (RFB " + util::printable(h.rfb_version, 20) + ")");
    if (!h.content_visible) line("content:", "not visible (" + util::printable(h.not_visible_reason) + ")");
    line("input:", h.include_input ? "recorded" : "not recorded");
    line("compression:", h.compression == Compression::zstd ? "zstd" : "none");
  }
  line("size:", human_size(s.file_bytes) + (s.file_bytes >= 1024 ? " (" + std::to_string(s.file_bytes) + " bytes)" : ""));
  if (s.header)
    line("blocks:", std::to_string(s.blocks) + " (server " + human_size(s.server_bytes) + ", viewer " +
                        human_size(s.viewer_bytes) + ", notes " + std::to_string(s.notes) + ")");
  if (s.trailer) {
    line("end reason:", util::printable(s.trailer->end_reason, 200));
    if (s.trailer->dropped_bytes > 0) line("dropped:", human_size(s.trailer->dropped_bytes) + " not recorded");
  }
  line("status:", status_text(s));
  return out;
}

namespace {

boost::json::object summary_object(const FileSummary& s) {
  namespace json = boost::json;
  json::object o{{"file", util::printable(s.path.string())},
                 {"status", integrity_name(s.integrity)},
                 {"file_bytes", s.file_bytes},
                 {"blocks", s.blocks},
                 {"duration_us", duration_us(s)},
                 {"server_bytes", s.server_bytes},
                 {"viewer_bytes", s.viewer_bytes},
                 {"notes", s.notes}};
  if (!s.problem.empty()) o["problem"] = util::printable(s.problem);
  if (s.header) {
    o["started"] = util::iso8601_utc(start_of(*s.header));
    o["header"] = json::parse(header_to_json(*s.header));
  }
  if (s.trailer) o["trailer"] = json::parse(trailer_to_json(*s.trailer));
  return o;
}

}  // namespace

std::string to_json(const FileSummary& summary) { return boost::json::serialize(summary_object(summary)); }

std::string list_json(const std::vector<FileSummary>& files) {
  boost::json::array a;
  for (const auto& f : files) a.push_back(summary_object(f));
  return boost::json::serialize(a);
}

std::string list_table(const std::vector<FileSummary>& files) {
  std::vector<std::array<std::string, 8>> rows;
  rows.push_back({"START", "DURATION", "CLIENT", "USER", "TARGET", "SIZE", "STATUS", "FILE"});
  for (const auto& s : files) {
    std::array<std::string, 8> row{"-", "-", "-", "-", "-", human_size(s.file_bytes), integrity_name(s.integrity),
                                   util::printable(s.path.string())};
    if (s.header) {
      const std::string iso = util::iso8601_utc(start_of(*s.header));  // 2026-11-29T21:30:00.000Z
      row[0] = iso.substr(0, 10) + " " + iso.substr(11, 8);
      row[1] = human_duration(duration_us(s));
      row[2] = s.header->session.contains("client_ip") ? field(*s.header, "client_ip") : "-";
      row[3] = field(*s.header, "user").empty() ? "-" : field(*s.header, "user");
      row[4] = endpoint(*s.header, "target_host", "target_port");
    }
    rows.push_back(std::move(row));
  }
  std::array<std::size_t, 8> width{};
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    out += line + '\n';
  }
  return out;
}

}  // namespace vhm::record
