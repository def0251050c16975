#include "tests/support/transport_harness.h"

#include <future>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/executor_work_guard.hpp>

namespace portico::testing {
namespace {
constexpr auto kWait = std::chrono::seconds(10);
}  // namespace

IoLoops::IoLoops(int n) {
  for (int i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    threads_.emplace_back([c = contexts_.back().get()] {
      auto guard = boost::asio::make_work_guard(*c);
      c->run();
    });
  }
}

IoLoops::~IoLoops() {
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) t.join();
}

std::vector<boost::asio::io_context*> IoLoops::loops() const {
  std::vector<boost::asio::io_context*> out;
  for (const auto& c : contexts_) out.push_back(c.get());
  return out;
}

registry::CallSpec Spec(const std::string& method, int timeout_ms, registry::Metadata metadata) {
  registry::CallSpec spec;
  spec.method = method;
  spec.metadata = std::move(metadata);
  if (timeout_ms > 0) {
    spec.deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return spec;
}

registry::UnaryResult CallUnarySync(registry::Transport& transport, registry::CallSpec spec,
                                    const std::string& request) {
  auto promise = std::make_shared<std::promise<registry::UnaryResult>>();
  auto future = promise->get_future();
  transport.CallUnary(std::move(spec), request,
                      [promise](registry::UnaryResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "unary call did not finish";
    return {};
  }
  return future.get();
}

void RecordingObserver::OnHeaders(const registry::Metadata& headers) {
  std::lock_guard lock(mu_);
  headers_ = headers;
  ++headers_calls_;
  cv_.notify_all();
}
void RecordingObserver::OnReadDone(bool ok, std::string message) {
  std::lock_guard lock(mu_);
  reads_.push_back(ok ? std::optional<std::string>(std::move(message)) : std::nullopt);
  cv_.notify_all();
}
void RecordingObserver::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  writes_.push_back(ok);
  cv_.notify_all();
}
void RecordingObserver::OnFinish(registry::CallStatus status, registry::Metadata trailers) {
  std::lock_guard lock(mu_);
  EXPECT_FALSE(status_.has_value()) << "OnFinish twice";
  status_ = std::move(status);
  trailers_ = std::move(trailers);
  cv_.notify_all();
}

std::optional<std::string> RecordingObserver::WaitRead() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, kWait, [&] { return !reads_.empty(); })) {
    ADD_FAILURE() << "no OnReadDone";
    return std::nullopt;
  }
  auto r = std::move(reads_.front());
  reads_.pop_front();
  return r;
}
bool RecordingObserver::WaitWrite() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, kWait, [&] { return !writes_.empty(); })) {
    ADD_FAILURE() << "no OnWriteDone";
    return false;
  }
  bool ok = writes_.front();
  writes_.pop_front();
  return ok;
}
registry::CallStatus RecordingObserver::WaitFinish() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, kWait, [&] { return status_.has_value(); })) {
    ADD_FAILURE() << "no OnFinish";
    return {Code::kUnknown, "test: no OnFinish", {}};
  }
  return *status_;
}
bool RecordingObserver::finished() {
  std::lock_guard lock(mu_);
  return status_.has_value();
}
std::optional<registry::Metadata> RecordingObserver::headers() {
  std::lock_guard lock(mu_);
  return headers_;
}
int RecordingObserver::headers_calls() {
  std::lock_guard lock(mu_);
  return headers_calls_;
}

SelfSigned MakeSelfSigned() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
      {NID_basic_constraints, "critical,CA:TRUE"},
  };
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, cert);
  SelfSigned out{to_string(kb), to_string(cb)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace portico::testing
