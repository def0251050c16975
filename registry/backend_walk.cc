// The one walker of a backend's declaration (backend_walk.h): JSON (the admin API, and the
// config file's YAML converted to JSON) into a BackendConfig, naming the key at fault.
#include "registry/backend_walk.h"

#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "registry/backend_checks.h"
#include "registry/json_walk.h"

namespace portico::registry {

using namespace backend_checks;  // NOLINT(google-build-using-namespace): the shared checks

namespace {

// What a key of the wrong type should have been, in the admin API's JSON terms (the config
// file's parser says "mapping" and "list" instead).
constexpr std::string_view kEndpointType = "a string or an object with \"address\" and \"weight\"";
constexpr std::string_view kHashKeyType =
    "an object with one of \"header\", \"path_var\" or \"metadata\"";

// Reads JSON values into a BackendConfig, recording the first problem in *error; the primitive
// readers (String, Uint, Object, ...) are json_walk.h's.
class Walker : public JsonWalker<BackendWalkError> {
 public:
  using JsonWalker::JsonWalker;

  bool Endpoints(const Json& value, std::vector<EndpointConfig>* out) {
    if (!value.is_array()) return WrongType("endpoints", "an array");
    out->clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string key = Element("endpoints", i);
      const Json& item = value[i];
      if (item.is_string()) {
        out->emplace_back(item.get<std::string>());
        continue;
      }
      EndpointConfig endpoint;
      bool has_address = false;
      bool has_weight = false;
      const bool ok = Object(item, key, kEndpointType, {"address", "weight"},
                             [&](const std::string& name, const Json& v, const std::string& path) {
                               if (name == "address") {
                                 has_address = true;
                                 return String(v, path, &endpoint.address);
                               }
                               has_weight = true;
                               return Uint(v, path, kWeightRange, &endpoint.weight);
                             });
      if (!ok) return false;
      if (!has_address) return Fail(Kind::kInvalidValue, key + ".address", "is required");
      if (has_weight && IsSrv(endpoint.address)) {
        return Fail(Kind::kInvalidValue, key + ".weight",
                    "is not allowed with dns+srv:// (the SRV records carry the weights)");
      }
      out->push_back(std::move(endpoint));
    }
    return true;
  }

  bool HashKey(const Json& value, HashKeyConfig* out) {
    *out = HashKeyConfig{};
    const bool ok = Object(value, "hash_key", kHashKeyType, {"header", "path_var", "metadata"},
                           [&](const std::string& name, const Json& v, const std::string& path) {
                             std::string text;
                             if (!String(v, path, &text)) return false;
                             if (name != "path_var") text = Lower(std::move(text));
                             if (Status s = CheckHashKeyField(name, text); !s.ok())
                               return Invalid(path, s);
                             (name == "header"     ? out->header
                              : name == "metadata" ? out->metadata
                                                   : out->path_var) = std::move(text);
                             return true;
                           });
    if (!ok) return false;
    if (value.size() != 1) return Fail(Kind::kInvalidValue, "hash_key", std::string(kOneHashKey));
    return true;
  }

  // true: on with the defaults; false: off; an object: on, with the keys given.
  bool HealthCheck(const Json& value, HealthCheckConfig* out) {
    *out = HealthCheckConfig{};
    if (value.is_boolean()) {
      out->enabled = value.get<bool>();
      return true;
    }
    out->enabled = true;
    return Object(value, "health_check", "true, false or an object",
                  {"interval", "timeout", "healthy_threshold", "unhealthy_threshold", "service"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "interval") return Duration(v, path, &out->interval);
                    if (name == "timeout") return Duration(v, path, &out->timeout);
                    if (name == "healthy_threshold") {
                      return Uint(v, path, kThresholdRange, &out->healthy_threshold);
                    }
                    if (name == "unhealthy_threshold") {
                      return Uint(v, path, kThresholdRange, &out->unhealthy_threshold);
                    }
                    return String(v, path, &out->service);
                  });
  }

  // false: off (consecutive_failures 0); an object: the keys given over the defaults.
  bool Outlier(const Json& value, OutlierConfig* out) {
    *out = OutlierConfig{};
    if (value.is_boolean() && !value.get<bool>()) {
      out->consecutive_failures = 0;
      return true;
    }
    return Object(value, "outlier", "false or an object",
                  {"consecutive_failures", "base_ejection", "max_ejection_percent"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "consecutive_failures") {
                      return Uint(v, path, kConsecutiveFailuresRange, &out->consecutive_failures);
                    }
                    if (name == "base_ejection") return Duration(v, path, &out->base_ejection);
                    return Uint(v, path, kPercentRange, &out->max_ejection_percent);
                  });
  }

  bool Retry(const Json& value, RetryConfig* out) {
    *out = RetryConfig{};
    return Object(value, "retry", "an object", {"attempts", "budget_percent"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "attempts") return Uint(v, path, kAttemptsRange, &out->attempts);
                    return Uint(v, path, kPercentRange, &out->budget_percent);
                  });
  }

  bool Pool(const Json& value, PoolConfig* out) {
    *out = PoolConfig{};
    return Object(value, "pool", "an object", {"connections", "streams_per_connection"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "connections") {
                      return Uint(v, path, kConnectionsRange, &out->connections);
                    }
                    return Uint(v, path, kStreamsPerConnectionRange, &out->streams_per_connection);
                  });
  }

  // {"etcd": {"endpoints": [...], "prefix": "..."}}; an empty object means no discovery.
  bool Discovery(const Json& value, EtcdDiscoveryConfig* out) {
    *out = EtcdDiscoveryConfig{};
    return Object(value, "discovery", "an object", {"etcd"},
                  [&](const std::string&, const Json& etcd, const std::string& etcd_path) {
                    const bool ok = Object(
                        etcd, etcd_path, "an object", {"endpoints", "prefix"},
                        [&](const std::string& name, const Json& v, const std::string& path) {
                          if (name == "prefix") return String(v, path, &out->prefix);
                          if (!Strings(v, path, &out->endpoints)) return false;
                          for (std::size_t i = 0; i < out->endpoints.size(); ++i) {
                            if (Status s = CheckEtcdEndpoint(out->endpoints[i]); !s.ok()) {
                              return Invalid(Element(path, i), s);
                            }
                          }
                          return true;
                        });
                    if (!ok) return false;
                    if (out->prefix.empty()) {
                      return Fail(Kind::kInvalidValue, etcd_path + ".prefix",
                                  "is required and must not be empty");
                    }
                    return true;
                  });
  }

  bool Tls(const Json& value, BackendTls* out) {
    // false, true, or {"ca_file": ..., "server_name": ...} (TLS on; both optional).
    *out = BackendTls{};
    if (value.is_boolean()) {
      out->enabled = value.get<bool>();
      return true;
    }
    out->enabled = true;
    return Object(value, "tls", "true, false or an object", {"ca_file", "server_name"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    std::string& field = name == "ca_file" ? out->ca_file : out->server_name;
                    if (!String(v, path, &field)) return false;
                    Status s =
                        name == "ca_file" ? CheckTlsCaFile(field) : CheckTlsServerName(field);
                    return s.ok() || Invalid(path, s);
                  });
  }

  bool Backend(const Json& json, std::string name, BackendConfig* out) {
    if (!Name(json, &name)) return false;
    BackendConfig b;
    b.name = std::move(name);
    for (const auto& [key, value] : json.items()) {
      bool ok = true;
      if (key == "name") {
        continue;
      } else if (key == "endpoints") {
        ok = Endpoints(value, &b.endpoints);
      } else if (key == "services") {
        ok = Strings(value, key, &b.services);
      } else if (key == "timeout") {
        ok = Duration(value, key, &b.timeout);
      } else if (key == "stream_timeout") {
        ok = Duration(value, key, &b.stream_timeout);
      } else if (key == "transport") {
        if (!value.is_string()) return WrongType(key, "\"h2\" or \"grpc\"");
        b.transport = value.get_ref<const std::string&>();
        if (Status s = CheckTransport(b.transport); !s.ok()) return Invalid(key, s);
      } else if (key == "tls") {
        ok = Tls(value, &b.tls);
      } else if (key == "lb") {
        ok = String(value, key, &b.lb);
      } else if (key == "hash_key") {
        ok = HashKey(value, &b.hash_key);
      } else if (key == "health_check") {
        ok = HealthCheck(value, &b.health_check);
      } else if (key == "outlier") {
        ok = Outlier(value, &b.outlier);
      } else if (key == "retry") {
        ok = Retry(value, &b.retry);
      } else if (key == "max_requests") {
        ok = Uint(value, key, kMaxRequestsRange, &b.max_requests);
      } else if (key == "pool") {
        ok = Pool(value, &b.pool);
      } else if (key == "discovery") {
        ok = Discovery(value, &b.discovery_etcd);
      } else if (key == "reflection") {
        ok = Bool(value, key, &b.reflection);
      } else if (key == "reflection_interval") {
        ok = Duration(value, key, &b.reflection_interval);
      } else {
        return Fail(Kind::kUnknownKey, key);
      }
      if (!ok) return false;
    }
    // Values each key's walk could not judge alone (lb, ranges, cross-key rules), by key.
    std::string key;
    if (Status s = CheckUpstream(b, &key); !s.ok()) return Invalid(key, s);
    if (Status s = ValidateBackend(b); !s.ok()) {
      return Fail(Kind::kInvalidBackend, "", s.message());
    }
    *out = std::move(b);
    return true;
  }
};

}  // namespace

bool WalkBackend(const nlohmann::json& json, std::string name, BackendConfig* out,
                 BackendWalkError* error) {
  return Walker(error).Backend(json, std::move(name), out);
}

}  // namespace portico::registry
