#include "registry/etcd_kv.h"

#include <utility>

namespace portico::registry::etcd {
namespace {

template <typename Response>
std::shared_ptr<CallHandle> Call(Transport& transport, const char* method,
                                 const google::protobuf::MessageLite& request,
                                 std::chrono::milliseconds timeout, Done<Response> done,
                                 Metadata metadata) {
  CallSpec spec;
  spec.method = method;
  spec.metadata = std::move(metadata);
  spec.deadline = std::chrono::system_clock::now() + timeout;
  return transport.CallUnary(
      std::move(spec), request.SerializeAsString(),
      [done = std::move(done), method](UnaryResult result) {
        Response response;
        if (result.status.code == Code::kOk && !response.ParseFromString(result.response)) {
          result.status = {
              Code::kInternal, std::string("etcd sent an unreadable reply to ") + method, {}};
        }
        done(std::move(result.status), std::move(response));
      });
}

}  // namespace

std::string PrefixEnd(std::string_view prefix) {
  for (std::size_t i = prefix.size(); i > 0; --i) {
    const auto byte = static_cast<unsigned char>(prefix[i - 1]);
    if (byte < 0xff) {
      std::string end(prefix.substr(0, i));
      end.back() = static_cast<char>(byte + 1);
      return end;
    }
  }
  return std::string(1, '\0');
}

Metadata TokenMetadata(const std::string& token) {
  if (token.empty()) return {};
  return {{kTokenMetadata, token}};
}

bool IsInvalidTokenError(const CallStatus& status) {
  // etcd's rpctypes: ErrGRPCInvalidAuthToken ("etcdserver: invalid auth token",
  // UNAUTHENTICATED) and ErrGRPCAuthOldRevision ("etcdserver: revision of auth store is old").
  if (status.code != Code::kUnauthenticated && status.code != Code::kInvalidArgument) {
    return false;
  }
  return status.message.find("invalid auth token") != std::string::npos ||
         status.message.find("auth store is old") != std::string::npos;
}

std::shared_ptr<CallHandle> Range(Transport& transport, const etcdserverpb::RangeRequest& request,
                                  std::chrono::milliseconds timeout,
                                  Done<etcdserverpb::RangeResponse> done, Metadata metadata) {
  return Call(transport, kRangeMethod, request, timeout, std::move(done), std::move(metadata));
}

std::shared_ptr<CallHandle> Put(Transport& transport, const etcdserverpb::PutRequest& request,
                                std::chrono::milliseconds timeout,
                                Done<etcdserverpb::PutResponse> done, Metadata metadata) {
  return Call(transport, kPutMethod, request, timeout, std::move(done), std::move(metadata));
}

std::shared_ptr<CallHandle> DeleteRange(Transport& transport,
                                        const etcdserverpb::DeleteRangeRequest& request,
                                        std::chrono::milliseconds timeout,
                                        Done<etcdserverpb::DeleteRangeResponse> done,
                                        Metadata metadata) {
  return Call(transport, kDeleteRangeMethod, request, timeout, std::move(done),
              std::move(metadata));
}

std::shared_ptr<CallHandle> Txn(Transport& transport, const etcdserverpb::TxnRequest& request,
                                std::chrono::milliseconds timeout,
                                Done<etcdserverpb::TxnResponse> done, Metadata metadata) {
  return Call(transport, kTxnMethod, request, timeout, std::move(done), std::move(metadata));
}

std::shared_ptr<CallHandle> Compact(Transport& transport,
                                    const etcdserverpb::CompactionRequest& request,
                                    std::chrono::milliseconds timeout,
                                    Done<etcdserverpb::CompactionResponse> done,
                                    Metadata metadata) {
  return Call(transport, kCompactMethod, request, timeout, std::move(done), std::move(metadata));
}

std::shared_ptr<CallHandle> Authenticate(Transport& transport,
                                         const etcdserverpb::AuthenticateRequest& request,
                                         std::chrono::milliseconds timeout,
                                         Done<etcdserverpb::AuthenticateResponse> done) {
  return Call(transport, kAuthenticateMethod, request, timeout, std::move(done), {});
}

}  // namespace portico::registry::etcd
