// The dynamic gRPC call behind a small interface of Portico's own, so REST, streams and
// WebSockets never see which client library runs the call (libgrpc++ today; an HTTP/2
// transport on Portico's own io threads may replace it without touching them).
//
// Thread safety: a Transport is shared by all requests and is thread-safe. Callbacks and
// observer methods run on the transport's threads, never on the caller's; they must not block.
// Ownership: a call keeps its own state alive until its final callback has run; handles may be
// dropped at any time (dropping does not cancel; call Cancel()).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "transcoder/status.h"

namespace portico::registry {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// Final status of a call. details_bin is the raw grpc-status-details-bin (a serialized
// google.rpc.Status), empty when the server sent none.
struct CallStatus {
  Code code = Code::kOk;
  std::string message;
  std::string details_bin;
};

struct CallSpec {
  std::string method;  // "/pkg.Service/Method"
  Metadata metadata;   // lower-case keys; values of "-bin" keys are raw bytes
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
};

struct UnaryResult {
  CallStatus status;
  std::string response;  // serialized reply message (empty unless status is OK)
  Metadata headers;      // server initial metadata
  Metadata trailers;     // server trailing metadata
};

class CallHandle {
 public:
  virtual ~CallHandle() = default;
  // Idempotent; safe from any thread, also after the call finished.
  virtual void Cancel() = 0;
};

// Receives the events of a streaming call. Exactly one OnFinish ends every started call.
class StreamObserver {
 public:
  virtual ~StreamObserver() = default;
  // The server's initial metadata (not called when the call ends without any).
  virtual void OnHeaders(const Metadata& headers) = 0;
  // The reply message asked for by StreamCall::Read(); ok=false means the server's side ended
  // (OnFinish follows).
  virtual void OnReadDone(bool ok, std::string message) = 0;
  virtual void OnWriteDone(bool ok) = 0;
  virtual void OnFinish(CallStatus status, Metadata trailers) = 0;
};

// A started streaming call (any of client, server or bidi streaming: the wire is the same).
// At most one Write and one Read outstanding at a time: the observer's *Done callback says
// when the next may start. This is the flow control: nothing is read from the backend
// until the consumer asks for it. Once a Read has reported the end (ok=false), or after
// Cancel(), further calls are ignored. A consumer must keep reading until the end or cancel:
// the call's resources are released only then.
class StreamCall : public CallHandle {
 public:
  virtual void Write(std::string message) = 0;
  virtual void WritesDone() = 0;  // half-close
  virtual void Read() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::shared_ptr<CallHandle> CallUnary(CallSpec spec, std::string request,
                                                std::function<void(UnaryResult)> done) = 0;
  virtual std::shared_ptr<StreamCall> StartStream(CallSpec spec,
                                                  std::shared_ptr<StreamObserver> observer) = 0;
  // "READY", "IDLE", "CONNECTING", "TRANSIENT_FAILURE" or "SHUTDOWN": for the admin API.
  virtual std::string State() const = 0;
};

}  // namespace portico::registry
