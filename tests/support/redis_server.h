// A real redis-server (Debian's redis-server, /usr/bin/redis-server) for tests: one instance
// on a free loopback port with no persistence (no RDB, no AOF) in a temporary dir, which a
// test can kill and start again on the same port.
//
// Thread safety: one thread (the test's). Ownership: owns the process (killed on destruction)
// and the dir (removed on destruction).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace portico::testing {

class RedisServer {
 public:
  static constexpr char kBinary[] = "/usr/bin/redis-server";
  // False where redis-server is not installed: tests skip then (SKIP_WITHOUT_REDIS).
  static bool Available();

  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server, or starts it again after Kill() on the same port; true once it
  // answers PING. The first start retries on fresh ports if a port was taken.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void Kill();  // SIGKILL, like a crash
  bool Restart(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    Kill();
    return Start(timeout);
  }
  // SIGSTOP / SIGCONT: a Redis that holds connections open but answers nothing.
  void Pause();
  void Resume();
  bool Running() { return process_.Running(); }

  std::string address() const;  // "127.0.0.1:<port>"
  std::uint16_t port() const { return port_; }
  std::string Log() const { return process_.Stdout() + process_.Stderr(); }

  // One command over a fresh connection (blocking, bounded by `timeout`); the reply in a
  // flat text form: integers and strings as written, nil as "(nil)", errors as "ERR ...",
  // arrays as their elements joined by '\n'. Empty on failure to connect.
  std::string Command(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  bool StartOnce(std::chrono::milliseconds timeout);

  std::string dir_;
  std::uint16_t port_ = 0;
  bool started_once_ = false;
  ChildProcess process_;
};

}  // namespace portico::testing

// In a test body: skips the test, saying why, where redis-server is not installed.
#define SKIP_WITHOUT_REDIS()                                                        \
  if (!portico::testing::RedisServer::Available()) {                               \
    GTEST_SKIP() << "redis-server is not installed (scripts/deps.sh installs it)"; \
  }
