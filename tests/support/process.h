// A child process for tests that run a real binary (e.g. build/portico): fork/exec with
// stdout and stderr captured to temporary files, bounded waits, and a watchdog so that a test
// can never hang on it.
//
// Thread safety: Start, Wait, Signal, Kill and the destructor are for one thread (the test's);
// the output accessors may be called from any thread. The watchdog runs on its own thread.
// Ownership: the ChildProcess owns the child: its destructor SIGKILLs it (if still running),
// reaps it and removes the output files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace portico::testing {

class ChildProcess {
 public:
  ChildProcess();
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts `binary` with `args` (argv[1..]) in `cwd` (empty: the test's cwd), stdin from
  // /dev/null. The child is SIGKILLed once `max_lifetime` has passed (the watchdog) and when
  // the test process dies. Throws std::runtime_error if it cannot fork; a failing exec shows
  // as exit code 127 with a message on stderr. Only one child per object at a time: Start
  // kills and reaps a previous one.
  void Start(const std::string& binary, const std::vector<std::string>& args,
             const std::string& cwd = "",
             std::chrono::milliseconds max_lifetime = std::chrono::seconds(60));

  // Waits up to `timeout` for the child to end. Returns its exit code, or 128 + the signal
  // number if a signal ended it; nullopt if it is still running at the deadline.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // True while the child has been started and has not ended (reaps it if it has).
  bool Running();
  // Sends `sig` if the child is still running.
  void Signal(int sig);
  // SIGKILLs and reaps. Idempotent.
  void Kill();

  pid_t pid() const { return pid_; }
  // What the child wrote so far.
  std::string Stdout() const;
  std::string Stderr() const;

  // Polls every 10 ms until `predicate` is true, the child ends, or `timeout` passes; returns
  // the predicate's last value.
  template <typename Predicate>
  bool WaitFor(Predicate predicate, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (predicate()) return true;
      if (!Running() || std::chrono::steady_clock::now() >= deadline) return predicate();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  // Reaps without blocking; true if the child has ended (now or before). Needs mu_.
  bool ReapLocked();
  void StopWatchdog();

  mutable std::mutex mu_;  // guards pid_/reaped_/status_ against the watchdog's kill
  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = 0;
  std::string stdout_path_, stderr_path_;
  std::thread watchdog_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). Racy by
// nature: callers retry when the later bind loses.
std::uint16_t PickFreePort();

// True when a TCP connect to 127.0.0.1:port is refused (ECONNREFUSED); false when it
// connects or fails otherwise. Bounded by `timeout`.
bool ConnectRefused(std::uint16_t port,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

}  // namespace portico::testing
