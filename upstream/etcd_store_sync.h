// Keeps a Registry in step with the etcd store (DESIGN section 13): watches the store's prefix
// (WatchEtcdPrefix, from the revision the registry loaded), decodes each change
// (registry/etcd_layout.h) and applies it with Registry::ApplyStored on its own thread, so a
// catalog rebuild never runs on an io thread; when several changes wait, only the newest state
// is applied. A broken watch marks the replica degraded (it keeps serving its last snapshot);
// when etcd answers again the watch reads the whole prefix and the registry resynchronizes. A
// compacted revision under the watch is a full reload too. Health() feeds /admin/healthz and
// /metrics.
//
// Thread safety: Start/Stop from one thread; Health() from any. Callbacks of the watch run on
// `loop`; ApplyStored runs on the sync's own thread.
// Ownership: borrows the Registry and `loop`, which must outlive it; Stop() (also run by the
// destructor) joins the thread.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "registry/registry.h"
#include "registry/store_health.h"
#include "upstream/etcd_watch.h"

namespace portico::upstream {

class EtcdStoreSync final : public registry::StoreHealth {
 public:
  // store_name: Store::Describe(), for reports.
  EtcdStoreSync(registry::Registry& registry, boost::asio::io_context& loop,
                EtcdWatchOptions watch, std::string store_name);
  ~EtcdStoreSync() override;

  void Start();
  void Stop();

  registry::StoreHealthReport Health() const override;

 private:
  struct Pending {
    std::map<std::string, registry::EtcdKv> kvs;
    std::int64_t revision = 0;
    bool full_read = false;
  };
  void OnChange(const std::map<std::string, registry::EtcdKv>& kvs, std::int64_t revision,
                bool full_read);  // on the loop: hands the newest map to Run
  void OnError(const std::string& error);  // on the loop: degraded, with why
  void Run();  // the sync thread: decode, ApplyStored, health

  registry::Registry& registry_;
  boost::asio::io_context& loop_;
  EtcdWatchOptions watch_options_;
  const std::string store_name_;
  std::shared_ptr<EtcdPrefixWatch> watch_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<Pending> pending_;  // the newest map not yet applied
  // Counts watch errors; a report applied clears "degraded" only when no error came after it.
  std::uint64_t error_epoch_ = 0;
  std::uint64_t pending_epoch_ = 0;  // error_epoch_ when pending_ came in
  registry::StoreHealthReport health_;
};

}  // namespace portico::upstream
