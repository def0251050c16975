#include "tests/support/etcd_server.h"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <utility>

#include "registry/etcd_kv.h"
#include "tests/support/tls_pki.h"
#include "upstream/h2_transport.h"

namespace portico::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Runs one etcd call (`start` takes the Done callback) and waits for it, again and again while
// it fails with UNAVAILABLE and `timeout` has not passed.
template <typename Response, typename Start>
std::optional<Response> CallUntil(Start start, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto promise = std::make_shared<std::promise<std::pair<registry::CallStatus, Response>>>();
    auto future = promise->get_future();
    start([promise](registry::CallStatus status, Response response) {
      promise->set_value({std::move(status), std::move(response)});
    });
    if (future.wait_for(timeout + std::chrono::seconds(5)) != std::future_status::ready) {
      return std::nullopt;
    }
    auto [status, response] = future.get();
    if (status.code == Code::kOk) return response;
    if (status.code != Code::kUnavailable || Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

constexpr milliseconds kCallTimeout{5000};

}  // namespace

bool EtcdServer::Available() { return ::access(kBinary, X_OK) == 0; }

EtcdServer::EtcdServer(EtcdServerOptions options) : options_(std::move(options)) {
  char path[] = "/tmp/portico-etcd-XXXXXX";
  if (::mkdtemp(path) == nullptr) throw std::runtime_error("mkdtemp failed");
  data_dir_ = path;
}

EtcdServer::~EtcdServer() {
  process_.Kill();
  transport_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(data_dir_, ignored);
}

std::string EtcdServer::endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

bool EtcdServer::Start(milliseconds timeout) {
  if (started_once_) return StartOnce(timeout);
  // A port picked free a moment ago may be taken by the time etcd binds it: try fresh ones.
  for (int i = 0; i < 3; ++i) {
    client_port_ = PickFreePort();
    do {
      peer_port_ = PickFreePort();
    } while (peer_port_ == client_port_);
    registry::BackendTls tls;
    tls.enabled = this->tls();
    tls.ca_file = options_.ca_file;
    transport_ = upstream::MakeH2Transport(
        endpoint(), tls, loops_.loops(),
        {.initial_backoff = milliseconds(50), .max_backoff = milliseconds(200)});
    if (StartOnce(timeout)) {
      started_once_ = true;
      return true;
    }
    process_.Kill();
  }
  return false;
}

bool EtcdServer::StartOnce(milliseconds timeout) {
  const std::string client_url = (tls() ? "https://" : "http://") + endpoint();
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> args = {"--name",
                                   "portico-test",
                                   "--data-dir",
                                   data_dir_,
                                   "--listen-client-urls",
                                   client_url,
                                   "--advertise-client-urls",
                                   client_url,
                                   "--listen-peer-urls",
                                   peer_url,
                                   "--initial-advertise-peer-urls",
                                   peer_url,
                                   "--initial-cluster",
                                   "portico-test=" + peer_url,
                                   "--initial-cluster-state",
                                   "new",
                                   "--logger",
                                   "zap",
                                   "--log-level",
                                   "warn"};
  if (tls()) {
    args.insert(args.end(), {"--cert-file", options_.cert_file, "--key-file", options_.key_file});
  }
  if (options_.auth_token_ttl_seconds > 0) {
    args.insert(args.end(), {"--auth-token-ttl", std::to_string(options_.auth_token_ttl_seconds)});
  }
  process_.Start(kBinary, args, "", std::chrono::minutes(10));
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!process_.Running()) return false;
    if (Revision(milliseconds(1000))) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

void EtcdServer::Kill() { process_.Kill(); }

void EtcdServer::Stop() {
  process_.Signal(SIGTERM);
  if (!process_.Wait(std::chrono::seconds(20))) process_.Kill();
}

std::optional<std::int64_t> EtcdServer::Put(const std::string& key, const std::string& value,
                                            milliseconds timeout) {
  etcdserverpb::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  const registry::Metadata token = registry::etcd::TokenMetadata(Token());
  auto reply = CallUntil<etcdserverpb::PutResponse>(
      [&](auto done) { registry::etcd::Put(*transport_, request, kCallTimeout, done, token); },
      timeout);
  if (!reply) return std::nullopt;
  return reply->header().revision();
}

std::optional<std::int64_t> EtcdServer::Delete(const std::string& key, milliseconds timeout) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(key);
  const registry::Metadata token = registry::etcd::TokenMetadata(Token());
  auto reply = CallUntil<etcdserverpb::DeleteRangeResponse>(
      [&](auto done) {
        registry::etcd::DeleteRange(*transport_, request, kCallTimeout, done, token);
      },
      timeout);
  if (!reply) return std::nullopt;
  return reply->header().revision();
}

std::optional<std::int64_t> EtcdServer::Revision(milliseconds timeout) {
  etcdserverpb::RangeRequest request;
  request.set_key("portico-test-revision-probe");
  const registry::Metadata token = registry::etcd::TokenMetadata(Token());
  auto reply = CallUntil<etcdserverpb::RangeResponse>(
      [&](auto done) { registry::etcd::Range(*transport_, request, kCallTimeout, done, token); },
      timeout);
  if (!reply) return std::nullopt;
  return reply->header().revision();
}

bool EtcdServer::Compact(std::int64_t revision, milliseconds timeout) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(true);
  const registry::Metadata token = registry::etcd::TokenMetadata(Token());
  return CallUntil<etcdserverpb::CompactionResponse>(
             [&](auto done) {
               registry::etcd::Compact(*transport_, request, kCallTimeout, done, token);
             },
             timeout)
      .has_value();
}

std::string EtcdServer::Token() {
  if (root_password_.empty()) return "";
  etcdserverpb::AuthenticateRequest request;
  request.set_name("root");
  request.set_password(root_password_);
  auto reply = CallUntil<etcdserverpb::AuthenticateResponse>(
      [&](auto done) { registry::etcd::Authenticate(*transport_, request, kCallTimeout, done); },
      std::chrono::seconds(10));
  return reply ? reply->token() : "";
}

int EtcdServer::Etcdctl(const std::string& arguments) {
  std::string command = std::string("ETCDCTL_API=3 ") + kEtcdctl +
                        " --endpoints=" + (tls() ? "https://" : "http://") + endpoint();
  if (tls()) command += " --cacert=" + options_.ca_file;
  if (!root_password_.empty()) command += " --user=root:" + root_password_;
  const std::string log = data_dir_ + ".etcdctl.log";
  command += " " + arguments + " >" + log + " 2>&1";
  const int status = RunShell(command);
  std::error_code ignored;
  if (std::filesystem::exists(log, ignored)) {
    std::ifstream in(log);
    etcdctl_log_ +=
        "etcdctl " + arguments + ":\n" + std::string(std::istreambuf_iterator<char>(in), {});
    std::filesystem::remove(log, ignored);
  }
  return status;
}

bool EtcdServer::EnableAuth(const std::string& root_password) {
  if (Etcdctl("user add root:" + root_password) != 0) return false;
  if (Etcdctl("auth enable") != 0) return false;
  root_password_ = root_password;
  return true;
}

std::optional<EtcdServerOptions> TlsEtcdOptions(const std::filesystem::path& dir) {
  auto ca = MakeTestCa(dir, "ca", "Portico Test CA");
  if (!ca) return std::nullopt;
  auto cert = MakeTestCert(dir, "etcd", "localhost", *ca, 2);
  if (!cert) return std::nullopt;
  EtcdServerOptions options;
  options.cert_file = cert->cert;
  options.key_file = cert->key;
  options.ca_file = ca->cert;
  return options;
}

}  // namespace portico::testing
