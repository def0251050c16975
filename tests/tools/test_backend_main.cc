// The TestBackend as a process of its own, for tests that kill a backend mid-call (SIGKILL):
// prints "port <n>" on stdout once serving, then serves until killed. `--port N` binds that
// port (to restart a killed backend where it was); the default is any free port.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/support/test_backend.h"

int main(int argc, char** argv) {
  portico::testing::TestBackendOptions options;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0) options.port = std::atoi(argv[i + 1]);
  }
  portico::testing::TestBackend backend;
  backend.Start(options);
  std::printf("port %d\n", backend.port());
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
