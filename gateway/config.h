// Portico's typed start-up configuration (DESIGN section 3); the command line is in
// command_line.h.
//
// ParseConfig reads YAML (so JSON too) into Config, rejecting unknown keys, wrong types and
// invalid values with a ConfigError that names the full key path ("admin.tokn",
// "backends[0].endpoint"). Every key is optional; a key with a null value ("token:") keeps its
// default. Durations are strings in ParseDuration's syntax ("30s"). Relative paths (store.dir,
// descriptors[].path, backends[].tls.ca_file, tls.*_file) are kept as written, i.e. relative to the working
// directory. A backend's "tls" is true, false or a mapping {ca_file, server_name}. Backends
// go through the admin API's walker (registry/backend_walk.h), so they take exactly its keys;
// there a plain YAML integer is a number and a quoted one a string, as in JSON. Policies
// (DESIGN section 10) go through the admin API's policy walker (registry/policy_walk.h) the same
// way; rate_limit.rate also takes a plain YAML decimal ("rate: 2.5"). Aggregates (DESIGN
// section 11) go through registry/aggregate_walk.h likewise.
//
// Errors are exceptions here, unlike the rest of Portico, because they only happen at
// start-up, where the answer is to print the message and exit.
// Thread safety: the types are plain values; the functions keep no state.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "registry/aggregate_config.h"
#include "registry/backend_config.h"
#include "registry/policy_config.h"

namespace portico::gateway {

struct DescriptorSource {
  std::string path;  // a .proto source, or a FileDescriptorSet (binary) file
  std::vector<std::string> import_paths;

  bool operator==(const DescriptorSource&) const = default;
};

// A URL prefix served from a directory (the chat example's page, say). prefix starts and ends
// with '/'; dir is kept as written.
struct StaticMount {
  std::string prefix;
  std::string dir;

  bool operator==(const StaticMount&) const = default;
};

// DESIGN section 7 defaults. ParseConfig requires every limit to be positive.
struct Limits {
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::size_t max_connections = 10000;
  std::size_t max_streams_per_socket = 100;
  std::size_t max_message_bytes = 4 * 1024 * 1024;

  bool operator==(const Limits&) const = default;
};

struct Config {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free port
  // HTTPS/WSS on the data listener (DESIGN sections 3 and 8): with a `tls` mapping the listener
  // speaks only TLS. The files are read at start (a bad one stops the start, naming it) and
  // again on SIGHUP (a bad one then keeps the previous certificate).
  struct Tls {
    bool enabled = false;        // the config has a `tls` mapping
    std::string cert_file;       // PEM certificate chain; required with tls
    std::string key_file;        // PEM private key (unencrypted); required with tls
    std::string client_ca_file;  // PEM CAs; set => clients must present a certificate (mTLS)

    bool operator==(const Tls&) const = default;
  } tls;
  struct Admin {
    std::string listen = "127.0.0.1:9901";
    std::string token;  // non-empty => admin calls need "Authorization: Bearer <token>"
    // Without a token, a non-loopback admin.listen is refused unless this is true.
    bool allow_remote_without_token = false;

    bool operator==(const Admin&) const = default;
  } admin;
  struct Store {
    std::string type = "file";           // "file" or "etcd"
    std::string dir = "./portico-data";  // type file
    std::vector<std::string> endpoints;  // type etcd: host:port, at least one
    std::string prefix = "/portico/";    // type etcd
    // type etcd (DESIGN section 13):
    std::string username;  // etcd auth (user/password); empty = none
    std::string password;
    registry::BackendTls tls;  // "tls: true" or {ca_file, server_name}, as a backend's
    std::chrono::milliseconds timeout{5000};  // one etcd call, failover included
    // How long start-up waits for etcd (retrying with backoff) before it fails.
    std::chrono::milliseconds startup_timeout{30000};

    bool operator==(const Store&) const = default;
  } store;
  std::vector<DescriptorSource> descriptors;
  std::vector<registry::BackendConfig> backends;  // each valid, names unique
  std::vector<registry::PolicyConfig> policies;   // each valid, names unique
  std::vector<registry::AggregateConfig> aggregates;  // each valid (shape only), names unique
  // Where rate_limit.shared buckets live (DESIGN section 10).
  struct Redis {
    std::string address;  // host:port; "" = no Redis (then no policy may set shared: true)

    bool operator==(const Redis&) const = default;
  } redis;
  std::vector<StaticMount> static_mounts;         // YAML key "static"; prefixes unique
  bool strict = false;                            // unknown JSON fields / query params are 400
  int threads = 0;  // io threads; 0 = hardware_concurrency; at most 1024
  std::chrono::milliseconds drain_timeout{10000};  // 0 = do not wait for in-flight requests
  Limits limits;
  struct WebSocket {
    // Origins (scheme://host[:port]) whose pages may open sockets besides the same host; "*" = any.
    std::vector<std::string> allowed_origins;

    bool operator==(const WebSocket&) const = default;
  } websocket;
  // How upstream host names are resolved (DESIGN section 9).
  struct Dns {
    // "ip:port" name servers asked instead of those in /etc/resolv.conf; empty = resolv.conf.
    std::vector<std::string> servers;
    // The TTL of an answer that carries none (e.g. from /etc/hosts); positive.
    std::chrono::milliseconds default_ttl{30000};

    bool operator==(const Dns&) const = default;
  } dns;
  // The access log (DESIGN section 12; http/access_log.h). Off unless the config has an
  // `access_log` mapping (then on unless it says enabled: false).
  struct AccessLog {
    bool enabled = false;
    std::string path;          // "" or "stdout": standard output; else a file (SIGHUP reopens)
    double sample = 1.0;       // 0..1, the share of successful calls logged; errors always are
    std::size_t queue = 8192;  // lines waiting for the writer; beyond it lines are dropped

    bool operator==(const AccessLog&) const = default;
  } access_log;
  // The event log's threshold (registry/event_log.h): "debug", "info", "warn" or "error".
  std::string log_level = "info";

  bool operator==(const Config&) const = default;
};

class ConfigError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// Throws ConfigError. An empty text (or only comments, or "{}") is the default Config.
Config ParseConfig(std::string_view yaml_text);
// Throws ConfigError whose message starts with the file name.
Config LoadConfigFile(const std::string& path);

// Throws ConfigError naming `what` ("config key \"listen\"", "--listen") for an address that
// is not host:port, or (unless allow_port_zero) has port 0.
registry::HostPort CheckAddress(const std::string& address, const std::string& what,
                                bool allow_port_zero);
// Throws ConfigError when the data and admin listeners are on the same address.
void CheckListenersDiffer(const Config& config);
// Throws ConfigError (exit code 2 in main) when the admin API would listen on a non-loopback
// address (anything but 127.0.0.0/8, ::1 and "localhost") with no admin.token, unless
// admin.allow_remote_without_token says the operator wants that. Checked on the final config
// (ApplyOverrides), as a flag may move the admin listener.
void CheckAdminExposure(const Config& config);

}  // namespace portico::gateway
