// Typed calls to etcd v3's gRPC API (KV: Range, Put, DeleteRange, Txn, Compact; Auth:
// Authenticate) over any registry::Transport, and the key-range arithmetic of etcd prefixes.
// Shared by the etcd store (etcd_store.h), the etcd watch (upstream/etcd_watch.h) and the test
// etcd; the protos are this project's own subset of etcd's API (proto/etcd/). No sockets here:
// the transport is the caller's.
//
// Thread safety: the functions are thread-safe as the transport is; `done` runs on the
// transport's thread (see registry/transport.h), exactly once, also when the call fails.
// Ownership: the transport must outlive the call; the returned handle may be dropped (it does
// not cancel) or used to cancel.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "etcd/etcdserverpb/auth_service.pb.h"
#include "etcd/etcdserverpb/kv_service.pb.h"
#include "registry/transport.h"

namespace portico::registry::etcd {

inline constexpr char kRangeMethod[] = "/etcdserverpb.KV/Range";
inline constexpr char kPutMethod[] = "/etcdserverpb.KV/Put";
inline constexpr char kDeleteRangeMethod[] = "/etcdserverpb.KV/DeleteRange";
inline constexpr char kTxnMethod[] = "/etcdserverpb.KV/Txn";
inline constexpr char kCompactMethod[] = "/etcdserverpb.KV/Compact";
inline constexpr char kWatchMethod[] = "/etcdserverpb.Watch/Watch";
inline constexpr char kAuthenticateMethod[] = "/etcdserverpb.Auth/Authenticate";

// With etcd auth on, every call carries the token Authenticate gave as this metadata.
inline constexpr char kTokenMetadata[] = "token";

// The range_end that makes [prefix, range_end) hold exactly the keys that start with prefix:
// the prefix cut after its last byte below 0xff, that byte incremented ("a/" -> "a0",
// "a\xff" -> "b"). "\0" (every key) when there is no such byte (an empty or all-0xff prefix).
std::string PrefixEnd(std::string_view prefix);

// Metadata carrying `token`; empty for an empty token (no auth).
Metadata TokenMetadata(const std::string& token);

// True when etcd refused a call for its auth token (expired, or etcd restarted and forgot its
// simple tokens): a fresh Authenticate may cure it.
bool IsInvalidTokenError(const CallStatus& status);

// status is the call's (a reply that does not parse gives INTERNAL); response is set only
// when status is OK. `metadata` goes with the call (e.g. TokenMetadata).
template <typename Response>
using Done = std::function<void(CallStatus status, Response response)>;

std::shared_ptr<CallHandle> Range(Transport& transport, const etcdserverpb::RangeRequest& request,
                                  std::chrono::milliseconds timeout,
                                  Done<etcdserverpb::RangeResponse> done, Metadata metadata = {});
std::shared_ptr<CallHandle> Put(Transport& transport, const etcdserverpb::PutRequest& request,
                                std::chrono::milliseconds timeout,
                                Done<etcdserverpb::PutResponse> done, Metadata metadata = {});
std::shared_ptr<CallHandle> DeleteRange(Transport& transport,
                                        const etcdserverpb::DeleteRangeRequest& request,
                                        std::chrono::milliseconds timeout,
                                        Done<etcdserverpb::DeleteRangeResponse> done,
                                        Metadata metadata = {});
std::shared_ptr<CallHandle> Txn(Transport& transport, const etcdserverpb::TxnRequest& request,
                                std::chrono::milliseconds timeout,
                                Done<etcdserverpb::TxnResponse> done, Metadata metadata = {});
std::shared_ptr<CallHandle> Compact(Transport& transport,
                                    const etcdserverpb::CompactionRequest& request,
                                    std::chrono::milliseconds timeout,
                                    Done<etcdserverpb::CompactionResponse> done,
                                    Metadata metadata = {});
std::shared_ptr<CallHandle> Authenticate(Transport& transport,
                                         const etcdserverpb::AuthenticateRequest& request,
                                         std::chrono::milliseconds timeout,
                                         Done<etcdserverpb::AuthenticateResponse> done);

}  // namespace portico::registry::etcd
