#include "tests/support/transport_harness.h"

#include <future>

#include <gtest/gtest.h>
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

void RecordingObserver::OnHeaders(const registry::Metadata&) {
  std::lock_guard lock(mu_);
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
int RecordingObserver::headers_calls() {
  std::lock_guard lock(mu_);
  return headers_calls_;
}

}  // namespace portico::testing
