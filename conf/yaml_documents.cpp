#include "conf/yaml_documents.hpp"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string>

#include "util/printable.hpp"

namespace vhm::conf {
namespace {

// Sees where each document starts, nothing else. Every document that makes
// progress consumes a token, so the next one starts further on; a few
// zero-width tokens (block starts) are allowed for before calling it stuck.
class DocumentStarts final : public YAML::EventHandler {
 public:
  static constexpr int stuck_after = 8;

  void OnDocumentStart(const YAML::Mark& mark) override {
    same_place_ = mark.pos == last_.pos ? same_place_ + 1 : 0;
    last_ = mark;
  }
  bool stuck() const { return same_place_ >= stuck_after; }
  const YAML::Mark& last() const { return last_; }

  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  YAML::Mark last_ = YAML::Mark::null_mark();
  int same_place_ = 0;
};

}  // namespace

std::vector<YAML::Node> load_all_documents(std::string_view yaml) {
  const std::string text(yaml);
  // A dry run of the same parse LoadAll makes: if it ends, LoadAll ends too.
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  while (parser.HandleNextDocument(starts)) {
    if (!starts.stuck()) continue;
    const auto pos = static_cast<std::size_t>(starts.last().pos);
    const std::string_view here = pos < text.size() ? std::string_view(text).substr(pos, 1) : "";
    throw YAML::ParserException(starts.last(), "unexpected \"" + util::printable(here, 8) + "\": it cannot start a value");
  }
  return YAML::LoadAll(text);
}

}  // namespace vhm::conf
