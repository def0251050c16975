#include "tests/support/etcd_cluster.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace portico::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string Join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// Runs etcdctl with `args` to its end; its stdout when it exits 0.
std::optional<std::string> RunEtcdctl(const std::vector<std::string>& args, milliseconds timeout) {
  ChildProcess child;
  child.Start(EtcdCluster::kEtcdctl, args, "", timeout + std::chrono::seconds(5));
  std::optional<int> code = child.Wait(timeout);
  if (!code) {
    child.Kill();
    return std::nullopt;
  }
  if (*code != 0) return std::nullopt;
  return child.Stdout();
}

}  // namespace

bool EtcdCluster::Available() {
  return ::access(kEtcd, X_OK) == 0 && ::access(kEtcdctl, X_OK) == 0;
}

EtcdCluster::EtcdCluster(int members) {
  for (int i = 0; i < members; ++i) {
    char path[] = "/tmp/portico-etcd-cluster-XXXXXX";
    if (::mkdtemp(path) == nullptr) throw std::runtime_error("mkdtemp failed");
    Member member;
    member.name = "m" + std::to_string(i);
    member.data_dir = path;
    member.process = std::make_unique<ChildProcess>();
    members_.push_back(std::move(member));
  }
}

EtcdCluster::~EtcdCluster() {
  KillAll();
  std::error_code ignored;
  for (auto& member : members_) std::filesystem::remove_all(member.data_dir, ignored);
}

void EtcdCluster::PickPorts() {
  std::vector<std::uint16_t> taken;
  auto fresh = [&] {
    while (true) {
      const std::uint16_t port = PickFreePort();
      if (std::find(taken.begin(), taken.end(), port) == taken.end()) {
        taken.push_back(port);
        return port;
      }
    }
  };
  for (auto& member : members_) {
    member.client_port = fresh();
    member.peer_port = fresh();
  }
}

std::string EtcdCluster::InitialCluster() const {
  std::vector<std::string> parts;
  for (const auto& member : members_) {
    parts.push_back(member.name + "=http://127.0.0.1:" + std::to_string(member.peer_port));
  }
  return Join(parts, ",");
}

void EtcdCluster::Launch(int i) {
  Member& member = members_[static_cast<std::size_t>(i)];
  const std::string client_url = "http://" + endpoint(i);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(member.peer_port);
  // The same command line as EtcdServer's single member (tests/support/etcd_server.cc), with
  // the three peers. --initial-cluster-state is ignored when the data dir already holds a
  // member (a restart), so one command line serves both.
  member.process->Start(kEtcd,
                        {"--name", member.name, "--data-dir", member.data_dir,
                         "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                         "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                         "--initial-cluster", InitialCluster(), "--initial-cluster-token",
                         "portico-test-" + std::to_string(::getpid()),
                         "--initial-cluster-state", "new", "--logger", "zap", "--log-level",
                         "warn"},
                        "", std::chrono::minutes(30));
}

bool EtcdCluster::WaitReady(int i, Clock::time_point deadline) const {
  while (Clock::now() < deadline) {
    if (!members_[static_cast<std::size_t>(i)].process->Running()) return false;
    // A linearizable read through this member: it needs the member joined and a leader.
    if (RunEtcdctl({"--endpoints=" + endpoint(i), "--dial-timeout=1s", "--command-timeout=1s",
                    "get", "portico-test-ready-probe"},
                   std::chrono::seconds(3))) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return false;
}

bool EtcdCluster::Start(milliseconds timeout) {
  if (started_once_) return StartAll(timeout);
  // A port picked free a moment ago may be taken by the time etcd binds it: try fresh ones
  // (with empty data dirs, since the cluster's membership is written there at first start).
  for (int attempt = 0; attempt < 3; ++attempt) {
    PickPorts();
    for (int i = 0; i < size(); ++i) Launch(i);
    const auto deadline = Clock::now() + timeout;
    bool ready = true;
    for (int i = 0; i < size() && ready; ++i) ready = WaitReady(i, deadline);
    if (ready) {
      started_once_ = true;
      return true;
    }
    KillAll();
    std::error_code ignored;
    for (auto& member : members_) {
      std::filesystem::remove_all(member.data_dir, ignored);
      std::filesystem::create_directory(member.data_dir, ignored);
    }
  }
  return false;
}

void EtcdCluster::Kill(int i) { members_[static_cast<std::size_t>(i)].process->Kill(); }

void EtcdCluster::KillAll() {
  for (auto& member : members_) member.process->Kill();
}

bool EtcdCluster::Restart(int i, milliseconds timeout) {
  Kill(i);
  Launch(i);
  return WaitReady(i, Clock::now() + timeout);
}

bool EtcdCluster::StartAll(milliseconds timeout) {
  // Launch every stopped member first: none answers before a quorum is back.
  for (int i = 0; i < size(); ++i) {
    if (!Running(i)) Launch(i);
  }
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < size(); ++i) {
    if (!WaitReady(i, deadline)) return false;
  }
  return true;
}

bool EtcdCluster::Running(int i) { return members_[static_cast<std::size_t>(i)].process->Running(); }

std::string EtcdCluster::endpoint(int i) const {
  return "127.0.0.1:" + std::to_string(members_[static_cast<std::size_t>(i)].client_port);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::string EtcdCluster::Log(int i) const {
  return members_[static_cast<std::size_t>(i)].process->Stderr();
}

std::optional<std::string> EtcdCluster::Ctl(const std::vector<std::string>& args,
                                             milliseconds timeout) const {
  std::vector<std::string> argv = {"--endpoints=" + Join(endpoints(), ","), "--dial-timeout=2s",
                                   "--command-timeout=" +
                                       std::to_string(std::max<long>(1, timeout.count() / 1000)) +
                                       "s"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunEtcdctl(argv, timeout + std::chrono::seconds(3));
}

std::optional<std::int64_t> EtcdCluster::Revision() const {
  auto out = Ctl({"get", "portico-test-revision-probe", "-w", "json"});
  if (!out) return std::nullopt;
  auto doc = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("header")) return std::nullopt;
  return doc["header"].value("revision", std::int64_t{0});
}

std::optional<std::int64_t> EtcdCluster::CountKeys(const std::string& prefix) const {
  // etcd 3.4's etcdctl has no --count-only; "count" is the whole range's, whatever the limit.
  auto out = Ctl({"get", prefix, "--prefix", "--keys-only", "--limit=1", "-w", "json"});
  if (!out) return std::nullopt;
  auto doc = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  return doc.value("count", std::int64_t{0});
}

std::optional<std::vector<std::string>> EtcdCluster::Keys(const std::string& prefix) const {
  auto out = Ctl({"get", prefix, "--prefix", "--keys-only"});
  if (!out) return std::nullopt;
  std::vector<std::string> keys;
  std::size_t start = 0;
  while (start < out->size()) {
    std::size_t end = out->find('\n', start);
    if (end == std::string::npos) end = out->size();
    if (end > start) keys.push_back(out->substr(start, end - start));  // blank lines separate
    start = end + 1;
  }
  return keys;
}

bool EtcdCluster::Compact(std::int64_t revision) const {
  return Ctl({"compact", std::to_string(revision), "--physical"}).has_value();
}

}  // namespace portico::testing
