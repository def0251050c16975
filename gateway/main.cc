// portico: the gateway binary. Thin: parse flags and config, start the App, wait for a signal.
#include <csignal>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/app.h"
#include "gateway/command_line.h"
#include "gateway/config.h"
#include "gateway/store_command.h"

namespace {
constexpr const char* kVersion = "portico 0.1.0";
}

int main(int argc, char** argv) {
  using namespace portico::gateway;
  // Block the stop and reopen signals in every thread; App::RunUntilSignal waits for them synchronously.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);  // reopens the access log (App::RunUntilSignal)
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // `portico store export|import` (store_command.h) has flags of its own.
  if (argc >= 2 && std::string_view(argv[1]) == "store") {
    return RunStoreCommand(std::vector<std::string>(argv + 2, argv + argc), std::cin, std::cout,
                           std::cerr);
  }
  try {
    CommandLine cl = ParseCommandLine(argc, argv);
    if (cl.help) {
      std::cout << UsageText();
      return 0;
    }
    if (cl.version) {
      std::cout << kVersion << "\n";
      return 0;
    }
    Config config = cl.config_path.empty() ? Config{} : LoadConfigFile(cl.config_path);
    ApplyOverrides(cl, &config);
    App app(config);
    app.Start();
    std::cerr << "portico: data plane on " << (config.tls.enabled ? "https://" : "http://")
              << config.listen << " (port " << app.port()
              << "), admin on http://" << config.admin.listen << " (port " << app.admin_port()
              << "), "
              << (config.store.type == "file" ? "data in " + config.store.dir
                                              : "store: " + app.store().Describe())
              << "\n";
    return app.RunUntilSignal();
  } catch (const ConfigError& e) {
    std::cerr << "portico: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "portico: " << e.what() << "\n";
    return 1;
  }
}
