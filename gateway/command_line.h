// Portico's command line (DESIGN section 3): parsing the flags and applying them over the config.
// Errors are ConfigError exceptions (start-up only; main prints them and exits with 2).
// Thread safety: plain values and stateless functions.
#pragma once

#include <string>

#include "gateway/config.h"

namespace portico::gateway {

struct CommandLine {
  std::string config_path;
  std::string listen, admin_listen, data_dir;  // empty = not given
  bool admin_allow_remote_without_token = false;
  bool help = false, version = false;
};

// Flags: --config FILE, --listen HOST:PORT, --admin-listen HOST:PORT, --data-dir DIR,
// --admin-allow-remote-without-token, -h/--help, --version; each value as "--flag value" or
// "--flag=value"; a repeated flag's last value wins. Throws ConfigError on an unknown flag, a
// positional argument, a value given to a flag that takes none, or a missing or empty value (a
// following argument that starts with "-" is not taken as a value).
CommandLine ParseCommandLine(int argc, char** argv);
// Applies the overrides given, then checks the result. Throws ConfigError naming the flag for
// an address that is not host:port, for --data-dir with an etcd store, when the data and admin
// listeners end up on the same address, and when the admin API would be reachable from other
// hosts without a token (CheckAdminExposure).
void ApplyOverrides(const CommandLine& command_line, Config* config);
std::string UsageText();

}  // namespace portico::gateway
