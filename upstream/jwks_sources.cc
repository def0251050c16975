#include "upstream/jwks_sources.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "policy/jwks.h"
#include "registry/backend_config.h"
#include "registry/event_log.h"
#include "upstream/ca_file.h"

namespace portico::upstream {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// The file's identity for change detection; size -1 when it cannot be stat()ed.
JwksFileSource::Stamp StampOf(const std::string& path, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = std::strerror(errno);
    return {};
  }
  return {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
}

StatusOr<std::shared_ptr<const policy::JwkSet>> LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read: " + std::string(std::strerror(errno)));
  std::string text(policy::kMaxJwksBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return InvalidArgument("cannot read: " + std::string(std::strerror(errno)));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return policy::ParseJwks(text);  // refuses more than kMaxJwksBytes itself
}

std::string FileError(const std::string& path, const std::string& message) {
  return "jwks_file \"" + path + "\": " + message;
}

}  // namespace

// ---- JwksFileSource ----

JwksFileSource::JwksFileSource(asio::io_context& control, std::string path,
                               JwksSourceOptions options)
    : path_(std::move(path)), options_(std::move(options)), timer_(control) {}

JwksFileSource::~JwksFileSource() = default;  // the timer's destructor cancels the wait

StatusOr<std::shared_ptr<JwksFileSource>> JwksFileSource::Create(asio::io_context& control,
                                                                 std::string path,
                                                                 JwksSourceOptions options) {
  std::shared_ptr<JwksFileSource> source(
      new JwksFileSource(control, std::move(path), std::move(options)));
  std::string error;
  source->seen_ = StampOf(source->path_, &error);  // before the read: a change after it is seen
  StatusOr<std::shared_ptr<const policy::JwkSet>> set = LoadFile(source->path_);
  if (!set.ok()) return InvalidArgument(FileError(source->path_, set.status().message()));
  source->set_ = *set;
  source->stats_.loads = 1;
  asio::post(control, [weak = std::weak_ptr<JwksFileSource>(source)] {
    if (auto self = weak.lock()) self->Arm();
  });
  return source;
}

std::shared_ptr<const policy::JwkSet> JwksFileSource::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return set_;
}

JwksSourceStats JwksFileSource::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void JwksFileSource::Arm() {
  timer_.expires_after(options_.file_check_interval);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      self->Check();
      self->Arm();
    }
  });
}

void JwksFileSource::Check() {
  std::string error;
  const Stamp stamp = StampOf(path_, &error);
  if (stamp == seen_) return;
  seen_ = stamp;  // a bad file is reported once, then waited on until it changes again
  StatusOr<std::shared_ptr<const policy::JwkSet>> set =
      stamp.size < 0 ? StatusOr<std::shared_ptr<const policy::JwkSet>>(
                           InvalidArgument("cannot stat: " + error))
                     : LoadFile(path_);
  std::lock_guard<std::mutex> lock(mu_);
  if (set.ok()) {
    set_ = *set;
    ++stats_.loads;
    registry::LogEvent(registry::LogLevel::kInfo, "jwks_reloaded")
        .Add("jwks_file", path_)
        .Add("keys", set_->keys().size());
  } else {
    ++stats_.failures;
    stats_.last_error = FileError(path_, set.status().message());
    registry::LogEvent(registry::LogLevel::kWarn, "jwks_failed")
        .Add("jwks_file", path_)
        .Add("error", stats_.last_error)
        .Add("message", "the last good key set stays");
  }
}

// ---- JwksUrlSource ----

struct JwksUrlSource::Target {
  std::string url;
  std::string host;         // for DNS, SNI and the certificate check
  std::uint16_t port = 443;
  std::string host_header;  // host[:port] as the URL wrote it
  std::string path;
  std::shared_ptr<asio::ssl::context> tls;
};

// One HTTPS GET on the control thread, bounded by a deadline. `done` is called once, unless
// Close() came first.
class JwksUrlSource::Fetch : public std::enable_shared_from_this<Fetch> {
 public:
  using Done = std::function<void(StatusOr<std::string>)>;
  Fetch(asio::io_context& io, std::shared_ptr<const Target> target,
        std::chrono::milliseconds timeout, Done done)
      : target_(std::move(target)),
        timeout_(timeout),
        done_(std::move(done)),
        resolver_(io),
        stream_(io, *target_->tls),
        deadline_(io) {}

  void Start() {
    auto self = shared_from_this();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self](boost::system::error_code ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      self->Abort();
    });
    resolver_.async_resolve(
        target_->host, std::to_string(target_->port),
        [self](boost::system::error_code ec, tcp::resolver::results_type results) {
          if (ec) return self->Fail("resolve", ec);
          asio::async_connect(self->stream_.next_layer(), results,
                              [self](boost::system::error_code ec, const tcp::endpoint&) {
                                if (ec) return self->Fail("connect", ec);
                                self->Handshake();
                              });
        });
  }

  // Stops the fetch without calling `done` (the source is gone).
  void Close() {
    finished_ = true;
    Abort();
  }

 private:
  void Handshake() {
    SSL* ssl = stream_.native_handle();
    boost::system::error_code ec;
    asio::ip::make_address(target_->host, ec);
    if (ec) SSL_set_tlsext_host_name(ssl, target_->host.c_str());  // SNI: names, not addresses
    stream_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification(target_->host));
    stream_.async_handshake(asio::ssl::stream_base::client,
                            [self = shared_from_this()](boost::system::error_code ec) {
                              if (ec) return self->Fail("TLS handshake", ec);
                              self->Send();
                            });
  }

  void Send() {
    request_ = {http::verb::get, target_->path, 11};
    request_.set(http::field::host, target_->host_header);
    request_.set(http::field::user_agent, "portico");
    request_.set(http::field::accept, "application/json");
    request_.set(http::field::connection, "close");
    http::async_write(stream_, request_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->Fail("write", ec);
                        self->Receive();
                      });
  }

  // The header first, its Content-Length checked here: Boost 1.74's parser drops its own
  // body_limit error when body bytes arrive with the header in eager mode (async_read).
  void Receive() {
    parser_.emplace();
    parser_->body_limit(policy::kMaxJwksBytes);  // still bounds chunked and to-EOF bodies
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (ec == http::error::body_limit) return self->TooLarge();
          if (ec) return self->Fail("read", ec);
          const boost::optional<std::uint64_t> length = self->parser_->content_length();
          if (length && *length > policy::kMaxJwksBytes) return self->TooLarge();
          http::async_read(self->stream_, self->buffer_, *self->parser_,
                           [self](boost::system::error_code ec, std::size_t) {
                             if (ec == http::error::body_limit) return self->TooLarge();
                             if (ec) return self->Fail("read", ec);
                             self->OnReply();
                           });
        });
  }

  void OnReply() {
    auto& reply = parser_->get();
    if (reply.body().size() > policy::kMaxJwksBytes) return TooLarge();
    if (reply.result() != http::status::ok) {
      return Finish(
          Unavailable("HTTP " + std::to_string(reply.result_int()) + " (200 expected)"));
    }
    Finish(std::move(reply.body()));
  }

  void TooLarge() { Finish(Unavailable("reply larger than 1 MiB")); }

  void Abort() {
    boost::system::error_code ignored;
    resolver_.cancel();
    deadline_.cancel();
    stream_.next_layer().close(ignored);
  }

  void Fail(const char* step, boost::system::error_code ec) {
    Finish(Unavailable(timed_out_ ? "timed out after " + std::to_string(timeout_.count()) + " ms"
                                  : std::string(step) + ": " + ec.message()));
  }

  void Finish(StatusOr<std::string> result) {
    if (finished_) return;
    finished_ = true;
    Abort();
    done_(std::move(result));
  }

  const std::shared_ptr<const Target> target_;
  const std::chrono::milliseconds timeout_;
  Done done_;
  tcp::resolver resolver_;
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer deadline_;
  boost::beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool finished_ = false;
  bool timed_out_ = false;
};

JwksUrlSource::JwksUrlSource(asio::io_context& control, std::shared_ptr<const Target> target,
                             std::chrono::milliseconds refresh, JwksSourceOptions options)
    : control_(control),
      target_(std::move(target)),
      refresh_(refresh),
      options_(std::move(options)),
      timer_(control) {}

JwksUrlSource::~JwksUrlSource() {
  // No handler holds this source now; close its fetch on the thread that owns the socket.
  if (auto fetch = fetch_.lock()) asio::post(control_, [fetch] { fetch->Close(); });
}

StatusOr<std::shared_ptr<JwksUrlSource>> JwksUrlSource::Create(asio::io_context& control,
                                                               std::string url,
                                                               std::chrono::milliseconds refresh,
                                                               JwksSourceOptions options) {
  auto target = std::make_shared<Target>();
  target->url = url;
  const std::string_view scheme = "https://";
  auto bad = [&](const std::string& why) {
    return InvalidArgument("jwks_url \"" + url + "\": " + why);
  };
  if (url.compare(0, scheme.size(), scheme) != 0) return bad("must start with https://");
  const std::string rest = url.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  target->path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) return bad("user info is not supported");
  const std::size_t bracket = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  const bool has_port = colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
  StatusOr<registry::HostPort> host_port =
      registry::ParseHostPort(has_port ? authority : authority + ":443");
  if (!host_port.ok()) return bad(host_port.status().message());
  if (host_port->port == 0) return bad("port 0");
  if (target->path.find_first_of(" \r\n#") != std::string::npos) return bad("invalid path");
  target->host = host_port->host;
  target->port = host_port->port;
  target->host_header = authority;

  namespace ssl = asio::ssl;
  target->tls = std::make_shared<ssl::context>(ssl::context::tls_client);
  target->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    target->tls->set_default_verify_paths(ec);
    if (ec) return bad("cannot load the system's CA store: " + ec.message());
  } else {
    StatusOr<std::string> pem = ReadCaFile(options.ca_file);  // the transports' loader
    if (!pem.ok()) return bad(pem.status().message());
    target->tls->add_certificate_authority(asio::buffer(*pem), ec);
    if (ec) return bad("CA file \"" + options.ca_file + "\": " + ec.message());
  }
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(target->tls->native_handle(), kAlpn, sizeof(kAlpn));

  if (refresh.count() <= 0) return bad("jwks_refresh must be positive");
  std::shared_ptr<JwksUrlSource> source(
      new JwksUrlSource(control, std::move(target), refresh, std::move(options)));
  asio::post(control, [weak = std::weak_ptr<JwksUrlSource>(source)] {
    if (auto self = weak.lock()) self->StartFetch();
  });
  return source;
}

std::shared_ptr<const policy::JwkSet> JwksUrlSource::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return set_;
}

JwksSourceStats JwksUrlSource::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void JwksUrlSource::StartFetch() {
  auto fetch = std::make_shared<Fetch>(
      control_, target_, options_.fetch_timeout,
      [weak = weak_from_this()](StatusOr<std::string> body) {
        if (auto self = weak.lock()) self->OnFetched(std::move(body));
      });
  fetch_ = fetch;
  fetch->Start();
}

void JwksUrlSource::OnFetched(StatusOr<std::string> body) {
  StatusOr<std::shared_ptr<const policy::JwkSet>> set =
      body.ok() ? policy::ParseJwks(*body)
                : StatusOr<std::shared_ptr<const policy::JwkSet>>(body.status());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (set.ok()) {
      set_ = *set;
      ++stats_.loads;
      if (failing_) {
        registry::LogEvent(registry::LogLevel::kInfo, "jwks_recovered")
            .Add("jwks_url", target_->url);
      }
    } else {
      ++stats_.failures;
      stats_.last_error = "jwks_url \"" + target_->url + "\": " + set.status().message();
      // Logged once per run of failures, not at every retry.
      if (!failing_) {
        registry::LogEvent(registry::LogLevel::kWarn, "jwks_failed")
            .Add("jwks_url", target_->url)
            .Add("error", stats_.last_error)
            .Add("message", "retrying; the last good key set stays");
      }
    }
    failing_ = !set.ok();
  }
  Arm(set.ok() ? refresh_ : std::min(refresh_, options_.retry_interval));
}

void JwksUrlSource::Arm(std::chrono::milliseconds after) {
  timer_.expires_after(after);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->StartFetch();
  });
}

policy::JwksSourceFactory MakeJwksSourceFactory(asio::io_context& control,
                                                JwksSourceOptions options) {
  struct Live {
    std::mutex mu;
    std::map<std::string, std::weak_ptr<policy::JwksSource>> sources;
  };
  auto live = std::make_shared<Live>();
  return [&control, options, live](const registry::JwtPolicy& jwt)
             -> StatusOr<std::shared_ptr<policy::JwksSource>> {
    if (!jwt.jwks_file.empty() && !jwt.jwks_url.empty()) {
      return InvalidArgument("jwt: set jwks_file or jwks_url, not both");
    }
    if (jwt.jwks_file.empty() && jwt.jwks_url.empty()) {
      return InvalidArgument("jwt: jwks_file or jwks_url is required");
    }
    const std::string key = !jwt.jwks_file.empty()
                                ? "file " + jwt.jwks_file
                                : "url " + std::to_string(jwt.jwks_refresh.count()) + " " +
                                      jwt.jwks_url;
    std::lock_guard<std::mutex> lock(live->mu);
    for (auto it = live->sources.begin(); it != live->sources.end();) {
      it = it->second.expired() ? live->sources.erase(it) : std::next(it);
    }
    if (auto it = live->sources.find(key); it != live->sources.end()) {
      if (auto source = it->second.lock()) return source;
    }
    std::shared_ptr<policy::JwksSource> made;
    if (!jwt.jwks_file.empty()) {
      auto source = JwksFileSource::Create(control, jwt.jwks_file, options);
      if (!source.ok()) return source.status();
      made = *source;
    } else {
      auto source = JwksUrlSource::Create(control, jwt.jwks_url, jwt.jwks_refresh, options);
      if (!source.ok()) return source.status();
      made = *source;
    }
    live->sources[key] = made;
    return made;
  };
}

}  // namespace portico::upstream
