// The etcd prefix watch against a real etcd (Debian's etcd-server, started by the test on
// loopback ports): the first Range, puts and deletes through the watch, etcd killed and
// restarted, a compaction under a lagging watch, Stop(); the store's form (mod revisions,
// full reads, etcd auth). Plus the pure pieces (PrefixEnd, EtcdPrefixMap) without etcd.
#include "upstream/etcd_watch.h"

#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>

#include "registry/etcd_kv.h"
#include "registry/etcd_prefix_map.h"
#include "tests/support/etcd_server.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/tls_pki.h"
#include "tests/support/transport_harness.h"

namespace portico::testing {
namespace {

using Map = std::map<std::string, std::string>;
using std::chrono::milliseconds;
using std::chrono::seconds;

// ---- Pure pieces. ----

TEST(EtcdPrefixEndTest, IncrementsTheLastByteBelow0xff) {
  EXPECT_EQ(registry::etcd::PrefixEnd("/services/orders/"), "/services/orders0");
  EXPECT_EQ(registry::etcd::PrefixEnd("a"), "b");
  EXPECT_EQ(registry::etcd::PrefixEnd(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(registry::etcd::PrefixEnd(std::string("\x01\xfe\xff", 3)), std::string("\x01\xff", 2));
  // No byte to increment: every key from the prefix on.
  EXPECT_EQ(registry::etcd::PrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(registry::etcd::PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

etcdserverpb::WatchResponse Events(
    std::vector<std::tuple<mvccpb::Event::EventType, std::string, std::string, int>> events) {
  etcdserverpb::WatchResponse response;
  for (const auto& [type, key, value, revision] : events) {
    auto* event = response.add_events();
    event->set_type(type);
    event->mutable_kv()->set_key(key);
    event->mutable_kv()->set_value(value);
    event->mutable_kv()->set_mod_revision(revision);
  }
  return response;
}

TEST(EtcdPrefixMapTest, LoadsARangeThenAppliesNewerEvents) {
  registry::EtcdPrefixMap map;
  etcdserverpb::RangeResponse range;
  range.mutable_header()->set_revision(10);
  auto* kv = range.add_kvs();
  kv->set_key("/p/a");
  kv->set_value("1");
  map.Load(range);
  EXPECT_EQ(map.kvs(), (Map{{"/p/a", "1"}}));
  EXPECT_EQ(map.revision(), 10);
  EXPECT_EQ(map.entries().at("/p/a").mod_revision, 0);

  // One transaction (revision 11) puts two keys; an event at 9 was already in the Range.
  EXPECT_EQ(map.Apply(Events({{mvccpb::Event::PUT, "/p/old", "x", 9},
                              {mvccpb::Event::PUT, "/p/b", "2", 11},
                              {mvccpb::Event::PUT, "/p/c", "3", 11}})),
            registry::EtcdPrefixMap::Outcome::kChanged);
  EXPECT_EQ(map.kvs(), (Map{{"/p/a", "1"}, {"/p/b", "2"}, {"/p/c", "3"}}));
  EXPECT_EQ(map.entries().at("/p/b").mod_revision, 11);
  EXPECT_EQ(map.entries().at("/p/c").value, "3");
  EXPECT_EQ(map.Apply(Events({{mvccpb::Event::DELETE, "/p/a", "", 12}})),
            registry::EtcdPrefixMap::Outcome::kChanged);
  EXPECT_EQ(map.kvs(), (Map{{"/p/b", "2"}, {"/p/c", "3"}}));
  EXPECT_EQ(map.revision(), 12);

  etcdserverpb::WatchResponse created;
  created.set_created(true);
  EXPECT_EQ(map.Apply(created), registry::EtcdPrefixMap::Outcome::kUnchanged);
  etcdserverpb::WatchResponse compacted;
  compacted.set_canceled(true);
  compacted.set_compact_revision(20);
  EXPECT_EQ(map.Apply(compacted), registry::EtcdPrefixMap::Outcome::kCompacted);
  etcdserverpb::WatchResponse canceled;
  canceled.set_canceled(true);
  EXPECT_EQ(map.Apply(canceled), registry::EtcdPrefixMap::Outcome::kCanceled);
  EXPECT_EQ(map.kvs(), (Map{{"/p/b", "2"}, {"/p/c", "3"}}));
}

// ---- Against a real etcd. ----

// What a watch reported, with blocking waits.
class Recorder {
 public:
  void OnChange(const Map& kvs) {
    std::lock_guard lock(mu_);
    last_ = kvs;
    ++reports_;
    if (!kvs.contains("/svc/a")) ++reports_without_a_;
    cv_.notify_all();
  }
  void OnError(const std::string& error) {
    std::fprintf(stderr, "watch error: %s\n", error.c_str());  // for reading a failed run
    std::lock_guard lock(mu_);
    errors_.push_back(error);
    cv_.notify_all();
  }
  bool WaitForMap(const Map& want, milliseconds timeout = seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return last_ == want; });
  }
  // Waits for an error containing `part` (after the first `skip` errors).
  bool WaitForError(const std::string& part, std::size_t skip = 0,
                    milliseconds timeout = seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = skip; i < errors_.size(); ++i) {
        if (errors_[i].find(part) != std::string::npos) return true;
      }
      return false;
    });
  }
  std::optional<Map> last() {
    std::lock_guard lock(mu_);
    return last_;
  }
  int reports() {
    std::lock_guard lock(mu_);
    return reports_;
  }
  int reports_without_a() {
    std::lock_guard lock(mu_);
    return reports_without_a_;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Map> last_;
  int reports_ = 0;
  int reports_without_a_ = 0;
  std::vector<std::string> errors_;
};

class EtcdWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::Available()) {
      GTEST_SKIP() << "etcd-server is not installed (" << EtcdServer::kBinary
                   << "); scripts/deps.sh installs it";
    }
    ASSERT_TRUE(etcd_.Start()) << etcd_.Log();
  }

  void TearDown() override {
    for (auto& watch : watches_) watch->Stop();
    watches_.clear();
    Drain();
  }

  std::shared_ptr<upstream::EtcdPrefixWatch> Watch(Recorder& recorder,
                                                   std::vector<std::string> endpoints,
                                                   const std::string& prefix = "/svc/") {
    auto watch = upstream::WatchEtcdPrefix(
        loop(), std::move(endpoints), prefix,
        [&recorder](const Map& kvs) { recorder.OnChange(kvs); },
        [&recorder](const std::string& error) { recorder.OnError(error); });
    watches_.push_back(watch);
    return watch;
  }
  std::shared_ptr<upstream::EtcdPrefixWatch> Watch(Recorder& recorder) {
    return Watch(recorder, {etcd_.endpoint()});
  }

  boost::asio::io_context& loop() { return *loops_.loops()[0]; }

  // Runs everything the loop has queued so far.
  void Drain() {
    std::promise<void> done;
    boost::asio::post(loop(), [&] { done.set_value(); });
    ASSERT_EQ(done.get_future().wait_for(seconds(10)), std::future_status::ready);
  }

  void PutAll(const Map& kvs) {
    for (const auto& [key, value] : kvs) ASSERT_TRUE(etcd_.Put(key, value)) << key;
  }

  EtcdServer etcd_;
  IoLoops loops_{1};
  // Members, not test locals: the watches report into them until TearDown stops them.
  Recorder recorder_, control_;
  std::vector<std::shared_ptr<upstream::EtcdPrefixWatch>> watches_;
};

TEST_F(EtcdWatchTest, FirstReportHoldsTheKeysUnderThePrefixOnly) {
  PutAll({{"/svc/a", R"({"Addr":"127.0.0.1:1"})"},
          {"/svc/b", R"({"Addr":"127.0.0.1:2"})"},
          {"/svc", "not under /svc/"},
          {"/svc0", "just past the range"},
          {"/other/x", "elsewhere"}});
  Recorder& recorder = recorder_;
  Watch(recorder);
  EXPECT_TRUE(recorder.WaitForMap(
      {{"/svc/a", R"({"Addr":"127.0.0.1:1"})"}, {"/svc/b", R"({"Addr":"127.0.0.1:2"})"}}));
  EXPECT_TRUE(recorder.errors().empty()) << recorder.errors().front();
}

TEST_F(EtcdWatchTest, EmptyPrefixReportsAnEmptyMapFirst) {
  Recorder& recorder = recorder_;
  Watch(recorder, {etcd_.endpoint()}, "/nothing/here/");
  EXPECT_TRUE(recorder.WaitForMap({}));
  EXPECT_EQ(recorder.reports(), 1);
}

TEST_F(EtcdWatchTest, PutsAndDeletesArriveThroughTheWatch) {
  PutAll({{"/svc/a", "1"}, {"/svc/b", "2"}});
  Recorder& recorder = recorder_;
  Watch(recorder);
  ASSERT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}}));

  ASSERT_TRUE(etcd_.Put("/svc/c", "3"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}, {"/svc/c", "3"}}));
  ASSERT_TRUE(etcd_.Put("/svc/a", "1b"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1b"}, {"/svc/b", "2"}, {"/svc/c", "3"}}));
  ASSERT_TRUE(etcd_.Delete("/svc/b"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1b"}, {"/svc/c", "3"}}));
  ASSERT_TRUE(etcd_.Put("/elsewhere", "ignored"));
  ASSERT_TRUE(etcd_.Put("/svc/d", "4"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1b"}, {"/svc/c", "3"}, {"/svc/d", "4"}}));
  EXPECT_TRUE(recorder.errors().empty()) << recorder.errors().front();
}

TEST_F(EtcdWatchTest, EtcdKilledAndRestartedIsAnErrorThenRecovers) {
  PutAll({{"/svc/a", "1"}});
  Recorder& recorder = recorder_;
  Watch(recorder);
  ASSERT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}}));

  etcd_.Kill();
  EXPECT_TRUE(recorder.WaitForError(etcd_.endpoint()));
  // Retries keep failing while etcd is down; the last map is kept (nothing reported).
  const int reports_while_down = recorder.reports();
  EXPECT_TRUE(recorder.WaitForError(etcd_.endpoint(), recorder.errors().size()));
  EXPECT_EQ(recorder.reports(), reports_while_down);

  ASSERT_TRUE(etcd_.Start()) << etcd_.Log();
  ASSERT_TRUE(etcd_.Put("/svc/b", "2"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}}, seconds(60)));
  ASSERT_TRUE(etcd_.Delete("/svc/b"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}}));
  EXPECT_EQ(recorder.reports_without_a(), 0);  // never an empty map in between
}

TEST_F(EtcdWatchTest, UnreachableEtcdIsAnErrorNamingTheEndpoint) {
  const std::string dead = "127.0.0.1:" + std::to_string(PickFreePort());
  Recorder& recorder = recorder_;
  Watch(recorder, {dead});
  EXPECT_TRUE(recorder.WaitForError(dead));
  EXPECT_EQ(recorder.reports(), 0);

  // Not an address at all: the same, never a crash.
  Recorder& malformed = control_;
  Watch(malformed, {"not an endpoint"});
  EXPECT_TRUE(malformed.WaitForError("not an endpoint"));
  EXPECT_EQ(malformed.reports(), 0);
}

TEST_F(EtcdWatchTest, FailingEndpointIsFollowedByTheNextOne) {
  PutAll({{"/svc/a", "1"}});
  const std::string dead = "127.0.0.1:" + std::to_string(PickFreePort());
  Recorder& recorder = recorder_;
  Watch(recorder, {dead, etcd_.endpoint()});
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}}));
  EXPECT_TRUE(recorder.WaitForError(dead));
  ASSERT_TRUE(etcd_.Put("/svc/b", "2"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}}));
}

// A watcher that falls behind while etcd compacts the revisions it still needs is canceled
// with compact_revision; the watch then reads the whole prefix again. To fall behind, the
// watch's loop is held: etcd's send buffers fill, it parks the watcher, and the compaction
// drops what the watcher would have replayed.
TEST_F(EtcdWatchTest, CompactionUnderALaggingWatchReloadsThePrefix) {
  PutAll({{"/svc/a", "1"}, {"/svc/gone", "x"}});
  Recorder& recorder = recorder_;
  Watch(recorder);
  ASSERT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}, {"/svc/gone", "x"}}));

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> held;
  boost::asio::post(loop(), [&held, released] {
    held.set_value();
    released.wait();
  });
  held.get_future().wait();

  // More than the stream window (1 MiB) plus etcd's buffer of 128 responses.
  Map want = {{"/svc/a", "1"}, {"/svc/late", "2"}};
  const std::string value(8192, 'v');
  for (int i = 0; i < 400; ++i) {
    const std::string key = "/svc/bulk/" + std::to_string(i);
    ASSERT_TRUE(etcd_.Put(key, value)) << key;
    want[key] = value;
  }
  ASSERT_TRUE(etcd_.Delete("/svc/gone"));
  ASSERT_TRUE(etcd_.Put("/svc/late", "2"));
  std::optional<std::int64_t> revision = etcd_.Revision();
  ASSERT_TRUE(revision);
  ASSERT_TRUE(etcd_.Compact(*revision));
  release.set_value();

  EXPECT_TRUE(recorder.WaitForError("compacted revision", 0, seconds(60)));
  EXPECT_TRUE(recorder.WaitForMap(want, seconds(60)));
  // Still watching after the reload.
  ASSERT_TRUE(etcd_.Put("/svc/after", "3"));
  want["/svc/after"] = "3";
  EXPECT_TRUE(recorder.WaitForMap(want));
}

// A compaction of history the watch no longer needs does not disturb it.
TEST_F(EtcdWatchTest, CompactionBehindALiveWatchChangesNothing) {
  PutAll({{"/svc/a", "1"}});
  Recorder& recorder = recorder_;
  Watch(recorder);
  ASSERT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}}));
  ASSERT_TRUE(etcd_.Put("/svc/b", "2"));
  ASSERT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}}));
  std::optional<std::int64_t> revision = etcd_.Revision();
  ASSERT_TRUE(revision);
  ASSERT_TRUE(etcd_.Compact(*revision));
  ASSERT_TRUE(etcd_.Put("/svc/c", "3"));
  EXPECT_TRUE(recorder.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}, {"/svc/c", "3"}}));
  EXPECT_TRUE(recorder.errors().empty()) << recorder.errors().front();
}

TEST_F(EtcdWatchTest, NoCallbackAfterStopWhileConnected) {
  PutAll({{"/svc/a", "1"}});
  Recorder& stopped = recorder_;
  Recorder& control = control_;
  auto watch = Watch(stopped);
  Watch(control);
  ASSERT_TRUE(stopped.WaitForMap({{"/svc/a", "1"}}));
  ASSERT_TRUE(control.WaitForMap({{"/svc/a", "1"}}));

  watch->Stop();
  watch->Stop();  // idempotent
  const int reports = stopped.reports();
  ASSERT_TRUE(etcd_.Put("/svc/b", "2"));
  etcd_.Kill();  // would be an error for a running watch
  ASSERT_TRUE(control.WaitForError(etcd_.endpoint()));
  Drain();
  EXPECT_EQ(stopped.reports(), reports);
  EXPECT_TRUE(stopped.errors().empty()) << stopped.errors().front();
}

TEST_F(EtcdWatchTest, StopFromItsOwnCallback) {
  PutAll({{"/svc/a", "1"}});
  Recorder& control = control_;
  Watch(control);
  int reports = 0;
  std::shared_ptr<upstream::EtcdPrefixWatch> watch;
  std::promise<void> first;
  std::mutex mu;
  {
    std::lock_guard lock(mu);  // `watch` is set before the callback reads it
    watch = upstream::WatchEtcdPrefix(
        loop(), {etcd_.endpoint()}, "/svc/",
        [&](const Map&) {
          std::lock_guard lock(mu);
          if (++reports == 1) first.set_value();
          watch->Stop();
        },
        [](const std::string&) {});
  }
  ASSERT_EQ(first.get_future().wait_for(seconds(30)), std::future_status::ready);
  ASSERT_TRUE(control.WaitForMap({{"/svc/a", "1"}}));
  ASSERT_TRUE(etcd_.Put("/svc/b", "2"));
  ASSERT_TRUE(control.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}}));
  Drain();
  std::lock_guard lock(mu);
  EXPECT_EQ(reports, 1);
  watch.reset();
}

// Dropping the handle stops the watch too.
TEST_F(EtcdWatchTest, DroppingTheHandleStopsTheWatch) {
  PutAll({{"/svc/a", "1"}});
  Recorder& dropped = recorder_;
  Recorder& control = control_;
  auto watch = upstream::WatchEtcdPrefix(
      loop(), {etcd_.endpoint()}, "/svc/", [&](const Map& kvs) { dropped.OnChange(kvs); },
      [&](const std::string& e) { dropped.OnError(e); });
  Watch(control);
  ASSERT_TRUE(dropped.WaitForMap({{"/svc/a", "1"}}));
  watch.reset();
  const int reports = dropped.reports();
  ASSERT_TRUE(etcd_.Put("/svc/b", "2"));
  ASSERT_TRUE(control.WaitForMap({{"/svc/a", "1"}, {"/svc/b", "2"}}));
  Drain();
  EXPECT_EQ(dropped.reports(), reports);
}

// ---- The store's form: mod revisions, full reads, auth. ----

struct Report {
  std::map<std::string, registry::EtcdKv> kvs;
  std::int64_t revision = 0;
  bool full_read = false;
};

class ReportRecorder {
 public:
  void OnChange(const std::map<std::string, registry::EtcdKv>& kvs, std::int64_t revision,
                bool full_read) {
    std::lock_guard lock(mu_);
    reports_.push_back({kvs, revision, full_read});
    cv_.notify_all();
  }
  void OnError(const std::string& error) {
    std::fprintf(stderr, "watch error: %s\n", error.c_str());
    std::lock_guard lock(mu_);
    errors_.push_back(error);
    cv_.notify_all();
  }
  // The first report (from index `from` on) whose values are `want`.
  std::optional<Report> WaitFor(const Map& want, std::size_t from = 0,
                                milliseconds timeout = seconds(30)) {
    std::unique_lock lock(mu_);
    std::optional<Report> found;
    cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = from; i < reports_.size(); ++i) {
        Map values;
        for (const auto& [key, kv] : reports_[i].kvs) values[key] = kv.value;
        if (values == want) {
          found = reports_[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }
  bool WaitForError(const std::string& part, milliseconds timeout = seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& error : errors_) {
        if (error.find(part) != std::string::npos) return true;
      }
      return false;
    });
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return reports_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Report> reports_;
  std::vector<std::string> errors_;
};

class EtcdStoreWatchTest : public EtcdWatchTest {
 protected:
  std::shared_ptr<upstream::EtcdPrefixWatch> WatchWith(ReportRecorder& recorder,
                                                       upstream::EtcdWatchOptions options) {
    auto watch = upstream::WatchEtcdPrefix(
        loop(), std::move(options),
        [&recorder](const std::map<std::string, registry::EtcdKv>& kvs, std::int64_t revision,
                    bool full_read) { recorder.OnChange(kvs, revision, full_read); },
        [&recorder](const std::string& error) { recorder.OnError(error); });
    watches_.push_back(watch);
    return watch;
  }
  upstream::EtcdWatchOptions Options() {
    upstream::EtcdWatchOptions options;
    options.endpoints = {etcd_.endpoint()};
    options.prefix = "/svc/";
    return options;
  }
  ReportRecorder reports_, other_;
};

TEST_F(EtcdStoreWatchTest, ReportsModRevisionsAndWhetherAReportIsAFullRead) {
  const auto a = etcd_.Put("/svc/a", "1");
  const auto b = etcd_.Put("/svc/b", "2");
  ASSERT_TRUE(a && b);
  WatchWith(reports_, Options());
  auto first = reports_.WaitFor({{"/svc/a", "1"}, {"/svc/b", "2"}});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->full_read);
  EXPECT_EQ(first->kvs["/svc/a"].mod_revision, *a);
  EXPECT_EQ(first->kvs["/svc/b"].mod_revision, *b);
  EXPECT_GE(first->revision, *b);

  const auto c = etcd_.Put("/svc/a", "1b");
  ASSERT_TRUE(c);
  auto event = reports_.WaitFor({{"/svc/a", "1b"}, {"/svc/b", "2"}});
  ASSERT_TRUE(event);
  EXPECT_FALSE(event->full_read);
  EXPECT_EQ(event->kvs["/svc/a"].mod_revision, *c);
  EXPECT_EQ(event->kvs["/svc/b"].mod_revision, *b);
  EXPECT_EQ(event->revision, *c);

  // A reconnect reads the prefix again: a full read, with what changed while it was away.
  const std::size_t before = reports_.count();
  etcd_.Kill();
  ASSERT_TRUE(reports_.WaitForError(etcd_.endpoint()));
  ASSERT_TRUE(etcd_.Start()) << etcd_.Log();
  const auto d = etcd_.Delete("/svc/b");
  ASSERT_TRUE(d);
  auto reread = reports_.WaitFor({{"/svc/a", "1b"}}, before, seconds(60));
  ASSERT_TRUE(reread);
  EXPECT_GE(reread->revision, *d);
  EXPECT_EQ(reread->kvs["/svc/a"].mod_revision, *c);
}

TEST_F(EtcdStoreWatchTest, AuthenticatesWhenAUsernameIsSet) {
  ASSERT_TRUE(etcd_.Put("/svc/a", "1"));
  ASSERT_TRUE(etcd_.EnableAuth("rootpw")) << etcd_.Log();
  auto options = Options();
  options.username = "root";
  options.password = "rootpw";
  WatchWith(reports_, options);
  ASSERT_TRUE(reports_.WaitFor({{"/svc/a", "1"}}));
  ASSERT_TRUE(etcd_.Put("/svc/b", "2"));  // the helper authenticates as root too
  EXPECT_TRUE(reports_.WaitFor({{"/svc/a", "1"}, {"/svc/b", "2"}}));

  // A wrong password is an error saying so, and nothing is reported.
  options.password = "wrong";
  WatchWith(other_, options);
  EXPECT_TRUE(other_.WaitForError("authenticating as \"root\" failed"));
  EXPECT_EQ(other_.count(), 0u);
}

TEST(EtcdStoreWatchTlsTest, WatchesOverTls) {
  if (!EtcdServer::Available()) GTEST_SKIP() << "etcd-server is not installed";
  TempDir dir;
  std::optional<EtcdServerOptions> etcd_options = TlsEtcdOptions(dir.path());
  ASSERT_TRUE(etcd_options);
  EtcdServer etcd(*etcd_options);
  ASSERT_TRUE(etcd.Start()) << etcd.Log();
  ASSERT_TRUE(etcd.Put("/svc/a", "1"));

  IoLoops loops(1);
  ReportRecorder recorder;
  upstream::EtcdWatchOptions options;
  options.endpoints = {etcd.endpoint()};
  options.prefix = "/svc/";
  options.tls.enabled = true;
  options.tls.ca_file = etcd_options->ca_file;
  auto watch = upstream::WatchEtcdPrefix(
      *loops.loops()[0], options,
      [&recorder](const std::map<std::string, registry::EtcdKv>& kvs, std::int64_t revision,
                  bool full_read) { recorder.OnChange(kvs, revision, full_read); },
      [&recorder](const std::string& error) { recorder.OnError(error); });
  EXPECT_TRUE(recorder.WaitFor({{"/svc/a", "1"}}));
  ASSERT_TRUE(etcd.Put("/svc/b", "2"));
  EXPECT_TRUE(recorder.WaitFor({{"/svc/a", "1"}, {"/svc/b", "2"}}));
  watch->Stop();
}

}  // namespace
}  // namespace portico::testing
