#include "gateway/config.h"

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "registry/backend_walk.h"
#include "registry/aggregate_walk.h"
#include "registry/event_log.h"
#include "registry/policy_walk.h"

namespace portico::gateway {
namespace {

constexpr int kMaxThreads = 1024;

std::string Quote(std::string_view text) { return registry::QuoteValue(text); }

[[noreturn]] void Fail(const std::string& path, std::string_view what) {
  throw ConfigError("config key " + Quote(path) + ": " + std::string(what));
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Element(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

using ValueParser = std::function<void(const YAML::Node& value, const std::string& path)>;
struct Field {
  std::string_view key;
  ValueParser parse;
};

// Dispatches each key of a mapping to its field; unknown, duplicate and non-string keys are
// errors. A null value keeps the field's default, so "admin:" alone is allowed.
void ParseMapping(const YAML::Node& node, const std::string& path,
                  std::initializer_list<Field> fields) {
  if (!node.IsMap()) {
    if (path.empty()) throw ConfigError("config: expected a mapping of keys at the top level");
    Fail(path, "expected a mapping");
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      if (path.empty()) throw ConfigError("config: every key must be a string");
      Fail(path, "every key must be a string");
    }
    const std::string& key = entry.first.Scalar();
    const std::string key_path = Child(path, key);
    if (!seen.insert(key).second) throw ConfigError("duplicate config key " + Quote(key_path));
    const Field* field = nullptr;
    for (const Field& f : fields) {
      if (f.key == key) field = &f;
    }
    if (field == nullptr) throw ConfigError("unknown config key " + Quote(key_path));
    if (entry.second.IsNull()) continue;
    field->parse(entry.second, key_path);
  }
}

std::string ParseString(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) Fail(path, "expected a string");
  return node.Scalar();
}

std::vector<std::string> ParseStringList(const YAML::Node& node, const std::string& path) {
  if (!node.IsSequence()) Fail(path, "expected a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(ParseString(node[i], Element(path, i)));
  }
  return out;
}

// A plain (unquoted) YAML scalar, or one explicitly tagged !!int or !!bool. Quoted values
// ("4096") are strings, and accepting them for numbers would hide a typing mistake.
bool IsPlainScalar(const YAML::Node& node, std::string_view explicit_tag) {
  return node.IsScalar() && (node.Tag() == "?" || node.Tag() == explicit_tag);
}

std::uint64_t ParseUnsigned(const YAML::Node& node, const std::string& path) {
  constexpr std::string_view kExpected = "expected a non-negative integer";
  if (!IsPlainScalar(node, "tag:yaml.org,2002:int")) Fail(path, kExpected);
  const std::string& text = node.Scalar();
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size()) Fail(path, kExpected);
  if (error == std::errc::result_out_of_range) Fail(path, "the integer is too large");
  if (error != std::errc()) Fail(path, kExpected);
  return value;
}

std::size_t ParsePositiveSize(const YAML::Node& node, const std::string& path) {
  const std::uint64_t value = ParseUnsigned(node, path);
  if (value == 0) Fail(path, "must be at least 1");
  return static_cast<std::size_t>(value);
}

bool ParseBool(const YAML::Node& node, const std::string& path) {
  if (IsPlainScalar(node, "tag:yaml.org,2002:bool")) {
    const std::string& text = node.Scalar();
    // YAML 1.2 core schema; the 1.1 "yes"/"on" forms are deliberately not booleans.
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  Fail(path, "expected true or false");
}

// A plain YAML number (integer or decimal) in [0, 1].
double ParseFraction(const YAML::Node& node, const std::string& path) {
  constexpr std::string_view kExpected = "expected a number from 0 to 1";
  if (!node.IsScalar() || (node.Tag() != "?" && node.Tag() != "tag:yaml.org,2002:float" &&
                           node.Tag() != "tag:yaml.org,2002:int")) {
    Fail(path, kExpected);
  }
  const std::string& text = node.Scalar();
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      !(value >= 0.0 && value <= 1.0)) {
    Fail(path, kExpected);
  }
  return value;
}

std::chrono::milliseconds ParseDurationValue(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) Fail(path, "expected a duration such as \"30s\"");
  StatusOr<std::chrono::milliseconds> duration = registry::ParseDuration(node.Scalar());
  if (!duration.ok()) Fail(path, duration.status().message());
  return *duration;
}

std::chrono::milliseconds ParsePositiveDuration(const YAML::Node& node, const std::string& path) {
  const std::chrono::milliseconds duration = ParseDurationValue(node, path);
  if (duration.count() == 0) Fail(path, "must be positive");
  return duration;
}

}  // namespace

registry::HostPort CheckAddress(const std::string& address, const std::string& what,
                                bool allow_port_zero) {
  StatusOr<registry::HostPort> parsed = registry::ParseHostPort(address);
  if (!parsed.ok()) throw ConfigError(what + ": " + parsed.status().message());
  if (!allow_port_zero && parsed->port == 0) {
    throw ConfigError(what + ": invalid address " + Quote(address) + ": the port must be 1..65535");
  }
  return *parsed;
}

namespace {

std::string KeyName(const std::string& path) { return "config key " + Quote(path); }

}  // namespace

void CheckListenersDiffer(const Config& config) {
  const registry::HostPort data = CheckAddress(config.listen, KeyName("listen"), true);
  const registry::HostPort admin = CheckAddress(config.admin.listen, KeyName("admin.listen"), true);
  if (data.port != 0 && data == admin) {
    throw ConfigError("listen and admin.listen are both " + Quote(config.listen) +
                      "; they need different addresses");
  }
}

namespace {

// Literal loopback addresses and "localhost"; any other name could resolve anywhere.
bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const boost::asio::ip::address address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace

void CheckAdminExposure(const Config& config) {
  if (!config.admin.token.empty() || config.admin.allow_remote_without_token) return;
  const registry::HostPort admin =
      CheckAddress(config.admin.listen, KeyName("admin.listen"), true);
  if (IsLoopbackHost(admin.host)) return;
  throw ConfigError(
      "admin.listen " + Quote(config.admin.listen) +
      " is not a loopback address and admin.token is empty: anyone who can reach it could "
      "change every route and backend. Set admin.token, or set "
      "admin.allow_remote_without_token: true (--admin-allow-remote-without-token) to accept "
      "that");
}

namespace {

// A YAML value as JSON, for the walkers shared with the admin API (registry/backend_walk.h).
// What YAML has and JSON lacks is settled here, as ParseMapping does elsewhere: duplicate and
// non-string keys are errors, a null value in a mapping keeps the default (the key is dropped),
// a plain true/false is a boolean (the YAML 1.2 core schema) and every other scalar a string.
nlohmann::json YamlToJson(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) Fail(path, "every key must be a string");
      const std::string& key = entry.first.Scalar();
      if (object.contains(key)) throw ConfigError("duplicate config key " + Quote(Child(path, key)));
      if (entry.second.IsNull()) {
        object[key] = nullptr;  // marks the key as seen; dropped below
        continue;
      }
      object[key] = YamlToJson(entry.second, Child(path, key));
    }
    for (auto it = object.begin(); it != object.end();) {
      it = it->is_null() ? object.erase(it) : std::next(it);
    }
    return object;
  }
  if (node.IsSequence()) {
    nlohmann::json array = nlohmann::json::array();
    for (std::size_t i = 0; i < node.size(); ++i) {
      array.push_back(node[i].IsNull() ? nlohmann::json(nullptr)
                                       : YamlToJson(node[i], Element(path, i)));
    }
    return array;
  }
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (IsPlainScalar(node, "tag:yaml.org,2002:bool")) {
      if (text == "true" || text == "True" || text == "TRUE") return true;
      if (text == "false" || text == "False" || text == "FALSE") return false;
    }
    // A plain decimal integer is a number, as in JSON ("weight: 3"); quoted ones stay strings.
    if (IsPlainScalar(node, "tag:yaml.org,2002:int")) {
      const char* end = text.data() + text.size();
      std::int64_t signed_value = 0;
      if (auto r = std::from_chars(text.data(), end, signed_value);
          !text.empty() && r.ec == std::errc() && r.ptr == end) {
        return signed_value;
      }
      std::uint64_t unsigned_value = 0;
      if (auto r = std::from_chars(text.data(), end, unsigned_value);
          !text.empty() && r.ec == std::errc() && r.ptr == end) {
        return unsigned_value;
      }
    }
    return text;
  }
  return nullptr;
}

// What a backend key should have been (the walker says it in JSON terms), in YAML's: "a
// mapping" for "an object", "a list" for "an array".
std::string InYamlTerms(const std::string& key, std::string expected) {
  if (key == "tls") return "true, false or a mapping with ca_file and server_name";
  if (key == "transport") return "a string";
  const auto replace = [&expected](std::string_view from, std::string_view to) {
    for (std::size_t at = expected.find(from); at != std::string::npos;
         at = expected.find(from, at + to.size())) {
      expected.replace(at, from.size(), to);
    }
  };
  replace("a duration string", "a duration");
  replace("an object", "a mapping");
  replace("an array", "a list");
  return expected;
}

// Throws the ConfigError of a walker's error (registry::BackendWalkError, PolicyWalkError,
// AggregateWalkError),
// named by config key path.
template <typename WalkError>
[[noreturn]] void FailWalk(const WalkError& error, const std::string& path) {
  using Kind = typename WalkError::Kind;
  const std::string key = error.key.empty() ? path : path + "." + error.key;
  switch (error.kind) {
    case Kind::kUnknownKey:
      throw ConfigError("unknown config key " + Quote(key));
    case Kind::kWrongType:
      Fail(key, "expected " + InYamlTerms(error.key, error.message));
    case Kind::kInvalidValue:
      Fail(key, error.message);
    case Kind::kNotAnObject:
      Fail(path, "expected a mapping");
    default:  // a name mismatch (no name is given, so none), or the whole entry's own check
      break;
  }
  Fail(path, error.message);
}

// A backend: the admin API's walker (WalkBackend) over the YAML as JSON, its errors named by
// config key path.
registry::BackendConfig ParseBackend(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) Fail(path, "expected a mapping");
  registry::BackendConfig backend;
  registry::BackendWalkError error;
  if (registry::WalkBackend(YamlToJson(node, path), "", &backend, &error)) return backend;
  FailWalk(error, path);
}

// A policy: the admin API's walker (WalkPolicy) over the YAML as JSON, its errors named by
// config key path.
registry::PolicyConfig ParsePolicy(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) Fail(path, "expected a mapping");
  nlohmann::json json = YamlToJson(node, path);
  // rate_limit.rate is a JSON number; YamlToJson keeps a plain "2.5" as a string.
  if (auto limit = json.find("rate_limit"); limit != json.end() && limit->is_object()) {
    if (auto value = limit->find("rate");
        value != limit->end() && value->is_string() &&
        IsPlainScalar(node["rate_limit"]["rate"], "tag:yaml.org,2002:float")) {
      const std::string& text = value->get_ref<const std::string&>();
      double number = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (!text.empty() && error == std::errc() && end == text.data() + text.size()) {
        *value = number;
      }
    }
  }
  registry::PolicyConfig policy;
  registry::PolicyWalkError error;
  if (registry::WalkPolicy(json, "", &policy, &error)) return policy;
  FailWalk(error, path);
}

// An aggregate: the admin API's walker (WalkAggregate) over the YAML as JSON, its errors named
// by config key path. A request's plain YAML decimal stays a string, which proto3 JSON accepts
// for any number field.
registry::AggregateConfig ParseAggregate(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) Fail(path, "expected a mapping");
  registry::AggregateConfig aggregate;
  registry::AggregateWalkError error;
  if (registry::WalkAggregate(YamlToJson(node, path), "", &aggregate, &error)) return aggregate;
  FailWalk(error, path);
}

DescriptorSource ParseDescriptorSource(const YAML::Node& node, const std::string& path) {
  DescriptorSource source;
  ParseMapping(node, path,
               {{"path", [&](const YAML::Node& v,
                             const std::string& p) { source.path = ParseString(v, p); }},
                {"import_paths", [&](const YAML::Node& v, const std::string& p) {
                   source.import_paths = ParseStringList(v, p);
                 }}});
  if (source.path.empty()) Fail(Child(path, "path"), "is required and must not be empty");
  for (std::size_t i = 0; i < source.import_paths.size(); ++i) {
    if (source.import_paths[i].empty()) {
      Fail(Element(Child(path, "import_paths"), i), "must not be empty");
    }
  }
  return source;
}

void ParseLimits(const YAML::Node& node, const std::string& path, Limits* limits) {
  const auto size_field = [](std::size_t* field) {
    return [field](const YAML::Node& v, const std::string& p) { *field = ParsePositiveSize(v, p); };
  };
  const auto duration_field = [](std::chrono::milliseconds* field) {
    return [field](const YAML::Node& v, const std::string& p) {
      *field = ParsePositiveDuration(v, p);
    };
  };
  ParseMapping(node, path,
               {{"max_body_bytes", size_field(&limits->max_body_bytes)},
                {"max_header_bytes", size_field(&limits->max_header_bytes)},
                {"header_timeout", duration_field(&limits->header_timeout)},
                {"idle_timeout", duration_field(&limits->idle_timeout)},
                {"max_connections", size_field(&limits->max_connections)},
                {"max_streams_per_socket", size_field(&limits->max_streams_per_socket)},
                {"max_message_bytes", size_field(&limits->max_message_bytes)}});
}

// false, true, or {ca_file, server_name} (TLS on; both optional), as a backend's tls.
registry::BackendTls ParseTls(const YAML::Node& node, const std::string& path) {
  registry::BackendTls tls;
  if (!node.IsMap()) {
    try {
      tls.enabled = ParseBool(node, path);
    } catch (const ConfigError&) {
      Fail(path, "expected true, false or a mapping with ca_file and server_name");
    }
    return tls;
  }
  tls.enabled = true;
  ParseMapping(node, path,
               {{"ca_file",
                 [&](const YAML::Node& v, const std::string& p) {
                   tls.ca_file = ParseString(v, p);
                   if (Status s = registry::CheckTlsCaFile(tls.ca_file); !s.ok()) {
                     Fail(p, s.message());
                   }
                 }},
                {"server_name", [&](const YAML::Node& v, const std::string& p) {
                   tls.server_name = ParseString(v, p);
                   if (Status s = registry::CheckTlsServerName(tls.server_name); !s.ok()) {
                     Fail(p, s.message());
                   }
                 }}});
  return tls;
}

void ParseStore(const YAML::Node& node, const std::string& path, Config::Store* store) {
  ParseMapping(
      node, path,
      {{"type",
        [&](const YAML::Node& v, const std::string& p) { store->type = ParseString(v, p); }},
       {"dir", [&](const YAML::Node& v, const std::string& p) { store->dir = ParseString(v, p); }},
       {"endpoints", [&](const YAML::Node& v,
                         const std::string& p) { store->endpoints = ParseStringList(v, p); }},
       {"prefix",
        [&](const YAML::Node& v, const std::string& p) { store->prefix = ParseString(v, p); }},
       {"username", [&](const YAML::Node& v,
                        const std::string& p) { store->username = ParseString(v, p); }},
       {"password", [&](const YAML::Node& v,
                        const std::string& p) { store->password = ParseString(v, p); }},
       {"tls", [&](const YAML::Node& v, const std::string& p) { store->tls = ParseTls(v, p); }},
       {"timeout", [&](const YAML::Node& v,
                       const std::string& p) { store->timeout = ParsePositiveDuration(v, p); }},
       {"startup_timeout", [&](const YAML::Node& v, const std::string& p) {
          store->startup_timeout = ParsePositiveDuration(v, p);
        }}});
  // The keys only etcd takes, as written (a null value keeps the default, so it is absent).
  std::vector<std::string> etcd_keys;
  for (const char* key : {"endpoints", "username", "password", "tls", "timeout", "startup_timeout"}) {
    if (node[key] && !node[key].IsNull()) etcd_keys.push_back(key);
  }
  if (store->type == "file") {
    if (store->dir.empty()) Fail(Child(path, "dir"), "must not be empty");
    // etcd's keys with a file store mean the user believes etcd is in use; say it is not.
    if (!etcd_keys.empty()) {
      Fail(Child(path, etcd_keys.front()), "is only used with store.type \"etcd\"");
    }
  } else if (store->type == "etcd") {
    if (store->endpoints.empty()) {
      Fail(Child(path, "endpoints"), "store.type \"etcd\" needs at least one endpoint");
    }
    for (std::size_t i = 0; i < store->endpoints.size(); ++i) {
      CheckAddress(store->endpoints[i], KeyName(Element(Child(path, "endpoints"), i)), false);
    }
    if (store->prefix.empty()) Fail(Child(path, "prefix"), "must not be empty");
    if (!store->password.empty() && store->username.empty()) {
      Fail(Child(path, "password"), "is only used with store.username");
    }
  } else {
    Fail(Child(path, "type"), "expected \"file\" or \"etcd\", got " + Quote(store->type));
  }
}

void ParseDns(const YAML::Node& node, const std::string& path, Config::Dns* dns) {
  ParseMapping(node, path,
               {{"servers",
                 [&](const YAML::Node& v, const std::string& p) {
                   dns->servers = ParseStringList(v, p);
                   for (std::size_t i = 0; i < dns->servers.size(); ++i) {
                     const std::string element = Element(p, i);
                     const registry::HostPort server =
                         CheckAddress(dns->servers[i], KeyName(element), false);
                     boost::system::error_code ec;
                     boost::asio::ip::make_address(server.host, ec);
                     if (ec) {
                       Fail(element,
                            "must be an IP address and port such as \"127.0.0.1:53\", got " +
                                Quote(dns->servers[i]));
                     }
                   }
                 }},
                {"default_ttl", [&](const YAML::Node& v, const std::string& p) {
                   dns->default_ttl = ParsePositiveDuration(v, p);
                 }}});
}

Config ParseRoot(const YAML::Node& root) {
  Config config;
  if (root.IsNull()) return config;  // an empty document
  ParseMapping(
      root, "",
      {{"listen",
        [&](const YAML::Node& v, const std::string& p) { config.listen = ParseString(v, p); }},
       {"tls",
        [&](const YAML::Node& v, const std::string& p) {
          auto& tls = config.tls;
          tls.enabled = true;
          ParseMapping(v, p,
                       {{"cert_file",
                         [&](const YAML::Node& a, const std::string& ap) {
                           tls.cert_file = ParseString(a, ap);
                         }},
                        {"key_file",
                         [&](const YAML::Node& a, const std::string& ap) {
                           tls.key_file = ParseString(a, ap);
                         }},
                        {"client_ca_file", [&](const YAML::Node& a, const std::string& ap) {
                           tls.client_ca_file = ParseString(a, ap);
                         }}});
          if (tls.cert_file.empty()) Fail(Child(p, "cert_file"), "must be set with tls");
          if (tls.key_file.empty()) Fail(Child(p, "key_file"), "must be set with tls");
        }},
       {"admin",
        [&](const YAML::Node& v, const std::string& p) {
          ParseMapping(v, p,
                       {{"listen",
                         [&](const YAML::Node& v2, const std::string& p2) {
                           config.admin.listen = ParseString(v2, p2);
                         }},
                        {"token",
                         [&](const YAML::Node& v2, const std::string& p2) {
                           config.admin.token = ParseString(v2, p2);
                         }},
                        {"allow_remote_without_token",
                         [&](const YAML::Node& v2, const std::string& p2) {
                           config.admin.allow_remote_without_token = ParseBool(v2, p2);
                         }}});
        }},
       {"store",
        [&](const YAML::Node& v, const std::string& p) { ParseStore(v, p, &config.store); }},
       {"descriptors",
        [&](const YAML::Node& v, const std::string& p) {
          if (!v.IsSequence()) Fail(p, "expected a list");
          for (std::size_t i = 0; i < v.size(); ++i) {
            config.descriptors.push_back(ParseDescriptorSource(v[i], Element(p, i)));
          }
        }},
       {"backends",
        [&](const YAML::Node& v, const std::string& p) {
          if (!v.IsSequence()) Fail(p, "expected a list");
          std::set<std::string> names;
          for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string element = Element(p, i);
            config.backends.push_back(ParseBackend(v[i], element));
            if (!names.insert(config.backends.back().name).second) {
              Fail(Child(element, "name"),
                   "duplicate backend name " + Quote(config.backends.back().name));
            }
          }
        }},
       {"policies",
        [&](const YAML::Node& v, const std::string& p) {
          if (!v.IsSequence()) Fail(p, "expected a list");
          std::set<std::string> names;
          for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string element = Element(p, i);
            config.policies.push_back(ParsePolicy(v[i], element));
            if (!names.insert(config.policies.back().name).second) {
              Fail(Child(element, "name"),
                   "duplicate policy name " + Quote(config.policies.back().name));
            }
          }
        }},
       {"aggregates",
        [&](const YAML::Node& v, const std::string& p) {
          if (!v.IsSequence()) Fail(p, "expected a list");
          std::set<std::string> names;
          for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string element = Element(p, i);
            config.aggregates.push_back(ParseAggregate(v[i], element));
            if (!names.insert(config.aggregates.back().name).second) {
              Fail(Child(element, "name"),
                   "duplicate aggregate name " + Quote(config.aggregates.back().name));
            }
          }
        }},
       {"redis",
        [&](const YAML::Node& v, const std::string& p) {
          ParseMapping(v, p,
                       {{"address", [&](const YAML::Node& a, const std::string& ap) {
                           config.redis.address = ParseString(a, ap);
                           CheckAddress(config.redis.address, KeyName(ap), false);
                         }}});
        }},
       {"static",
        [&](const YAML::Node& v, const std::string& p) {
          if (!v.IsSequence()) Fail(p, "expected a list");
          std::set<std::string> prefixes;
          for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string element = Element(p, i);
            StaticMount mount;
            ParseMapping(v[i], element,
                         {{"prefix",
                           [&](const YAML::Node& v2, const std::string& p2) {
                             mount.prefix = ParseString(v2, p2);
                           }},
                          {"dir", [&](const YAML::Node& v2, const std::string& p2) {
                             mount.dir = ParseString(v2, p2);
                           }}});
            if (mount.prefix.empty() || mount.prefix.front() != '/') {
              Fail(Child(element, "prefix"), "must start with '/'");
            }
            if (mount.prefix.back() != '/') mount.prefix += '/';
            if (mount.dir.empty()) Fail(Child(element, "dir"), "must not be empty");
            if (!prefixes.insert(mount.prefix).second) {
              Fail(Child(element, "prefix"), "duplicate prefix " + Quote(mount.prefix));
            }
            config.static_mounts.push_back(std::move(mount));
          }
        }},
       {"strict",
        [&](const YAML::Node& v, const std::string& p) { config.strict = ParseBool(v, p); }},
       {"threads",
        [&](const YAML::Node& v, const std::string& p) {
          const std::uint64_t threads = ParseUnsigned(v, p);
          if (threads > kMaxThreads) Fail(p, "must be at most " + std::to_string(kMaxThreads));
          config.threads = static_cast<int>(threads);
        }},
       {"drain_timeout",
        [&](const YAML::Node& v, const std::string& p) {
          config.drain_timeout = ParseDurationValue(v, p);
        }},
       {"limits",
        [&](const YAML::Node& v, const std::string& p) { ParseLimits(v, p, &config.limits); }},
       {"dns", [&](const YAML::Node& v, const std::string& p) { ParseDns(v, p, &config.dns); }},
       {"websocket",
        [&](const YAML::Node& v, const std::string& p) {
          ParseMapping(v, p,
                       {{"allowed_origins", [&](const YAML::Node& o, const std::string& op) {
                           config.websocket.allowed_origins = ParseStringList(o, op);
                         }}});
        }},
       {"access_log",
        [&](const YAML::Node& v, const std::string& p) {
          auto& log = config.access_log;
          log.enabled = true;
          ParseMapping(
              v, p,
              {{"enabled",
                [&](const YAML::Node& a, const std::string& ap) { log.enabled = ParseBool(a, ap); }},
               {"path",
                [&](const YAML::Node& a, const std::string& ap) { log.path = ParseString(a, ap); }},
               {"sample",
                [&](const YAML::Node& a, const std::string& ap) {
                  log.sample = ParseFraction(a, ap);
                }},
               {"queue", [&](const YAML::Node& a, const std::string& ap) {
                  log.queue = ParsePositiveSize(a, ap);
                }}});
        }},
       {"log_level", [&](const YAML::Node& v, const std::string& p) {
          config.log_level = ParseString(v, p);
          if (!registry::ParseLogLevel(config.log_level)) {
            Fail(p, "expected debug, info, warn or error");
          }
        }}});
  for (std::size_t i = 0; i < config.policies.size(); ++i) {
    const auto& limit = config.policies[i].rate_limit;
    if (limit && limit->shared && config.redis.address.empty()) {
      Fail(Element("policies", i) + ".rate_limit.shared",
           "true needs redis.address (the buckets are kept in Redis)");
    }
  }
  CheckListenersDiffer(config);
  return config;
}

}  // namespace

Config ParseConfig(std::string_view yaml_text) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    std::string where;
    if (!e.mark.is_null()) {
      where = " at line " + std::to_string(e.mark.line + 1) + ", column " +
              std::to_string(e.mark.column + 1);
    }
    throw ConfigError("invalid YAML" + where + ": " + e.msg);
  }
  if (documents.size() > 1)
    throw ConfigError("config: expected one YAML document, found " +
                      std::to_string(documents.size()));
  if (documents.empty()) return Config();
  try {
    return ParseRoot(documents.front());
  } catch (const YAML::Exception& e) {
    // Not expected (only checked accessors are used), but yaml-cpp reports through exceptions.
    throw ConfigError("config: " + e.msg);
  }
}

Config LoadConfigFile(const std::string& path) {
  // stdio rather than ifstream: an ifstream "reads" a directory as an empty file, which would
  // silently start on the defaults.
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    throw ConfigError("cannot read config file " + Quote(path) + ": " +
                      std::generic_category().message(errno));
  }
  std::string text;
  char buffer[64 * 1024];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) text.append(buffer, n);
  if (std::ferror(file.get())) {
    throw ConfigError("cannot read config file " + Quote(path) + ": " +
                      std::generic_category().message(errno));
  }
  try {
    return ParseConfig(text);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

}  // namespace portico::gateway
