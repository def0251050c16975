#include "upstream/etcd_store_sync.h"

#include <utility>

#include "registry/etcd_layout.h"
#include "registry/event_log.h"

namespace portico::upstream {

using registry::LogEvent;
using registry::LogLevel;

EtcdStoreSync::EtcdStoreSync(registry::Registry& registry, boost::asio::io_context& loop,
                             EtcdWatchOptions watch, std::string store_name)
    : registry_(registry),
      loop_(loop),
      watch_options_(std::move(watch)),
      store_name_(std::move(store_name)) {
  health_.store = store_name_;
}

EtcdStoreSync::~EtcdStoreSync() { Stop(); }

void EtcdStoreSync::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
  watch_ = WatchEtcdPrefix(
      loop_, watch_options_,
      [this](const std::map<std::string, registry::EtcdKv>& kvs, std::int64_t revision,
             bool full_read) { OnChange(kvs, revision, full_read); },
      [this](const std::string& error) { OnError(error); });
}

void EtcdStoreSync::Stop() {
  // The watch first: once Stop returns no callback runs, so none touches the state below.
  if (watch_) {
    watch_->Stop();
    watch_.reset();
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

registry::StoreHealthReport EtcdStoreSync::Health() const {
  registry::StoreHealthReport report;
  {
    std::lock_guard lock(mu_);
    report = health_;
  }
  // The registry's own writes move the revision too, not only what the watch delivers.
  report.revision = registry_.Current()->store_revision;
  return report;
}

void EtcdStoreSync::OnChange(const std::map<std::string, registry::EtcdKv>& kvs,
                             std::int64_t revision, bool full_read) {
  {
    std::lock_guard lock(mu_);
    // Newest wins: each report carries the whole map, so an older one waiting is moot. A full
    // read stays one (it ends an outage) even when a later event report replaces its map.
    const bool was_full_read = pending_.has_value() && pending_->full_read;
    pending_ = Pending{kvs, revision, full_read || was_full_read};
    pending_epoch_ = error_epoch_;
  }
  wake_.notify_one();
}

void EtcdStoreSync::OnError(const std::string& error) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = !health_.degraded;
    health_.degraded = true;
    health_.reason = error;
    ++health_.errors;
    ++error_epoch_;
  }
  // Once per outage at warn; the watch retries with backoff, each retry's error at debug.
  LogEvent(first ? LogLevel::kWarn : LogLevel::kDebug, "store_degraded")
      .Add("store", store_name_)
      .Add("reason", error)
      .Add("message", "the store's watch failed; this replica keeps serving its last snapshot");
}

void EtcdStoreSync::Run() {
  bool first_read = true;  // the watch's first full read is the start, not a resync
  for (;;) {
    Pending pending;
    std::uint64_t epoch = 0;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || pending_.has_value(); });
      if (stopping_) return;
      pending = std::move(*pending_);
      pending_.reset();
      epoch = pending_epoch_;
    }
    const bool resync = pending.full_read && !first_read;
    if (pending.full_read) first_read = false;
    const std::int64_t before = registry_.Current()->store_revision;
    Status status;
    StatusOr<registry::StoredState> state =
        registry::DecodeEtcdState(watch_options_.prefix, pending.kvs, pending.revision);
    if (!state.ok()) {
      status = state.status();
    } else {
      status = registry_.ApplyStored(std::move(*state));
    }
    if (!status.ok()) {
      // The snapshot in force stays; the replica says why until a state applies.
      bool first = false;
      {
        std::lock_guard lock(mu_);
        first = !health_.degraded;
        health_.degraded = true;
        health_.reason = "the store's content at revision " + std::to_string(pending.revision) +
                         " was refused: " + status.message();
        ++health_.errors;
      }
      LogEvent(LogLevel::kError, "store_change_refused")
          .Add("store", store_name_)
          .Add("revision", pending.revision)
          .Add("reason", status.message())
          .Add("message", first ? "the store's content does not validate; this replica keeps "
                                  "serving its last snapshot"
                                : "the store's content still does not validate");
      continue;
    }
    const std::int64_t after = registry_.Current()->store_revision;
    bool recovered = false;
    {
      std::lock_guard lock(mu_);
      if (after != before) ++health_.updates;
      if (resync) ++health_.resyncs;
      // A watch error after this report came in keeps the replica degraded: the error is newer.
      if (epoch == error_epoch_ && health_.degraded) {
        health_.degraded = false;
        health_.reason.clear();
        recovered = true;
      }
    }
    if (resync || recovered) {
      LogEvent(LogLevel::kInfo, "store_resynced")
          .Add("store", store_name_)
          .Add("revision", after)
          .Add("changed", after != before)
          .Add("message", "this replica is in step with the store again");
    } else if (after != before) {
      LogEvent(LogLevel::kDebug, "store_updated")
          .Add("store", store_name_)
          .Add("revision", after);
    }
  }
}

}  // namespace portico::upstream
