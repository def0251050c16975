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
// IPv6 addresses (::ffff:a.b.c.d) match IPv4 networks.
class Cidr {
 public:
  static StatusOr<Cidr> Parse(std::string_view text);  // InvalidArgument quoting the text
  bool Contains(std::string_view address) const;       // false for what is not an address

 private:
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
  // the walk at the last good one); otherwise `peer` itself. Never allocates beyond the result.
  std::string ClientAddress(std::string_view peer, std::string_view x_forwarded_for) const;
  // Deny wins; a non-empty allow list admits only its networks.
  bool Allowed(std::string_view client) const;

 private:
  std::vector<Cidr> allow_, deny_, trusted_;
};

}  // namespace portico::policy
