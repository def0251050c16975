#include "http/tls_handshake.h"

#include <string_view>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/ssl.h>

#include "http/data_stream.h"
#include "http/h2_session.h"
#include "http/http_session.h"
#include "http/tls_context.h"

namespace portico::http {
namespace {

namespace asio = boost::asio;

class TlsHandshake final : public ServerConnection,
                           public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(asio::ip::tcp::socket socket, const std::shared_ptr<asio::ssl::context>& context,
               std::shared_ptr<HttpServer::State> server, ConnectionSlot slot)
      : stream_(std::make_unique<DataStream::TlsStream>(std::move(socket), *context)),
        server_(std::move(server)),
        slot_(std::move(slot)),
        timer_(stream_->get_executor()) {}

  ~TlsHandshake() override {
    std::lock_guard lock(server_->mu);
    server_->sessions.erase(this);
  }

  void Start() {
    asio::dispatch(stream_->get_executor(), [self = shared_from_this()] { self->Begin(); });
  }
  void Shutdown() override { Kill(); }  // nothing is in flight yet
  void Kill() override {
    asio::post(timer_.get_executor(), [self = shared_from_this()] { self->Fail(/*count=*/false); });
  }

 private:
  void Begin() {
    if (done_) return;
    timer_.expires_after(server_->options.header_timeout);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the handshake ended first
      if (auto self = weak.lock()) self->Fail(/*count=*/true);
    });
    stream_->async_handshake(asio::ssl::stream_base::server,
                             [self = shared_from_this()](boost::system::error_code ec) {
                               self->OnHandshake(ec);
                             });
  }

  void OnHandshake(boost::system::error_code ec) {
    if (done_) return;  // timed out or closed meanwhile
    if (ec || server_->draining) return Fail(/*count=*/!server_->draining);
    done_ = true;
    timer_.cancel();
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(stream_->native_handle(), &alpn, &alpn_len);
    const std::string_view protocol(reinterpret_cast<const char*>(alpn), alpn_len);
    DataStream stream(std::move(stream_));
    if (protocol == kAlpnH2) {
      StartH2Session(std::move(stream), server_, std::move(slot_), std::string());
    } else {
      StartHttpSession(std::move(stream), server_, std::move(slot_));
    }
  }

  // Closes the connection; the pending handshake, if any, ends with operation_aborted.
  // count: the client failed (not a drain).
  void Fail(bool count) {
    if (done_) return;
    done_ = true;
    if (count) ++server_->tls_handshake_failures;
    timer_.cancel();
    boost::system::error_code ignored;
    stream_->next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_->next_layer().close(ignored);
  }

  std::unique_ptr<DataStream::TlsStream> stream_;
  std::shared_ptr<HttpServer::State> server_;
  ConnectionSlot slot_;
  asio::steady_timer timer_;
  bool done_ = false;  // handed on or closed
};

}  // namespace

void StartTlsHandshake(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> context,
                       std::shared_ptr<HttpServer::State> server, ConnectionSlot slot) {
  auto handshake = std::make_shared<TlsHandshake>(std::move(socket), context, server,
                                                  std::move(slot));
  {
    std::lock_guard lock(server->mu);
    server->sessions[handshake.get()] = handshake;
  }
  handshake->Start();
}

}  // namespace portico::http
