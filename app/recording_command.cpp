#include "app/recording_command.hpp"
#include "app/subcommand_line.hpp"

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "record/fbs_export.hpp"
#include "record/inspect.hpp"

namespace vhm::app {
namespace po = boost::program_options;
namespace {

constexpr const char* recording_usage =
    "Usage:\n"
    "  vnc-hooks-manager recording info FILE [--json]\n"
    "  vnc-hooks-manager recording list DIR [--json]\n"
    "  vnc-hooks-manager recording export FILE --fbs OUT [--force]\n"
    "\n"
    "  info    a recording's session, size, duration and integrity (every block is\n"
    "          read and its CRC checked): complete, truncated or corrupt\n"
    "  list    every *.vhmrec below DIR, oldest first, one line each (--json: an array)\n"
    "  export  convert to FBS 001.000 (rfbproxy, TightVNC's player, vnc2video); OUT is\n"
    "          never overwritten unless --force\n"
    "To watch a recording with a VNC viewer: vnc-hooks-manager play FILE.\n"
    "\nOptions";

constexpr const char* recording_exit_help =
    "\nExit status: 0 ok (info: the file is complete); 1 export could not write OUT (or\n"
    "the file holds nothing to export);\n"
    "2 usage; 3 the file is truncated (info still prints it; export wrote what it holds);\n"
    "4 the file is corrupt or unreadable (list: DIR cannot be read).\n"
    "Documentation: docs/recording.md.\n";

int recording_usage_error(const std::string& message) {
  std::cerr << "vnc-hooks-manager recording: " << message << "\nTry 'vnc-hooks-manager recording --help'.\n";
  return recording_exit_usage;
}

int integrity_exit(record::Integrity integrity) {
  switch (integrity) {
    case record::Integrity::complete: return recording_exit_ok;
    case record::Integrity::truncated: return recording_exit_truncated;
    case record::Integrity::corrupt:
    case record::Integrity::unreadable: return recording_exit_corrupt;
  }
  return recording_exit_corrupt;
}

int recording_info(const std::filesystem::path& file, bool json) {
  const auto summary = record::inspect(file);
  std::cout << (json ? record::to_json(summary) : record::to_text(summary));
  if (json) std::cout << '\n';
  std::cout.flush();
  if (summary.integrity != record::Integrity::complete && !summary.problem.empty())
    std::cerr << "vnc-hooks-manager recording: " << summary.problem << '\n';
  return integrity_exit(summary.integrity);
}

int recording_list(const std::filesystem::path& dir, bool json) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    std::cerr << "vnc-hooks-manager recording: " << dir.string() << ": "
              << (error ? error.message() : std::string("not a directory")) << '\n';
    return recording_exit_corrupt;
  }
  const auto files = record::inspect_dir(dir);
  std::cout << (json ? record::list_json(files) : record::list_table(files));
  if (json) std::cout << '\n';
  return recording_exit_ok;
}

int recording_export(const std::filesystem::path& file, const std::filesystem::path& out, bool force) {
  const auto summary = record::inspect(file);
  if (summary.integrity == record::Integrity::unreadable || !summary.header) {
    std::cerr << "vnc-hooks-manager recording: " << summary.problem << '\n';
    return recording_exit_corrupt;
  }
  const auto result = record::export_fbs(file, out, force);
  if (!result.ok) {
    std::cerr << "vnc-hooks-manager recording: " << result.error << '\n';
    return summary.integrity == record::Integrity::corrupt ? recording_exit_corrupt : recording_exit_error;
  }
  std::cout << "exported " << file.string() << " to " << out.string() << " (FBS 001.000, " << result.blocks
            << " blocks, " << result.bytes << " bytes)\n";
  if (summary.integrity == record::Integrity::corrupt) {
    std::cerr << "vnc-hooks-manager recording: " << file.string()
              << " is damaged; exported up to its last good block (" << summary.problem << ")\n";
    return recording_exit_corrupt;
  }
  if (result.source_truncated || summary.integrity == record::Integrity::truncated) {
    std::cerr << "vnc-hooks-manager recording: " << file.string()
              << " is truncated; exported up to its last complete block\n";
    return recording_exit_truncated;
  }
  return recording_exit_ok;
}

}  // namespace

int run_recording_command(int argc, char** argv) {
  bool json = false;
  bool force = false;
  bool show_help = false;
  std::string fbs;
  std::vector<std::string> words;

  po::options_description description(recording_usage);
  description.add_options()
      ("json", po::bool_switch(&json), "info, list: JSON instead of text")
      ("fbs", po::value(&fbs)->value_name("OUT"), "export: the FBS file to write")
      ("force", po::bool_switch(&force), "export: replace OUT if it exists")
      ("help,h", po::bool_switch(&show_help), "print this help and exit");
  auto line = parse_subcommand_line(argc, argv, description);
  if (!line.error.empty()) return recording_usage_error(line.error);
  words = std::move(line.words);
  if (show_help) {
    std::cout << description << recording_exit_help;
    return recording_exit_ok;
  }
  if (words.empty()) return recording_usage_error("missing command: info, list or export");
  const std::string& command = words[0];
  if (command != "info" && command != "list" && command != "export")
    return recording_usage_error("unknown command \"" + command + "\" (info, list or export)");
  if (words.size() != 2)
    return recording_usage_error(command + " takes exactly one " + (command == "list" ? "directory" : "file") + " (got " +
                       std::to_string(words.size() - 1) + ")");
  if (command != "export" && (!fbs.empty() || force)) return recording_usage_error("--fbs and --force belong to export");
  if (command == "export" && json) return recording_usage_error("--json belongs to info and list");
  if (command == "info") return recording_info(words[1], json);
  if (command == "list") return recording_list(words[1], json);
  if (fbs.empty()) return recording_usage_error("export needs --fbs OUT");
  return recording_export(words[1], fbs, force);
}

}  // namespace vhm::app
