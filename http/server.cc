#include "http/server.h"

#include <algorithm>
#include <stdexcept>

#include "http/http_session.h"
#include "http/tls_handshake.h"
#include "registry/event_log.h"

namespace portico::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HttpServer::HttpServer(std::vector<asio::io_context*> loops, ServerOptions options,
                       Handlers handlers)
    : loops_(std::move(loops)),
      state_(std::make_shared<State>()),
      acceptor_(*loops_.front()),
      accept_retry_(*loops_.front()) {
  state_->options = options;
  state_->handlers = std::move(handlers);
}

HttpServer::~HttpServer() = default;

void HttpServer::Listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host + ": not an IP address");
  tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
}

void HttpServer::EnableTls(std::shared_ptr<TlsContextSource> tls) { state_->tls = std::move(tls); }

void HttpServer::Start() { DoAccept(); }

void HttpServer::DoAccept() {
  asio::io_context& loop = *loops_[next_loop_++ % loops_.size()];
  // No strand: a loop is run by one thread, which serializes the session's handlers already.
  acceptor_.async_accept(loop, [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) return OnAcceptError(ec);
    accept_backoff_ = std::chrono::milliseconds(0);
    if (connections() >= state_->options.max_connections || state_->draining) {
      boost::system::error_code ignored;
      socket.close(ignored);  // over the limit: refuse rather than degrade everyone
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      if (state_->tls) {
        StartTlsHandshake(std::move(socket), state_->tls->Current(), state_,
                          ConnectionSlot(state_->connection_count));
      } else {
        StartHttpSession(DataStream(std::move(socket)), state_,
                         ConnectionSlot(state_->connection_count));
      }
    }
    DoAccept();
  });
}

void HttpServer::OnAcceptError(const boost::system::error_code& ec) {
  ++accept_errors_;
  // Retrying at once would spin: the pending connection stays queued while the cause (no free
  // file descriptor) lasts. Said once per run of failures.
  if (accept_backoff_.count() == 0) {
    registry::LogEvent(registry::LogLevel::kError, "accept_failed")
        .Add("port", static_cast<unsigned>(port_))
        .Add("error", ec.message())
        .Add("message", "retrying with a backoff of up to 1 s");
    accept_backoff_ = std::chrono::milliseconds(10);
  } else {
    accept_backoff_ =
        std::min<std::chrono::milliseconds>(accept_backoff_ * 2, std::chrono::seconds(1));
  }
  accept_retry_.expires_after(accept_backoff_);
  accept_retry_.async_wait([this](boost::system::error_code wait_ec) {
    if (wait_ec || !acceptor_.is_open()) return;
    DoAccept();
  });
}

std::size_t HttpServer::connections() const { return state_->connection_count->load(); }

void HttpServer::Drain() {
  if (state_->draining.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
  });
  std::vector<std::shared_ptr<ServerConnection>> live;
  {
    std::lock_guard lock(state_->mu);
    for (auto& [raw, weak] : state_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Shutdown();  // outside the lock: a session's destructor takes it
}

void HttpServer::CloseAll() {
  std::vector<std::shared_ptr<ServerConnection>> live;
  {
    std::lock_guard lock(state_->mu);
    for (auto& [raw, weak] : state_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Kill();
}

}  // namespace portico::http
