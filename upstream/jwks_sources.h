// Where JWT verifiers get their keys (policy::JwksSource, policy/jwt_verifier.h): a JWKS file
// reloaded when it changes, or an https:// URL fetched and refreshed. Both keep the last good
// key set when a reload or fetch fails, count failures and log them to stderr (a URL once per
// run of failures).
//
// Both do their I/O on the `control` io_context only (a timer there; io threads call nothing
// but Current(), a locked shared_ptr copy). The control io_context must outlive every source it
// made. Handlers hold weak_ptrs: destroying a source (from any thread) cancels its timer, and a
// fetch in flight is closed on the control thread and then dropped.
//
// Thread safety: Current() and stats() are thread-safe; Create() may run on any thread.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "policy/jwt_verifier.h"
#include "transcoder/status.h"

namespace portico::upstream {

struct JwksSourceOptions {
  // jwks_url: the CA file (PEM) that verifies the server; "" = the system's default store.
  std::string ca_file;
  // jwks_file: how often the file is stat()ed for a change (mtime, size, inode).
  std::chrono::milliseconds file_check_interval{1000};
  // jwks_url: the bound on one fetch (resolve, connect, TLS, request, response).
  std::chrono::milliseconds fetch_timeout{10000};
  // jwks_url: after a failed fetch, the next comes after min(jwks_refresh, this).
  std::chrono::milliseconds retry_interval{10000};
};

// What a source has done so far (for logs and tests).
struct JwksSourceStats {
  std::uint64_t loads = 0;     // key sets taken (the first included)
  std::uint64_t failures = 0;  // reloads or fetches that failed (last good set kept)
  std::string last_error;      // of the latest failure; "" before any
};

// A JWKS file: read and parsed by Create (InvalidArgument naming the file on failure), then
// stat()ed every file_check_interval on `control` and read again when its mtime, size or inode
// changed. A new file that does not parse is counted and leaves the last good set in force
// until the file changes again.
class JwksFileSource final : public policy::JwksSource,
                             public std::enable_shared_from_this<JwksFileSource> {
 public:
  static StatusOr<std::shared_ptr<JwksFileSource>> Create(boost::asio::io_context& control,
                                                          std::string path,
                                                          JwksSourceOptions options = {});
  ~JwksFileSource() override;

  std::shared_ptr<const policy::JwkSet> Current() const override;
  JwksSourceStats stats() const;

  // What change detection compares (an implementation detail, public for the .cc's helper).
  struct Stamp {
    bool operator==(const Stamp&) const = default;
    std::int64_t mtime_ns = 0;
    std::int64_t size = -1;
    std::uint64_t inode = 0;
  };

 private:
  JwksFileSource(boost::asio::io_context& control, std::string path, JwksSourceOptions options);
  void Arm();
  void Check();

  const std::string path_;
  const JwksSourceOptions options_;
  boost::asio::steady_timer timer_;  // used on the control thread only
  Stamp seen_;                       // control thread only (and Create)
  mutable std::mutex mu_;
  std::shared_ptr<const policy::JwkSet> set_;
  JwksSourceStats stats_;
};

// An https:// JWKS URL ("https://host[:port]/path"; other schemes are InvalidArgument at
// Create). Fetched with HTTP/1.1 over TLS (Boost.Beast, OpenSSL; the certificate verified
// against ca_file or the system store, and for the URL's host), at Create in the background,
// then every `refresh`; a failed fetch is retried after min(refresh, retry_interval). A reply
// other than 200 with a JWKS body of at most 1 MiB is a failure; redirects are not followed.
// Current() is null until the first fetch succeeded.
class JwksUrlSource final : public policy::JwksSource,
                            public std::enable_shared_from_this<JwksUrlSource> {
 public:
  static StatusOr<std::shared_ptr<JwksUrlSource>> Create(boost::asio::io_context& control,
                                                         std::string url,
                                                         std::chrono::milliseconds refresh,
                                                         JwksSourceOptions options = {});
  ~JwksUrlSource() override;

  std::shared_ptr<const policy::JwkSet> Current() const override;
  JwksSourceStats stats() const;

 private:
  struct Target;
  class Fetch;
  JwksUrlSource(boost::asio::io_context& control, std::shared_ptr<const Target> target,
                std::chrono::milliseconds refresh, JwksSourceOptions options);
  void StartFetch();
  void OnFetched(StatusOr<std::string> body);
  void Arm(std::chrono::milliseconds after);

  boost::asio::io_context& control_;
  const std::shared_ptr<const Target> target_;
  const std::chrono::milliseconds refresh_;
  const JwksSourceOptions options_;
  boost::asio::steady_timer timer_;  // used on the control thread only
  std::weak_ptr<Fetch> fetch_;       // the one in flight
  bool failing_ = false;             // control thread: the last fetch failed (logged once)
  mutable std::mutex mu_;
  std::shared_ptr<const policy::JwkSet> set_;
  JwksSourceStats stats_;
};

// The factory policies compile with: jwks_file -> JwksFileSource, jwks_url -> JwksUrlSource
// (refresh = jwt.jwks_refresh). InvalidArgument when both or neither are set, and what Create
// returns. While a source made for the same file (or the same URL and refresh) is alive, it is
// returned again: a recompiled snapshot keeps its keys (a URL its fetched set) instead of
// starting over. The returned function is thread-safe.
policy::JwksSourceFactory MakeJwksSourceFactory(boost::asio::io_context& control,
                                                JwksSourceOptions options = {});

}  // namespace portico::upstream
