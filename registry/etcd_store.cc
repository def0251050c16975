#include "registry/etcd_store.h"

#include <unistd.h>

#include <algorithm>
#include <future>
#include <set>
#include <tuple>
#include <utility>

#include "registry/etcd_kv.h"
#include "registry/etcd_layout.h"

namespace portico::registry {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// etcd refuses requests over 1.5 MiB (--max-request-bytes); one entry over this cannot be
// written at all, whatever else the write holds. Checked here so the message names the entry.
constexpr std::size_t kMaxEntryBytes = 1024 * 1024;
// A reply may come a little after the call's own deadline (the transport ends it then).
constexpr milliseconds kGrace{1000};

std::string StatusText(const CallStatus& status) {
  std::string text = status.message.empty() ? "no message" : status.message;
  // etcd's messages start with "etcdserver: "; the store's name already says etcd.
  if (text.starts_with("etcdserver: ")) text.erase(0, 12);
  return text + " (gRPC status " + std::to_string(static_cast<int>(status.code)) + ")";
}

bool Unreachable(const CallStatus& status) {
  return status.code == Code::kUnavailable || status.code == Code::kDeadlineExceeded;
}

// Who wrote last, in the guard key's value (for an operator reading etcd).
std::string WriterName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string("portico ") + host + " pid " + std::to_string(::getpid());
}

// Runs one typed call and waits for its answer.
template <typename Response, typename Start>
std::pair<CallStatus, Response> Blocking(Start start, milliseconds timeout) {
  auto promise = std::make_shared<std::promise<std::pair<CallStatus, Response>>>();
  auto future = promise->get_future();
  std::shared_ptr<CallHandle> handle =
      start(timeout, [promise](CallStatus status, Response response) {
        promise->set_value({std::move(status), std::move(response)});
      });
  if (future.wait_for(timeout + kGrace) != std::future_status::ready) {
    if (handle) handle->Cancel();  // `done` still runs, into the promise nobody reads
    return {CallStatus{Code::kDeadlineExceeded, "no answer in time", {}}, Response()};
  }
  return future.get();
}

}  // namespace

// Endpoints, their transports (made lazily), the auth token, failover.
class EtcdStore::Connection {
 public:
  Connection(const EtcdStoreOptions& options, EtcdTransportFactory factory)
      : options_(options), factory_(std::move(factory)), transports_(options.endpoints.size()) {}

  // Runs `call` (which starts the typed call on a transport with the given metadata and
  // timeout) on the current endpoint, then the next ones while they are unreachable, within
  // options.timeout; authenticates first when a username is set. The status is the store's
  // (naming it), the response set when it is OK.
  template <typename Response, typename Call>
  std::pair<Status, Response> Run(const std::string& store, Call call) {
    const Clock::time_point deadline = Clock::now() + options_.timeout;
    const std::size_t count = transports_.size();
    std::string errors;
    for (std::size_t tried = 0; tried < count; ++tried) {
      const std::size_t index = (current_ + tried) % count;
      const milliseconds budget = Budget(deadline, count - tried);
      if (budget <= milliseconds(0)) break;
      const Clock::time_point attempt_deadline = Clock::now() + budget;
      Transport& transport = TransportAt(index);
      CallStatus status;
      Response response;
      for (bool renewed = false;;) {
        if (!options_.username.empty() && token_.empty()) {
          status = Authenticate(transport, Left(attempt_deadline));
          if (status.code != Code::kOk) break;
        }
        std::tie(status, response) = Blocking<Response>(
            [&](milliseconds timeout, etcd::Done<Response> done) {
              return call(transport, timeout, std::move(done), etcd::TokenMetadata(token_));
            },
            Left(attempt_deadline));
        // A token etcd forgot (a restart) or let expire: a fresh one, once per call.
        if (!options_.username.empty() && !renewed && etcd::IsInvalidTokenError(status)) {
          token_.clear();
          renewed = true;
          continue;
        }
        break;
      }
      if (status.code == Code::kOk) {
        current_ = index;
        return {OkStatus(), std::move(response)};
      }
      if (!Unreachable(status)) {
        current_ = index;
        return {Refused(store, status), Response()};
      }
      if (!errors.empty()) errors += "; ";
      errors += options_.endpoints[index] + ": " + StatusText(status);
    }
    // Start with the next endpoint next time: this one failed last.
    current_ = (current_ + 1) % count;
    if (errors.empty())
      errors = "no answer within " + std::to_string(options_.timeout.count()) + " ms";
    return {Unavailable(store + " is unreachable: " + errors), Response()};
  }

 private:
  static milliseconds Left(Clock::time_point deadline) {
    return std::max(milliseconds(1),
                    std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  }
  // The time one endpoint gets: an even share of what is left among those not tried yet, so a
  // silent first endpoint leaves time for the others.
  static milliseconds Budget(Clock::time_point deadline, std::size_t endpoints_left) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return left / static_cast<long>(endpoints_left);
  }

  Transport& TransportAt(std::size_t index) {
    if (transports_[index] == nullptr) transports_[index] = factory_(options_.endpoints[index]);
    return *transports_[index];
  }

  CallStatus Authenticate(Transport& transport, milliseconds timeout) {
    etcdserverpb::AuthenticateRequest request;
    request.set_name(options_.username);
    request.set_password(options_.password);
    auto [status, response] = Blocking<etcdserverpb::AuthenticateResponse>(
        [&](milliseconds t, etcd::Done<etcdserverpb::AuthenticateResponse> done) {
          return etcd::Authenticate(transport, request, t, std::move(done));
        },
        timeout);
    if (status.code == Code::kOk) {
      token_ = response.token();
      if (token_.empty()) {
        return {Code::kFailedPrecondition, "etcd gave no token: authentication is not enabled", {}};
      }
    } else if (status.code != Code::kUnavailable && status.code != Code::kDeadlineExceeded) {
      status.message = "authenticating as \"" + options_.username + "\": " + status.message;
    }
    return status;
  }

  // What etcd answered when it was reached but refused the call, as the store's status.
  Status Refused(const std::string& store, const CallStatus& status) const {
    const std::string text = StatusText(status);
    const auto has = [&](std::string_view part) {
      return status.message.find(part) != std::string::npos;
    };
    if (has("authentication failed") || has("invalid user ID or password")) {
      return PermissionDenied(store + " refused the credentials of user \"" + options_.username +
                              "\" (store.username / store.password): " + text);
    }
    if (has("user name is empty") || has("user name not found") ||
        status.code == Code::kUnauthenticated) {
      return Status(
          Code::kUnauthenticated,
          store + " requires etcd credentials (store.username / store.password): " + text);
    }
    if (status.code == Code::kPermissionDenied) {
      return PermissionDenied(store + " denied user \"" + options_.username +
                              "\" access to the prefix: " + text);
    }
    if (has("request is too large") || status.code == Code::kResourceExhausted) {
      return InvalidArgument(store + " refused the write as too large: " + text);
    }
    if (has("too many operations in txn")) {
      return InvalidArgument(store +
                             " refused the write: it holds more entries than etcd's "
                             "--max-txn-ops allows: " +
                             text);
    }
    return Status(status.code == Code::kOk ? Code::kInternal : status.code, store + ": " + text);
  }

  const EtcdStoreOptions& options_;
  EtcdTransportFactory factory_;
  std::vector<std::unique_ptr<Transport>> transports_;
  std::size_t current_ = 0;
  std::string token_;
};

EtcdStore::EtcdStore(EtcdStoreOptions options, EtcdTransportFactory factory)
    : options_(std::move(options)) {
  if (options_.endpoints.empty()) options_.endpoints.push_back("127.0.0.1:2379");
  connection_ = std::make_unique<Connection>(options_, std::move(factory));
}

EtcdStore::~EtcdStore() = default;

std::string EtcdStore::Describe() const {
  std::string endpoints;
  for (const std::string& endpoint : options_.endpoints) {
    if (!endpoints.empty()) endpoints += ',';
    endpoints += endpoint;
  }
  return "etcd store " + endpoints + " prefix \"" + options_.prefix + "\"";
}

namespace {

etcdserverpb::RangeRequest PrefixRange(const std::string& prefix, bool keys_only) {
  etcdserverpb::RangeRequest range;
  range.set_key(prefix);
  range.set_range_end(etcd::PrefixEnd(prefix));
  range.set_keys_only(keys_only);
  return range;
}

std::map<std::string, EtcdKv> KvsOf(const etcdserverpb::RangeResponse& range) {
  std::map<std::string, EtcdKv> kvs;
  for (const auto& kv : range.kvs()) kvs[kv.key()] = {kv.value(), kv.mod_revision()};
  return kvs;
}

// One put of the Txn, refused before etcd sees it when the value is over etcd's limit.
Status AddPut(etcdserverpb::TxnRequest& txn, const StoredState& state, const EntryRef& entry,
              const std::string& prefix) {
  StatusOr<std::string> value = EncodeEtcdEntry(state, entry);
  if (!value.ok()) return value.status();
  if (value->size() > kMaxEntryBytes) {
    return InvalidArgument(std::string(EntryKindNoun(entry.kind)) + " \"" + entry.name +
                           "\" is too large for the etcd store: " + std::to_string(value->size()) +
                           " bytes stored, at most " + std::to_string(kMaxEntryBytes) +
                           " (etcd's request limit)");
  }
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(EtcdEntryKey(prefix, entry));
  put->set_value(std::move(value).value());
  return OkStatus();
}

void AddDelete(etcdserverpb::TxnRequest& txn, std::string key) {
  txn.add_success()->mutable_request_delete_range()->set_key(std::move(key));
}

void AddGuard(etcdserverpb::TxnRequest& txn, const std::string& prefix,
              std::int64_t base_revision) {
  // Nothing Portico wrote after base_revision: the guard's last write is not newer.
  auto* compare = txn.add_compare();
  compare->set_result(etcdserverpb::Compare::LESS);
  compare->set_target(etcdserverpb::Compare::MOD);
  compare->set_key(EtcdGuardKey(prefix));
  compare->set_mod_revision(base_revision + 1);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(EtcdGuardKey(prefix));
  static const std::string writer = WriterName();
  put->set_value(writer);
  *txn.add_failure()->mutable_request_range() = PrefixRange(prefix, /*keys_only=*/false);
}

}  // namespace

StatusOr<StoredState> EtcdStore::Load() {
  const etcdserverpb::RangeRequest request = PrefixRange(options_.prefix, /*keys_only=*/false);
  auto [status, response] = connection_->Run<etcdserverpb::RangeResponse>(
      Describe(), [&](Transport& transport, milliseconds timeout,
                      etcd::Done<etcdserverpb::RangeResponse> done, Metadata metadata) {
        return etcd::Range(transport, request, timeout, std::move(done), std::move(metadata));
      });
  if (!status.ok()) return status;
  StatusOr<StoredState> state =
      DecodeEtcdState(options_.prefix, KvsOf(response), response.header().revision());
  if (!state.ok())
    return Status(state.status().code(), Describe() + ": " + state.status().message());
  return state;
}

StatusOr<std::int64_t> EtcdStore::LastWriteRevision() {
  etcdserverpb::RangeRequest request;
  request.set_key(EtcdGuardKey(options_.prefix));
  request.set_keys_only(true);
  auto [status, response] = connection_->Run<etcdserverpb::RangeResponse>(
      Describe(), [&](Transport& transport, milliseconds timeout,
                      etcd::Done<etcdserverpb::RangeResponse> done, Metadata metadata) {
        return etcd::Range(transport, request, timeout, std::move(done), std::move(metadata));
      });
  if (!status.ok()) return status;
  return response.kvs_size() == 0 ? std::int64_t{0} : response.kvs(0).mod_revision();
}

StatusOr<std::int64_t> EtcdStore::Apply(const StoreChange& change, StoredState* fresh) {
  if (change.next == nullptr) return InvalidArgument("a store change without its next state");
  etcdserverpb::TxnRequest txn;
  // etcd refuses a Txn that names one key twice.
  std::set<EntryRef> seen;
  for (const EntryRef& entry : change.written) {
    if (!seen.insert(entry).second) continue;
    if (Status status = AddPut(txn, *change.next, entry, options_.prefix); !status.ok()) {
      return status;
    }
  }
  for (const EntryRef& entry : change.removed) {
    if (!seen.insert(entry).second) {
      return InvalidArgument("the change both writes and removes " +
                             std::string(EntryKindNoun(entry.kind)) + " \"" + entry.name + "\"");
    }
    AddDelete(txn, EtcdEntryKey(options_.prefix, entry));
  }
  AddGuard(txn, options_.prefix, change.base_revision);

  auto [status, response] = connection_->Run<etcdserverpb::TxnResponse>(
      Describe(), [&](Transport& transport, milliseconds timeout,
                      etcd::Done<etcdserverpb::TxnResponse> done, Metadata metadata) {
        return etcd::Txn(transport, txn, timeout, std::move(done), std::move(metadata));
      });
  if (!status.ok()) return status;
  if (response.succeeded()) return response.header().revision();

  // Another write landed after base_revision: the failure branch read the prefix as it is now.
  if (response.responses_size() != 1 || !response.responses(0).has_response_range()) {
    return Internal(Describe() + ": etcd's answer to a failed write holds no Range");
  }
  const etcdserverpb::RangeResponse& range = response.responses(0).response_range();
  if (fresh != nullptr) {
    StatusOr<StoredState> state =
        DecodeEtcdState(options_.prefix, KvsOf(range), response.header().revision());
    if (!state.ok()) {
      return Status(state.status().code(), Describe() + ": " + state.status().message());
    }
    *fresh = std::move(state).value();
  }
  return Status(Code::kAborted, Describe() + " changed after revision " +
                                    std::to_string(change.base_revision) +
                                    " (another replica wrote first); nothing was written");
}

StatusOr<std::int64_t> EtcdStore::ReplaceAll(const StoredState& state) {
  // etcd refuses a Txn whose put falls inside its delete range, so the keys to drop are read
  // first and deleted one by one; the guard makes the pair atomic (retried if a write slips
  // in between).
  for (int attempt = 0;; ++attempt) {
    const etcdserverpb::RangeRequest request = PrefixRange(options_.prefix, /*keys_only=*/true);
    auto [status, range] = connection_->Run<etcdserverpb::RangeResponse>(
        Describe(), [&](Transport& transport, milliseconds timeout,
                        etcd::Done<etcdserverpb::RangeResponse> done, Metadata metadata) {
          return etcd::Range(transport, request, timeout, std::move(done), std::move(metadata));
        });
    if (!status.ok()) return status;

    etcdserverpb::TxnRequest txn;
    std::set<std::string> keep{EtcdGuardKey(options_.prefix)};
    std::set<EntryRef> entries;
    for (const auto& file : state.descriptors.file()) {
      entries.insert({EntryKind::kDescriptor, file.name()});
    }
    for (const auto& backend : state.backends) entries.insert({EntryKind::kBackend, backend.name});
    for (const auto& policy : state.policies) entries.insert({EntryKind::kPolicy, policy.name});
    for (const auto& aggregate : state.aggregates) {
      entries.insert({EntryKind::kAggregate, aggregate.name});
    }
    for (const EntryRef& entry : entries) {
      if (Status s = AddPut(txn, state, entry, options_.prefix); !s.ok()) return s;
      keep.insert(EtcdEntryKey(options_.prefix, entry));
    }
    for (const auto& kv : range.kvs()) {
      if (!keep.contains(kv.key())) AddDelete(txn, kv.key());
    }
    AddGuard(txn, options_.prefix, range.header().revision());

    auto [txn_status, response] = connection_->Run<etcdserverpb::TxnResponse>(
        Describe(), [&](Transport& transport, milliseconds timeout,
                        etcd::Done<etcdserverpb::TxnResponse> done, Metadata metadata) {
          return etcd::Txn(transport, txn, timeout, std::move(done), std::move(metadata));
        });
    if (!txn_status.ok()) return txn_status;
    if (response.succeeded()) return response.header().revision();
    if (attempt == 2) {
      return Status(Code::kAborted,
                    Describe() + " kept changing while it was being replaced; try again");
    }
  }
}

}  // namespace portico::registry
