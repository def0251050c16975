// The pure half of the server reflection client (reflection_client.h): which question to ask
// next and what each answer means, for one conversation on one ServerReflectionInfo stream.
// First list_services, then file_containing_symbol per service (grpc.reflection.* and
// grpc.health.* skipped: they are the server's plumbing, not its API), then file_by_filename
// for every dependency not received yet. One question at a time. No I/O.
//
// Every answer comes from the network, so nothing here trusts it: a malformed or unexpected
// reply, an error reply, or a conversation past the limits ends it with a sticky Status.
// Thread safety: thread-compatible (one owner). Value type.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.pb.h>

#include "transcoder/status.h"
#include "upstream/reflection_client.h"

namespace portico::upstream {

struct ReflectionLimits {
  std::size_t max_services = 1000;
  std::size_t max_files = 1000;
  std::size_t max_bytes = 64 * 1024 * 1024;  // serialized descriptors, summed
};

class ReflectionConversation {
 public:
  explicit ReflectionConversation(ReflectionLimits limits = {}) : limits_(limits) {}

  // The next question (a serialized grpc.reflection.v1.ServerReflectionRequest), or nullopt
  // while an answer is awaited, after an error, or when nothing is left to ask (complete()).
  std::optional<std::string> NextRequest();

  // Folds one serialized ServerReflectionResponse, the answer to the last NextRequest().
  // Errors (sticky; later calls return them again):
  //   kInternal: bytes that are no ServerReflectionResponse, an answer nobody asked for or of
  //     the wrong kind, an error reply (its code and message quoted), a file that does not
  //     parse or has no name, a symbol answer that does not define the service asked for;
  //   kResourceExhausted: more services, files or descriptor bytes than the limits allow.
  Status Fold(std::string_view response);

  // Every question asked has been answered, and nothing is left to ask.
  bool complete() const { return complete_; }
  // Whether any answer was folded (a server that answered speaks this protocol version).
  bool answered() const { return answered_; }
  const Status& error() const { return error_; }

  // The services (sorted) and every file received, dependencies before dependants.
  // The sticky error; FailedPrecondition before complete(); kInternal naming the files when
  // one imports a file the server never sent, or for an import cycle.
  StatusOr<ReflectedApi> Result() const;

 private:
  enum class Asked { kNothing, kList, kSymbol, kFile };

  Status Fail(Status status);
  Status FoldFiles(const google::protobuf::RepeatedPtrField<std::string>& files);

  ReflectionLimits limits_;
  Asked asked_ = Asked::kNothing;
  std::string asked_name_;  // the symbol or file of the question in flight
  bool listed_ = false;
  bool complete_ = false;
  bool answered_ = false;
  std::vector<std::string> services_;
  std::deque<std::string> symbols_;    // services still to look up
  std::deque<std::string> filenames_;  // dependencies still to fetch
  std::set<std::string> requested_files_;
  std::set<std::string> defined_services_;  // by the files received so far
  std::map<std::string, google::protobuf::FileDescriptorProto> files_;
  std::size_t bytes_ = 0;
  Status error_;
};

}  // namespace portico::upstream
