// The one walker of an aggregate's declaration (aggregate_walk.h): JSON (the admin API, the
// store and the config file's YAML converted to JSON) into an AggregateConfig, naming the key
// at fault.
#include "registry/aggregate_walk.h"

#include <algorithm>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "registry/backend_checks.h"
#include "registry/json_walk.h"

namespace portico::registry {
namespace {

constexpr backend_checks::UintRange kMaxFanOutRange{1, 10000};

// Reads JSON values into an AggregateConfig, recording the first problem in *error; the
// primitive readers (String, Uint, Object, ...) are json_walk.h's.
class Walker : public JsonWalker<AggregateWalkError> {
 public:
  using JsonWalker::JsonWalker;

  // "GET /v1/x/{id}": the method and the path, split at the first space.
  bool Route(const Json& value, AggregateConfig* out) {
    std::string route;
    if (!String(value, "route", &route)) return false;
    const std::size_t space = route.find(' ');
    if (space == std::string::npos) {
      return Fail(Kind::kInvalidValue, "route",
                  "must be \"METHOD /path\" such as \"GET /v1/dashboard/{user_id}\", got " +
                      QuoteValue(route));
    }
    out->http_method = route.substr(0, space);
    out->path = route.substr(space + 1);
    return true;
  }

  bool Call(const Json& value, const std::string& key, AggregateCall* out) {
    return Object(
        value, key, {"method", "request", "timeout", "for_each", "cache"},
        [&](const std::string& name, const Json& v, const std::string& path) {
          if (name == "method") {
            if (!String(v, path, &out->method)) return false;
            if (out->method.starts_with('/')) out->method.erase(0, 1);
            return true;
          }
          if (name == "request") {
            if (!v.is_object()) return WrongType(path, "an object");
            out->request = v;  // kept as is: refs are checked, values resolved at call time
            return true;
          }
          if (name == "timeout") return Duration(v, path, &out->timeout);
          if (name == "for_each") return String(v, path, &out->for_each);
          return Object(v, path, {"ttl"},
                        [&](const std::string&, const Json& x, const std::string& p) {
                          return Duration(x, p, &out->cache_ttl.emplace());
                        });
        });
  }

  bool Calls(const Json& value, std::vector<AggregateCall>* out) {
    if (!value.is_object()) return WrongType("calls", "an object of name: call");
    out->clear();
    for (const auto& [name, call_json] : value.items()) {
      AggregateCall call;
      call.name = name;
      if (!Call(call_json, "calls." + name, &call)) return false;
      out->push_back(std::move(call));
    }
    std::sort(out->begin(), out->end(),
              [](const AggregateCall& a, const AggregateCall& b) { return a.name < b.name; });
    return true;
  }

  bool Aggregate(const Json& json, std::string name, AggregateConfig* out) {
    if (!Name(json, &name)) return false;
    AggregateConfig a;
    a.name = std::move(name);
    for (const auto& [key, value] : json.items()) {
      bool ok = true;
      if (key == "name") {
        continue;
      } else if (key == "route") {
        ok = Route(value, &a);
      } else if (key == "timeout") {
        ok = Duration(value, key, &a.timeout);
      } else if (key == "on_error") {
        ok = String(value, key, &a.on_error);
      } else if (key == "max_fan_out") {
        ok = Uint(value, key, kMaxFanOutRange, &a.max_fan_out);
      } else if (key == "calls") {
        ok = Calls(value, &a.calls);
      } else {
        return Fail(Kind::kUnknownKey, key);
      }
      if (!ok) return false;
    }
    std::string key;
    if (Status s = CheckAggregate(a, &key); !s.ok()) {
      return Fail(key.empty() ? Kind::kInvalidAggregate : Kind::kInvalidValue, key, s.message());
    }
    if (Status s = backend_checks::CheckName(a.name); !s.ok()) {
      return Fail(Kind::kInvalidAggregate, "", s.message());
    }
    *out = std::move(a);
    return true;
  }
};

}  // namespace

bool WalkAggregate(const nlohmann::json& json, std::string name, AggregateConfig* out,
                   AggregateWalkError* error) {
  return Walker(error).Aggregate(json, std::move(name), out);
}

}  // namespace portico::registry
