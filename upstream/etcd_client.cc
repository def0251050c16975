#include "upstream/etcd_client.h"

#include <utility>

namespace portico::upstream::etcd {
namespace {

template <typename Response>
std::shared_ptr<registry::CallHandle> Call(registry::Transport& transport, const char* method,
                                           const google::protobuf::MessageLite& request,
                                           std::chrono::milliseconds timeout,
                                           Done<Response> done) {
  registry::CallSpec spec;
  spec.method = method;
  spec.deadline = std::chrono::system_clock::now() + timeout;
  return transport.CallUnary(
      std::move(spec), request.SerializeAsString(),
      [done = std::move(done), method](registry::UnaryResult result) {
        Response response;
        if (result.status.code == Code::kOk && !response.ParseFromString(result.response)) {
          result.status = {Code::kInternal,
                           std::string("etcd sent an unreadable reply to ") + method, {}};
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

std::shared_ptr<registry::CallHandle> Range(registry::Transport& transport,
                                            const etcdserverpb::RangeRequest& request,
                                            std::chrono::milliseconds timeout,
                                            Done<etcdserverpb::RangeResponse> done) {
  return Call(transport, kRangeMethod, request, timeout, std::move(done));
}

std::shared_ptr<registry::CallHandle> Put(registry::Transport& transport,
                                          const etcdserverpb::PutRequest& request,
                                          std::chrono::milliseconds timeout,
                                          Done<etcdserverpb::PutResponse> done) {
  return Call(transport, kPutMethod, request, timeout, std::move(done));
}

std::shared_ptr<registry::CallHandle> DeleteRange(registry::Transport& transport,
                                                  const etcdserverpb::DeleteRangeRequest& request,
                                                  std::chrono::milliseconds timeout,
                                                  Done<etcdserverpb::DeleteRangeResponse> done) {
  return Call(transport, kDeleteRangeMethod, request, timeout, std::move(done));
}

std::shared_ptr<registry::CallHandle> Txn(registry::Transport& transport,
                                          const etcdserverpb::TxnRequest& request,
                                          std::chrono::milliseconds timeout,
                                          Done<etcdserverpb::TxnResponse> done) {
  return Call(transport, kTxnMethod, request, timeout, std::move(done));
}

std::shared_ptr<registry::CallHandle> Compact(registry::Transport& transport,
                                              const etcdserverpb::CompactionRequest& request,
                                              std::chrono::milliseconds timeout,
                                              Done<etcdserverpb::CompactionResponse> done) {
  return Call(transport, kCompactMethod, request, timeout, std::move(done));
}

}  // namespace portico::upstream::etcd
