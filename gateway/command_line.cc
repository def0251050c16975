#include "gateway/command_line.h"

#include <string_view>

#include "gateway/store_command.h"

namespace portico::gateway {
namespace {

std::string Quote(std::string_view text) { return registry::QuoteValue(text); }

// "--name=value" or "--name value"; advances *i past what it consumed.
std::string TakeValue(std::string_view flag, std::string_view inline_value, bool has_inline,
                      int argc, char** argv, int* i) {
  std::string value;
  if (has_inline) {
    value = std::string(inline_value);
  } else if (*i + 1 < argc && argv[*i + 1][0] != '-') {
    value = argv[++*i];
  }
  if (value.empty()) throw ConfigError("flag " + std::string(flag) + " needs a value");
  return value;
}

}  // namespace

CommandLine ParseCommandLine(int argc, char** argv) {
  CommandLine result;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      result.help = true;
      continue;
    }
    if (arg == "--version") {
      result.version = true;
      continue;
    }
    if (arg == "--admin-allow-remote-without-token") {
      result.admin_allow_remote_without_token = true;
      continue;
    }
    if (!arg.starts_with("--") || arg == "--") {
      throw ConfigError("unexpected argument " + Quote(arg) + " (see --help)");
    }
    const std::size_t equals = arg.find('=');
    const bool has_inline = equals != std::string_view::npos;
    const std::string_view flag = arg.substr(0, equals);
    const std::string_view inline_value = has_inline ? arg.substr(equals + 1) : "";
    std::string* target = nullptr;
    if (flag == "--config") {
      target = &result.config_path;
    } else if (flag == "--listen") {
      target = &result.listen;
    } else if (flag == "--admin-listen") {
      target = &result.admin_listen;
    } else if (flag == "--data-dir") {
      target = &result.data_dir;
    } else if (flag == "--help" || flag == "--version" ||
               flag == "--admin-allow-remote-without-token") {
      throw ConfigError("flag " + std::string(flag) + " takes no value");
    } else {
      throw ConfigError("unknown flag " + Quote(flag) + " (see --help)");
    }
    *target = TakeValue(flag, inline_value, has_inline, argc, argv, &i);
  }
  return result;
}

void ApplyOverrides(const CommandLine& command_line, Config* config) {
  if (!command_line.listen.empty()) {
    CheckAddress(command_line.listen, "--listen", true);
    config->listen = command_line.listen;
  }
  if (!command_line.admin_listen.empty()) {
    CheckAddress(command_line.admin_listen, "--admin-listen", true);
    config->admin.listen = command_line.admin_listen;
  }
  if (!command_line.data_dir.empty()) {
    // Silently ignoring the flag would leave the operator thinking data goes there.
    if (config->store.type != "file") {
      throw ConfigError("--data-dir: store.type is " + Quote(config->store.type) +
                        "; only a file store has a data directory");
    }
    config->store.dir = command_line.data_dir;
  }
  if (command_line.admin_allow_remote_without_token) {
    config->admin.allow_remote_without_token = true;
  }
  CheckListenersDiffer(*config);
  CheckAdminExposure(*config);
}

std::string UsageText() {
  return "Usage: portico [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT]\n"
         "               [--data-dir DIR] [--admin-allow-remote-without-token]\n" +
         StoreUsageText() +
         "\n"
         "Portico, a gRPC/REST/WebSocket API gateway.\n"
         "\n"
         "  --config FILE             YAML (or JSON) config file; without it the embedded\n"
         "                            defaults are used\n"
         "  --listen HOST:PORT        data plane address (overrides \"listen\";\n"
         "                            default 127.0.0.1:8080)\n"
         "  --admin-listen HOST:PORT  admin API address (overrides \"admin.listen\";\n"
         "                            default 127.0.0.1:9901)\n"
         "  --data-dir DIR            file store directory (overrides \"store.dir\";\n"
         "                            default ./portico-data)\n"
         "  --admin-allow-remote-without-token\n"
         "                            allow a non-loopback admin address with no\n"
         "                            admin.token (refused otherwise)\n"
         "  -h, --help                print this help and exit\n"
         "  --version                 print the version and exit\n"
         "\n"
         "\n"
         "  store export              write the configured store's content (descriptors,\n"
         "                            backends, policies, aggregates) as one JSON document,\n"
         "                            to --out FILE or standard output\n"
         "  store import              write such a document (--in FILE or standard input)\n"
         "                            into the configured store; refuses a store that is\n"
         "                            not empty unless --force (which replaces its content)\n"
         "\n"
         "Values may also be given as --flag=value.\n";
}

}  // namespace portico::gateway
