#include "policy/refusal_text.hpp"

namespace vhm::policy {

std::string banned_text(std::chrono::system_clock::time_point until, std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const auto left = until > now ? until - now : system_clock::duration::zero();
  auto minutes = ceil<std::chrono::minutes>(left).count();
  if (minutes < 1) minutes = 1;
  return "Too many authentication failures; try again in " + std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
}

std::string refusal_text(Refusal refusal, std::string_view client_ip) {
  const std::string ip(client_ip);
  switch (refusal) {
    case Refusal::banned: return "Too many authentication failures";  // banned_text has the minutes
    case Refusal::denied: return "Connections from " + ip + " are not allowed";
    case Refusal::session_limit: return "Too many sessions; try again later";
    case Refusal::per_ip_limit: return "Too many sessions from " + ip;
    case Refusal::rate_limit: return "Too many connections from " + ip + "; try again in a minute";
    case Refusal::target_not_allowed:
    case Refusal::target_loop: return target_refusal_text(refusal, "this destination");
  }
  return "Connection refused by policy";
}

std::string target_refusal_text(Refusal refusal, std::string_view destination) {
  const std::string where(destination);
  if (refusal == Refusal::target_loop) return "Connection loop: " + where + " is this proxy";
  return "Connections to " + where + " are not allowed";
}

std::string gate_refusal_text(std::string_view hook_output) {
  const auto end = hook_output.find('\n');
  const std::string_view line = hook_output.substr(0, end);
  std::string text;
  for (char c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) continue;
    text += c;
  }
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return std::string(default_gate_text);
  text = text.substr(first, text.find_last_not_of(' ') - first + 1);
  if (text.size() > max_gate_text) {
    std::size_t cut = max_gate_text;
    // Back up over UTF-8 continuation bytes so no character is split.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    text.resize(cut);
    while (!text.empty() && text.back() == ' ') text.pop_back();
  }
  return text.empty() ? std::string(default_gate_text) : text;
}

}  // namespace vhm::policy
