// Helpers for the transport tests: io threads and blocking wrappers around the asynchronous
// Transport API.
#pragma once

#include <utility>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "registry/transport.h"

namespace portico::testing {

// N io_contexts, one thread each, like the gateway's; stopped and joined on destruction.
class IoLoops {
 public:
  explicit IoLoops(int n = 2);
  ~IoLoops();
  std::vector<boost::asio::io_context*> loops() const;

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::thread> threads_;
};

registry::CallSpec Spec(const std::string& method, int timeout_ms = 10000,
                        registry::Metadata metadata = {});
registry::UnaryResult CallUnarySync(registry::Transport& transport, registry::CallSpec spec,
                                    const std::string& request);

// A StreamObserver that records every event, with blocking waits for tests.
class RecordingObserver : public registry::StreamObserver {
 public:
  void OnHeaders(const registry::Metadata& headers) override;
  void OnReadDone(bool ok, std::string message) override;
  void OnWriteDone(bool ok) override;
  void OnFinish(registry::CallStatus status, registry::Metadata trailers) override;

  // The next OnReadDone: the message, or nullopt for the end. Fails the test after 10 s.
  std::optional<std::string> WaitRead();
  bool WaitWrite();
  registry::CallStatus WaitFinish();
  int headers_calls();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::optional<std::string>> reads_;
  std::deque<bool> writes_;
  int headers_calls_ = 0;
  std::optional<registry::CallStatus> status_;
  registry::Metadata trailers_;
};

}  // namespace portico::testing
