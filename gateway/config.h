// Portico's typed start-up configuration (DESIGN section 3) and command line.
//
// ParseConfig reads YAML (so JSON too) into Config, rejecting unknown keys, wrong types and
// invalid values with a ConfigError that names the full key path ("admin.tokn",
// "backends[0].endpoint"). Every key is optional; a key with a null value ("token:") keeps its
// default. Durations are strings in ParseDuration's syntax ("30s"). Relative paths (store.dir,
// descriptors[].path, backends[].tls.ca_file) are kept as written, i.e. relative to the working
// directory. A backend's "tls" is true, false or a mapping {ca_file, server_name}.
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

#include "registry/backend_config.h"

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
  struct Admin {
    std::string listen = "127.0.0.1:9901";
    std::string token;  // non-empty => admin calls need "Authorization: Bearer <token>"

    bool operator==(const Admin&) const = default;
  } admin;
  struct Store {
    std::string type = "file";           // "file" or "etcd"
    std::string dir = "./portico-data";  // type file
    std::vector<std::string> endpoints;  // type etcd: host:port, at least one
    std::string prefix = "/portico/";    // type etcd

    bool operator==(const Store&) const = default;
  } store;
  std::vector<DescriptorSource> descriptors;
  std::vector<registry::BackendConfig> backends;  // each valid, names unique
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

struct CommandLine {
  std::string config_path;
  std::string listen, admin_listen, data_dir;  // empty = not given
  bool help = false, version = false;
};

// Flags: --config FILE, --listen HOST:PORT, --admin-listen HOST:PORT, --data-dir DIR, -h/--help,
// --version; each value as "--flag value" or "--flag=value"; a repeated flag's last value wins.
// Throws ConfigError on an unknown flag, a positional argument, or a missing or empty value (a
// following argument that starts with "-" is not taken as a value).
CommandLine ParseCommandLine(int argc, char** argv);
// Applies the --listen, --admin-listen and --data-dir overrides given. Throws ConfigError
// naming the flag for an address that is not host:port, for --data-dir with an etcd store,
// and when the data and admin listeners end up on the same address.
void ApplyOverrides(const CommandLine& command_line, Config* config);
std::string UsageText();

}  // namespace portico::gateway
