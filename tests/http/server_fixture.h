// An HttpServer on its own io thread with a handler the test chooses: session behaviour
// (framing, timeouts, limits) without a gateway or a backend. Port 0, hermetic.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "http/server.h"
#include "http/status_reply.h"

namespace portico::testing {

class ServerFixture : public ::testing::Test {
 protected:
  using Handler = std::function<void(http::Request&&, std::shared_ptr<http::Exchange>)>;

  // Default handler: 200 with body "<method> <target> host=<host> body=<body>".
  void StartServer(http::ServerOptions options = {}, Handler handler = nullptr) {
    http::Handlers handlers;
    handlers.handle = [this, handler](http::Request&& r, std::shared_ptr<http::Exchange> e) {
      {
        std::lock_guard lock(mu_);
        seen_.push_back(std::string(r.method_string()) + " " + std::string(r.target()));
      }
      if (handler) return handler(std::move(r), std::move(e));
      e->Respond(http::MakeResponse(200,
                                    std::string(r.method_string()) + " " + std::string(r.target()) +
                                        " host=" + std::string(r[boost::beast::http::field::host]) +
                                        " body=" + r.body(),
                                    "text/plain"));
    };
    server_ = std::make_unique<http::HttpServer>(ioc_, options, std::move(handlers));
    server_->Listen("127.0.0.1", 0);
    server_->Start();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->Drain();
      server_->CloseAll();
    }
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::uint16_t port() const { return server_->port(); }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  // Polls `done` for up to `limit`.
  static bool Eventually(const std::function<bool()>& done,
                         std::chrono::milliseconds limit = std::chrono::seconds(3)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  }

  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(ioc_)};
  std::unique_ptr<http::HttpServer> server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> seen_;
};

}  // namespace portico::testing
