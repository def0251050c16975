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
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  // True when the call provably never reached a backend (no connection, a refused stream, a
  // GOAWAY before the server processed it): it may be retried anywhere (DESIGN section 9).
  bool not_sent = false;
  // The endpoint ("host:port" dialled) of the attempt that ended the call, for the access
  // log; "" when no endpoint was tried. Set by the backend's transport (upstream/cluster.cc).
  std::string endpoint = {};
};

struct CallSpec {
  std::string method;  // "/pkg.Service/Method"
  Metadata metadata;   // lower-case keys; values of "-bin" keys are raw bytes
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  // The method may run twice (idempotency_level in its options, or a GET rule): a call that
  // reached a backend may then be retried after UNAVAILABLE too.
  bool idempotent = false;
  // ring_hash's key of this call (the backend's hash_key); none: the call is spread evenly.
  std::optional<std::string> hash_key;
  // Pass-through (the native gRPC proxy): Write() takes whole length-prefixed frames as the
  // client sent them (5-byte prefix included, compressed flag and all) and reads deliver the
  // backend's frames the same way; nothing is (de)compressed. The reply's content-type,
  // grpc-encoding and grpc-accept-encoding come in the headers metadata. A transport that
  // cannot pass compressed frames fails such a call with UNIMPLEMENTED.
  bool raw_frames = false;
  std::string grpc_encoding;         // raw_frames: the client's grpc-encoding ("" = none)
  std::string grpc_accept_encoding;  // raw_frames: the client's grpc-accept-encoding ("" = none)
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

  // Connections of an endpoint's transport, for /metrics; zeros where a transport does not
  // know (libgrpc++ keeps its own).
  struct ConnectionStats {
    std::uint32_t open = 0;                // connecting or connected now
    std::uint64_t connect_failures = 0;    // dials that never became a connection
  };
  virtual ConnectionStats Connections() const { return {}; }
};

// One endpoint of a backend as the admin API and /metrics show it.
struct EndpointStatus {
  std::string address;    // dialled: "10.0.0.1:50051"
  std::string authority;  // as configured or discovered: "orders.internal:50051"
  std::string source;     // "static", "dns", "srv" or "etcd"
  std::uint32_t weight = 1;
  std::string state;      // the connection's, as Transport::State()
  std::string health;     // "healthy", "unhealthy" or "unknown"
  std::optional<std::chrono::system_clock::time_point> ejected_until;  // outlier ejection
  std::uint32_t ejections = 0;
  std::uint32_t in_flight = 0;
  std::uint64_t retries = 0;           // failed attempts on it that were retried elsewhere
  std::uint32_t connections = 0;       // Transport::Connections() of its transport
  std::uint64_t connect_failures = 0;
};

// Counters of one backend since it was configured, for /metrics.
struct BackendStats {
  std::uint64_t calls = 0;                 // first attempts
  std::uint64_t retries = 0;
  std::uint64_t retries_refused = 0;       // the retry budget said no
  std::uint64_t bulkhead_rejections = 0;   // max_requests reached
  std::uint64_t no_endpoint = 0;           // no usable endpoint: failed without dialling
  std::uint64_t ejections = 0;
  std::uint32_t in_flight = 0;
  std::string discovery_error;             // the last failed lookup ("" when all are fine)
};

// The transport of a whole backend: load balancing over its endpoints, health checks, outlier
// ejection, retries and the bulkhead live behind it (upstream/cluster.h). Thread-safe.
class BackendTransport : public Transport {
 public:
  virtual std::vector<EndpointStatus> Endpoints() const { return {}; }
  virtual BackendStats Stats() const { return {}; }
};

}  // namespace portico::registry
