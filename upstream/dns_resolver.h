// Blocking DNS lookups of A/AAAA and SRV records with their TTLs, through glibc's resolver
// library (libresolv: res_nquery for the query, ns_initparse/ns_parserr for the answer), so no
// DNS message is parsed by hand. Name servers are those of /etc/resolv.conf, or the ones given
// ("ip:port", IPv4), which then replace them. A host name DNS has no address for ("localhost",
// names only in /etc/hosts) is looked up with getaddrinfo instead, with the default TTL.
//
// A query waits `timeout` for its first try and twice that for the second (glibc's doubling),
// per name server: with the defaults at most 6 s per server, plus getaddrinfo's own bound when
// it falls back. So lookups belong on a thread of their own, never on an io thread.
//
// Thread safety: not thread-safe (it holds a res_state); use one DnsResolver per thread.
// Ownership: owns its resolver state; `cancel` (when given) must outlive the call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transcoder/status.h"

namespace portico::upstream {

struct DnsResolverOptions {
  std::vector<std::string> servers;  // "ip:port" (IPv4); empty = /etc/resolv.conf's
  std::chrono::milliseconds default_ttl{30000};  // for getaddrinfo's answers
  std::chrono::seconds timeout{2};               // of a query's first try (res_state retrans)
  int attempts = 2;                              // tries per name server (res_state retry)
};

struct HostAddresses {
  std::vector<std::string> ips;  // textual, normalized ("10.0.0.1", "::1"), sorted, unique
  std::chrono::milliseconds ttl{0};  // min TTL of the answer's records (>= 1 s) or default_ttl
  bool from_dns = true;              // false: the getaddrinfo fallback answered
};

// One SRV target as used: of the lowest priority present, weight 0 counted as 1.
struct SrvTarget {
  std::string target;  // host name without the trailing dot
  std::uint16_t port = 0;
  std::uint32_t weight = 1;

  bool operator==(const SrvTarget&) const = default;
};

struct SrvRecords {
  std::vector<SrvTarget> targets;  // sorted by (target, port)
  std::chrono::milliseconds ttl{0};
};

class DnsResolver {
 public:
  explicit DnsResolver(DnsResolverOptions options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // A and AAAA records of `host` (an IP literal is returned as is). NotFound when neither DNS
  // nor getaddrinfo knows the name, Unavailable when the name servers do not answer,
  // InvalidArgument for a bad name or bad configured servers, Cancelled when `cancel` became
  // true between two queries.
  StatusOr<HostAddresses> LookupHost(std::string_view host,
                                     const std::atomic<bool>* cancel = nullptr);

  // SRV records of `name` (e.g. "_grpc._tcp.chat.example"). Errors as LookupHost's; NotFound
  // also when there are records but none usable (only "." targets).
  StatusOr<SrvRecords> LookupSrv(std::string_view name,
                                 const std::atomic<bool>* cancel = nullptr);

 private:
  struct State;
  Status Init();

  DnsResolverOptions options_;
  std::unique_ptr<State> state_;  // the res_state, kept out of this header (<resolv.h> macros)
};

// Checks "ip:port" name server addresses (IPv4 literal, port 1..65535).
Status CheckDnsServer(std::string_view server);

// "10.0.0.1" -> "10.0.0.1:port", "::1" -> "[::1]:port".
std::string JoinIpPort(std::string_view ip, std::uint16_t port);

// The normalized text of an IPv4 or IPv6 literal ("0:0::1" -> "::1"), "" when `host` is none.
std::string NormalizeIp(std::string_view host);

}  // namespace portico::upstream
