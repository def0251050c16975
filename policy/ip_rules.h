// IP allow/deny (DESIGN section 10, ip) and the client address behind trusted proxies.
// Immutable after Build; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::policy {

// An IPv4 or IPv6 network ("10.0.0.0/8", "::1/128"; a bare address is /32 or /128). IPv4-mapped
// IPv6 addresses (::ffff:a.b.c.d) match IPv4 networks (and an IPv4-mapped network of prefix
// >= 96 is the IPv4 network it maps). IPv4 is strict dotted-quad (0..255, no leading zeros);
// IPv6 is inet_pton's (no zone ids). Host bits after the prefix are ignored ("10.1.2.3/8" is
// 10.0.0.0/8).
class Cidr {
 public:
  static StatusOr<Cidr> Parse(std::string_view text);  // InvalidArgument quoting the text
  bool Contains(std::string_view address) const;       // false for what is not an address

 private:
  friend class IpRules;  // matches addresses it parsed once against many networks
  bool ContainsBytes(const unsigned char* bytes, int family) const;

  unsigned char bytes_[16] = {};
  int family_ = 4;     // 4 or 6
  int prefix_ = 32;
};

class IpRules {
 public:
  // InvalidArgument naming "ip.allow[1]" etc. for a bad CIDR.
  static StatusOr<IpRules> Build(const registry::IpPolicy& policy);
  // Also used by rate limits keyed by ip when no ip policy is in force.
  static StatusOr<std::vector<Cidr>> ParseList(const std::vector<std::string>& cidrs,
                                               std::string_view key);

  // The client's address: when `peer` is a trusted proxy, X-Forwarded-For is walked from the
  // right past trusted proxies and the first untrusted hop is the client (a malformed hop ends
  // the walk at the last good one; when every hop is trusted the leftmost is the client);
  // otherwise `peer` itself. Hops may be "a.b.c.d", "a.b.c.d:port", "v6", "[v6]" or
  // "[v6]:port"; only the last 8 KiB and the last 64 hops of the header are considered. The
  // result is the address in canonical text (inet_ntop; an IPv4-mapped one as IPv4), or `peer`
  // as given when it is not an address. Never allocates beyond the result.
  std::string ClientAddress(std::string_view peer, std::string_view x_forwarded_for) const;
  // Deny wins; a non-empty allow list admits only its networks. What is not an address is
  // refused when either list is non-empty.
  bool Allowed(std::string_view client) const;

 private:
  std::vector<Cidr> allow_, deny_, trusted_;
};

}  // namespace portico::policy
