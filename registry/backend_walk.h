// The one walker of a backend's declaration, shared by the admin API's JSON (BackendFromJson in
// backend_config.h) and the config file's YAML (gateway/config.cc converts the YAML node to JSON
// first). It reports where a problem is and what kind it is; each caller words the message in
// its own terms ("backend \"g\": key \"endpoints\" must be an array of strings" for the admin
// API, "config key \"backends[0].endpoints\": expected a list of strings" for the config file).
// Pure function; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "registry/backend_config.h"

namespace portico::registry {

struct BackendWalkError {
  enum class Kind {
    kNotAnObject,     // the backend itself is not an object (key empty)
    kUnknownKey,      // key names the unknown key ("tls.enabled")
    kWrongType,       // key's value has the wrong JSON type ("endpoints", "endpoints[1]", "tls");
                      // message says what it should be, in JSON terms ("an integer 1..64",
                      // "true, false or an object")
    kInvalidValue,    // key's value failed its check; message says how
    kNameMismatch,    // "name" differs from the name given; message holds the JSON's name
    kInvalidBackend,  // ValidateBackend failed; message is its message (naming the backend)
  };
  Kind kind = Kind::kInvalidBackend;
  std::string key;      // path inside the backend: "timeout", "tls.ca_file", "endpoints[1].weight"
  std::string message;  // kWrongType, kInvalidValue, kNameMismatch, kInvalidBackend
};

// Walks `json` into *out (a valid backend: ValidateBackend passed) or fills *error and returns
// false. `name` empty: the JSON's "name" is used; else both must agree. Keys are visited in
// the object's order (sorted, for nlohmann::json); the first problem is reported. Values that
// only the whole backend can judge (lb names, ring_hash without hash_key, health_check.timeout
// above its interval) are checked after the walk, still as kInvalidValue naming the key;
// ValidateBackend's remaining checks (endpoint addresses, services) come last. Never throws.
bool WalkBackend(const nlohmann::json& json, std::string name, BackendConfig* out,
                 BackendWalkError* error);

}  // namespace portico::registry
