// The one walker of an aggregate's declaration (DESIGN section 11), shared by the admin API's
// JSON (AggregateFromJson in aggregate_config.h), the store and the config file's YAML
// (gateway/config.cc converts the YAML node to JSON first), as policy_walk.h is for policies.
// It reports where a problem is and what kind it is; each caller words the message in its own
// terms. Pure functions; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "registry/aggregate_config.h"
#include "transcoder/status.h"

namespace portico::registry {

struct AggregateWalkError {
  enum class Kind {
    kNotAnObject,       // the aggregate itself is not an object (key empty)
    kUnknownKey,        // key names the unknown key ("calls.user.methd")
    kWrongType,         // key's value has the wrong JSON type; message says what it should be
    kInvalidValue,      // key's value failed its check; message says how (follows the key)
    kNameMismatch,      // "name" differs from the name given; message holds the JSON's name
    kInvalidAggregate,  // the whole aggregate is wrong (its name); message says how
  };
  Kind kind = Kind::kInvalidAggregate;
  std::string key;  // path inside the aggregate: "route", "calls.user.request.id"
  std::string message;
};

// Walks `json` into *out (a valid aggregate: ValidateAggregate passed) or fills *error and
// returns false. `name` empty: the JSON's "name" is used; else both must agree. The first
// problem is reported. Never throws.
bool WalkAggregate(const nlohmann::json& json, std::string name, AggregateConfig* out,
                   AggregateWalkError* error);

// The checks of ValidateAggregate but the name's, naming in *key the key at fault. The message
// follows the key ("must be ...").
Status CheckAggregate(const AggregateConfig& aggregate, std::string* key);

}  // namespace portico::registry
