// The one walker of a policy's declaration (DESIGN section 10), shared by the admin API's JSON
// (PolicyFromJson in policy_config.h) and the config file's YAML (gateway/config.cc converts
// the YAML node to JSON first), as backend_walk.h is for backends. It reports where a problem
// is and what kind it is; each caller words the message in its own terms. Pure functions;
// thread-safe.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::registry {

struct PolicyWalkError {
  enum class Kind {
    kNotAnObject,    // the policy itself is not an object (key empty)
    kUnknownKey,     // key names the unknown key ("jwt.isuer")
    kWrongType,      // key's value has the wrong JSON type; message says what it should be
                     // ("a string", "an integer 1..4294967295", "an object")
    kInvalidValue,   // key's value failed its check; message says how (follows the key)
    kNameMismatch,   // "name" differs from the name given; message holds the JSON's name
    kInvalidPolicy,  // the whole policy is wrong (its name, no kind set); message says how
  };
  Kind kind = Kind::kInvalidPolicy;
  std::string key;  // path inside the policy: "rate_limit.key", "hmac.keys[0].secret"
  std::string message;
};

// Walks `json` into *out (a valid policy: ValidatePolicy passed) or fills *error and returns
// false. `name` empty: the JSON's "name" is used; else both must agree. The first problem is
// reported. Never throws.
bool WalkPolicy(const nlohmann::json& json, std::string name, PolicyConfig* out,
                PolicyWalkError* error);

// The checks of ValidatePolicy but the name's, naming in *key the key at fault ("" = the whole
// policy, e.g. when it sets no kind). The message follows the key ("must be ...").
Status CheckPolicy(const PolicyConfig& policy, std::string* key);

// What PolicyToJson writes for a redacted secret; refused as a secret on the way in.
inline constexpr std::string_view kRedacted = "<redacted>";

}  // namespace portico::registry
