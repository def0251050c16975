// Typed calls to etcd v3's KV service (Range, Put, DeleteRange, Txn, Compact) over any
// registry::Transport, and the key-range arithmetic of etcd prefixes. The pieces that the etcd
// discovery watch (etcd_watch.h) and an etcd-backed store share; the protos are this project's
// own subset of etcd's API (proto/etcd/).
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

#include "etcd/etcdserverpb/kv_service.pb.h"
#include "registry/transport.h"

namespace portico::upstream::etcd {

inline constexpr char kRangeMethod[] = "/etcdserverpb.KV/Range";
inline constexpr char kPutMethod[] = "/etcdserverpb.KV/Put";
inline constexpr char kDeleteRangeMethod[] = "/etcdserverpb.KV/DeleteRange";
inline constexpr char kTxnMethod[] = "/etcdserverpb.KV/Txn";
inline constexpr char kCompactMethod[] = "/etcdserverpb.KV/Compact";
inline constexpr char kWatchMethod[] = "/etcdserverpb.Watch/Watch";

// The range_end that makes [prefix, range_end) hold exactly the keys that start with prefix:
// the prefix cut after its last byte below 0xff, that byte incremented ("a/" -> "a0",
// "a\xff" -> "b"). "\0" (every key) when there is no such byte (an empty or all-0xff prefix).
std::string PrefixEnd(std::string_view prefix);

// status is the call's (a reply that does not parse gives INTERNAL); response is set only
// when status is OK.
template <typename Response>
using Done = std::function<void(registry::CallStatus status, Response response)>;

std::shared_ptr<registry::CallHandle> Range(registry::Transport& transport,
                                            const etcdserverpb::RangeRequest& request,
                                            std::chrono::milliseconds timeout,
                                            Done<etcdserverpb::RangeResponse> done);
std::shared_ptr<registry::CallHandle> Put(registry::Transport& transport,
                                          const etcdserverpb::PutRequest& request,
                                          std::chrono::milliseconds timeout,
                                          Done<etcdserverpb::PutResponse> done);
std::shared_ptr<registry::CallHandle> DeleteRange(registry::Transport& transport,
                                                  const etcdserverpb::DeleteRangeRequest& request,
                                                  std::chrono::milliseconds timeout,
                                                  Done<etcdserverpb::DeleteRangeResponse> done);
std::shared_ptr<registry::CallHandle> Txn(registry::Transport& transport,
                                          const etcdserverpb::TxnRequest& request,
                                          std::chrono::milliseconds timeout,
                                          Done<etcdserverpb::TxnResponse> done);
std::shared_ptr<registry::CallHandle> Compact(registry::Transport& transport,
                                              const etcdserverpb::CompactionRequest& request,
                                              std::chrono::milliseconds timeout,
                                              Done<etcdserverpb::CompactionResponse> done);

}  // namespace portico::upstream::etcd
