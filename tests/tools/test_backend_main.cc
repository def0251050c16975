// The TestBackend as a process of its own, for tests that kill a backend mid-call (SIGKILL):
// prints "port <n>" on stdout once serving, then serves until killed.
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "tests/support/test_backend.h"

int main() {
  portico::testing::TestBackend backend;
  backend.Start();
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
