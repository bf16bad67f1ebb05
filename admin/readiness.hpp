#pragma once
// What GET /readyz reports: 200 only while the listeners accept connections.
namespace vhm::admin {

enum class Readiness { starting, ready, stopping };

}  // namespace vhm::admin
