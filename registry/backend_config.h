// Declared configuration of one backend: where it runs and which services it serves.
// Plain value type; no thread-safety concerns. Shared by the config file, the admin API and
// the store, so all three read and write exactly the same shape.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "transcoder/status.h"

namespace portico::registry {

struct BackendConfig {
  std::string name;
  std::vector<std::string> endpoints;  // "host:port"
  std::vector<std::string> services;   // fully qualified, e.g. "chat.v1.Chat"
  std::chrono::milliseconds timeout{30000};

  bool operator==(const BackendConfig&) const = default;
};

// A user-supplied value quoted for an error message, with what could break a log line
// (quotes, backslashes, control bytes) escaped.
std::string QuoteValue(std::string_view text);

// Parses "30s", "100ms", "1.5s", "2m", "1h", "250us" (a number followed by a unit: h, m, s, ms,
// us, ns). Rounds to milliseconds (at least 1 ms for a positive value). InvalidArgument on junk.
// Strict on purpose: no sign, no spaces, no compound "1h30m", the unit is required, and a
// fraction needs digits on both sides of the point ("0.5s", not ".5s").
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The inverse, in the largest exact unit: 30000ms -> "30s", 1500ms -> "1500ms"; 0 -> "0s".
std::string FormatDuration(std::chrono::milliseconds d);

// A "host:port" address split in two. IPv6 hosts are written in brackets ("[::1]:8080") and
// stored without them ("::1").
struct HostPort {
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
};

// Parses "host:port": a non-empty host (a DNS name or IPv4 address of [A-Za-z0-9._-], or a
// bracketed IPv6 address) and a decimal port 0..65535 (0 = any free port, for listeners).
// InvalidArgument naming the text otherwise.
StatusOr<HostPort> ParseHostPort(std::string_view text);

// Validates name (non-empty, [A-Za-z0-9._-], <= 128 chars), endpoints (non-empty list of
// host:port with a numeric port 1..65535, no duplicates), services (non-empty list of
// identifiers with dots, no duplicates) and timeout (positive). InvalidArgument naming the
// backend and the offending value.
Status ValidateBackend(const BackendConfig& backend);

// JSON shape of the admin API: {"endpoints": [...], "services": [...], "timeout": "30s"}
// ("name" is included by ToJson and accepted but optional in FromJson; the admin URL names it).
// Unknown keys and wrong types are InvalidArgument naming the key. FromJson also runs
// ValidateBackend, so what it returns is always valid; a missing "timeout" is the 30s default.
// When `name` is empty the JSON's "name" is used; when both are given they must agree.
// Never throws.
nlohmann::json BackendToJson(const BackendConfig& backend);
StatusOr<BackendConfig> BackendFromJson(const nlohmann::json& json, std::string name);

}  // namespace portico::registry
