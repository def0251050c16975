// The checks of a backend's DESIGN section 9 keys, shared by ValidateBackend
// (backend_config.cc) and the walker of its JSON and YAML (backend_walk.cc), so both hold a
// value to the same bounds and word a problem alike. Internal to registry/; pure, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "registry/backend_config.h"
#include "transcoder/status.h"

namespace portico::registry::backend_checks {

// Inclusive bounds of an integer key.
struct UintRange {
  std::uint64_t min;
  std::uint64_t max;
};
inline constexpr UintRange kWeightRange{1, 10000};
inline constexpr UintRange kThresholdRange{1, 100};
inline constexpr UintRange kConsecutiveFailuresRange{0, 1000};
inline constexpr UintRange kPercentRange{0, 100};
inline constexpr UintRange kAttemptsRange{1, 10};
inline constexpr UintRange kMaxRequestsRange{1, 1000000};
inline constexpr UintRange kConnectionsRange{1, 64};
inline constexpr UintRange kStreamsPerConnectionRange{1, 10000};
inline constexpr std::chrono::milliseconds kMinReflectionInterval{1000};

inline constexpr std::string_view kOneHashKey =
    "must have exactly one of \"header\", \"path_var\" or \"metadata\"";

std::string RangeText(UintRange r);  // "1..64"
// InvalidArgument "must be 1..64, got <value>" (`value` is text: a JSON value may be negative).
Status OutOfRange(UintRange r, const std::string& value);
bool InRange(std::uint64_t value, UintRange r);
bool IsSrv(std::string_view address);  // "dns+srv://..."
// A backend's or policy's name: 1..128 characters of [A-Za-z0-9._-]. InvalidArgument whose
// message follows "backend \"x\": " ("the name may only contain ...").
Status CheckName(std::string_view name);
// An RFC 9110 token in lower case: how Portico keys headers and metadata.
bool IsLowerToken(std::string_view text);
// One field of hash_key ("header", "path_var", "metadata"), as stored (lower-cased names).
Status CheckHashKeyField(std::string_view field, std::string_view value);
Status CheckEtcdEndpoint(std::string_view endpoint);  // host:port with a port 1..65535
// Every section 9 field but endpoints and services; *key names the key at fault.
Status CheckUpstream(const BackendConfig& b, std::string* key);

}  // namespace portico::registry::backend_checks
