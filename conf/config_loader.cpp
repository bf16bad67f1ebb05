#include "conf/config_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "conf/config_sections.hpp"
#include "conf/load_recording.hpp"
#include "conf/yaml_documents.hpp"

namespace vhm::conf {
namespace fs = std::filesystem;
namespace {

// A config file is a few kilobytes; anything this large is a mistake.
constexpr std::uintmax_t max_file_size = 16 * 1024 * 1024;

fs::path absolute_dir(const fs::path& dir) {
  std::error_code ec;
  fs::path absolute = dir.empty() ? fs::current_path(ec) : fs::absolute(dir, ec);
  if (ec) absolute = dir;
  return absolute.lexically_normal();
}

LoadResult load_text(std::string_view yaml, const std::string& name, const fs::path& base_dir,
                     const fs::path& source, const LoadOptions& options) {
  ProblemList problems(name);
  LoadResult result;
  std::vector<YAML::Node> documents;
  try {
    documents = load_all_documents(yaml);
  } catch (const YAML::Exception& error) {
    const int line = error.mark.line >= 0 ? error.mark.line + 1 : 0;
    problems.add(line, "", "YAML syntax error: " + error.msg);
    result.problems = problems.take();
    return result;
  }
  if (documents.size() > 1)
    problems.add(line_of(documents[1]), "", "only one YAML document is allowed (found another after '---')");
  const YAML::Node root = documents.empty() ? YAML::Node(YAML::NodeType::Null) : documents.front();

  auto config = std::make_shared<Config>();
  config->source = source;
  const fs::path base = absolute_dir(base_dir);
  MapReader top(Entry{root, "", line_of(root)}, problems);
  if (top.ok()) {
    config->global = load_global(top.take("global"), base, problems);
    // Listeners inherit the recording section, which comes last in the list
    // of known keys: taken first, read after it.
    const auto listeners = top.take("listeners");
    if (auto events = top.take("events")) config->events = load_events(*events, config->global, base, problems);
    config->blocking = load_blocking(top.take("blocking"), base, problems);
    config->control_socket = load_control(top.take("control"), base, problems);
    config->admin = load_admin(top.take("admin"), base, problems);
    config->broker = load_broker(top.take("broker"), base, problems);
    config->recording = load_global_recording(top.take("recording"), base, problems);
    config->listeners = load_listeners(listeners, config->recording, base, options, problems);
    top.finish();
  }

  result.problems = problems.take();
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
  if (result.problems.empty()) result.config = std::move(config);
  return result;
}

LoadResult single_problem(const std::string& file, std::string message) {
  LoadResult result;
  result.problems.push_back({file, 0, "", std::move(message)});
  return result;
}

}  // namespace

std::string ConfigProblem::to_string() const {
  std::string text = file;
  if (line > 0) text += ":" + std::to_string(line);
  text += ": ";
  if (!key.empty()) text += key + ": ";
  return text + message;
}

LoadResult load_config_file(const fs::path& path, const LoadOptions& options) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec) return single_problem(name, "cannot read the configuration file: " + ec.message());
  if (fs::is_directory(status)) return single_problem(name, "cannot read the configuration file: it is a directory");
  if (fs::is_regular_file(status)) {
    const auto size = fs::file_size(path, ec);
    if (!ec && size > max_file_size)
      return single_problem(name, "the configuration file is larger than " + std::to_string(max_file_size) + " bytes");
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) return single_problem(name, std::string("cannot read the configuration file: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return single_problem(name, std::string("cannot read the configuration file: ") + std::strerror(errno));

  const fs::path absolute = absolute_dir(path);
  return load_text(text.str(), name, absolute.parent_path(), absolute, options);
}

LoadResult load_config_string(std::string_view yaml, const std::string& name, const fs::path& base_dir,
                              const LoadOptions& options) {
  return load_text(yaml, name, base_dir, fs::path(name), options);
}

}  // namespace vhm::conf
