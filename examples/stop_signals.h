// How the example servers wait for Ctrl-C or SIGTERM, shared by greeter, chat and dashboard.
// Call BlockStopSignals() first thing in main(), before gRPC starts its threads (they inherit
// the mask), then sigwait() on the set it returns: only that sigwait() receives the signals,
// and no handler runs in an async-signal context. Not thread-safe (main thread, at start).
#pragma once

#include <pthread.h>
#include <signal.h>

namespace portico::examples {

inline sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A shell starts background jobs with SIGINT ignored, and an ignored signal never reaches
  // sigwait(); a (never run) handler makes it pending instead.
  struct sigaction action = {};
  action.sa_handler = [](int) {};
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return stop_signals;
}

}  // namespace portico::examples
