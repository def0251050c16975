#include "policy/ip_rules.h"

#include <arpa/inet.h>

#include <cstring>
#include <utility>

#include "policy/header_tokens.h"

namespace portico::policy {
namespace {

// What ClientAddress reads of X-Forwarded-For at most: the tail of the header, and hops.
constexpr std::size_t kMaxForwardedBytes = 8 * 1024;
constexpr int kMaxForwardedHops = 64;

struct Address {
  unsigned char bytes[16] = {};
  int family = 4;  // 4: bytes[0..3]; 6: all 16
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// 1-3 decimal digits without a leading zero (but "0"), at most `max`.
bool ParseSmallNumber(std::string_view s, int max, int* out) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  int v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool ParseV4(std::string_view s, unsigned char* out) {
  for (int i = 0; i < 4; ++i) {
    const std::size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    int octet = 0;
    if (!ParseSmallNumber(s.substr(0, dot), 255, &octet)) return false;
    out[i] = static_cast<unsigned char>(octet);
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  return true;
}

bool ParseV6(std::string_view s, unsigned char* out) {
  char text[INET6_ADDRSTRLEN];
  // inet_pton reads a C string: an embedded NUL would end the text early.
  if (s.empty() || s.size() >= sizeof text || s.find('\0') != std::string_view::npos) return false;
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = '\0';
  return inet_pton(AF_INET6, text, out) == 1;
}

bool IsV4Mapped(const Address& a) {
  static constexpr unsigned char kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return a.family == 6 && std::memcmp(a.bytes, kPrefix, sizeof kPrefix) == 0;
}

void UnmapV4(Address* a) {
  std::memmove(a->bytes, a->bytes + 12, 4);
  std::memset(a->bytes + 4, 0, 12);
  a->family = 4;
}

// A bare address, IPv6 when it holds a ':'. IPv4-mapped IPv6 is left as IPv6 here.
bool ParseRawAddress(std::string_view s, Address* a) {
  if (s.find(':') != std::string_view::npos) {
    a->family = 6;
    return ParseV6(s, a->bytes);
  }
  a->family = 4;
  return ParseV4(s, a->bytes);
}

// A bare address, IPv4-mapped IPv6 turned into IPv4: the form every comparison uses.
bool ParseAddress(std::string_view s, Address* a) {
  if (!ParseRawAddress(s, a)) return false;
  if (IsV4Mapped(*a)) UnmapV4(a);
  return true;
}

bool ValidPort(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  int v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  return v <= 65535;
}

// One X-Forwarded-For hop: "v4", "v4:port", "v6", "[v6]", "[v6]:port".
bool ParseHop(std::string_view hop, Address* a) {
  if (!hop.empty() && hop.front() == '[') {
    const std::size_t close = hop.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view after = hop.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || !ValidPort(after.substr(1)))) return false;
    if (!ParseRawAddress(hop.substr(1, close - 1), a) || a->family != 6) return false;
    if (IsV4Mapped(*a)) UnmapV4(a);
    return true;
  }
  const std::size_t colon = hop.find(':');
  if (colon != std::string_view::npos && hop.find(':', colon + 1) == std::string_view::npos) {
    if (!ValidPort(hop.substr(colon + 1))) return false;
    a->family = 4;
    return ParseV4(hop.substr(0, colon), a->bytes);
  }
  return ParseAddress(hop, a);
}

std::string Format(const Address& a) {
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.bytes, text, sizeof text) == nullptr) {
    return std::string();  // cannot happen with this buffer size
  }
  return std::string(text);
}

}  // namespace

StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  auto bad = [&] { return InvalidArgument("not a CIDR: \"" + std::string(text) + "\""); };
  const std::size_t slash = text.find('/');
  Address a;
  if (!ParseRawAddress(text.substr(0, slash), &a)) return bad();
  const int max = a.family == 4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos && !ParseSmallNumber(text.substr(slash + 1), max, &prefix)) {
    return bad();
  }
  if (IsV4Mapped(a) && prefix >= 96) {
    UnmapV4(&a);
    prefix -= 96;
  }
  Cidr cidr;
  std::memcpy(cidr.bytes_, a.bytes, sizeof a.bytes);
  cidr.family_ = a.family;
  cidr.prefix_ = prefix;
  // Host bits cleared, so ContainsBytes compares whole bytes.
  const int total = a.family == 4 ? 4 : 16;
  for (int i = 0; i < total; ++i) {
    const int bits = prefix - 8 * i;
    if (bits >= 8) continue;
    const unsigned mask = bits <= 0 ? 0u : (0xffu << (8 - bits)) & 0xffu;
    cidr.bytes_[i] = static_cast<unsigned char>(cidr.bytes_[i] & mask);
  }
  return cidr;
}

bool Cidr::ContainsBytes(const unsigned char* bytes, int family) const {
  if (family != family_) return false;
  const int whole = prefix_ / 8;
  if (std::memcmp(bytes, bytes_, static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const unsigned mask = (0xffu << (8 - rest)) & 0xffu;
  return (bytes[whole] & mask) == bytes_[whole];
}

bool Cidr::Contains(std::string_view address) const {
  Address a;
  return ParseAddress(address, &a) && ContainsBytes(a.bytes, a.family);
}

StatusOr<std::vector<Cidr>> IpRules::ParseList(const std::vector<std::string>& cidrs,
                                               std::string_view key) {
  std::vector<Cidr> out;
  out.reserve(cidrs.size());
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    auto cidr = Cidr::Parse(cidrs[i]);
    if (!cidr.ok()) {
      return InvalidArgument(std::string(key) + "[" + std::to_string(i) +
                             "]: " + cidr.status().message());
    }
    out.push_back(*cidr);
  }
  return out;
}

StatusOr<IpRules> IpRules::Build(const registry::IpPolicy& policy) {
  IpRules rules;
  auto allow = ParseList(policy.allow, "ip.allow");
  if (!allow.ok()) return allow.status();
  auto deny = ParseList(policy.deny, "ip.deny");
  if (!deny.ok()) return deny.status();
  auto trusted = ParseList(policy.trusted_proxies, "ip.trusted_proxies");
  if (!trusted.ok()) return trusted.status();
  rules.allow_ = std::move(*allow);
  rules.deny_ = std::move(*deny);
  rules.trusted_ = std::move(*trusted);
  return rules;
}

std::string IpRules::ClientAddress(std::string_view peer, std::string_view x_forwarded_for) const {
  auto trusted = [this](const Address& a) {
    for (const Cidr& c : trusted_) {
      if (c.ContainsBytes(a.bytes, a.family)) return true;
    }
    return false;
  };
  Address current;
  if (!ParseAddress(peer, &current)) return std::string(peer);
  if (!trusted(current)) return Format(current);
  std::string_view rest = x_forwarded_for;
  if (rest.size() > kMaxForwardedBytes) {
    // Only the tail is read; its first piece may be a cut hop, so it is dropped.
    rest = rest.substr(rest.size() - kMaxForwardedBytes);
    const std::size_t comma = rest.find(',');
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  for (int hops = 0; hops < kMaxForwardedHops && !rest.empty(); ++hops) {
    const std::size_t comma = rest.rfind(',');
    const std::string_view hop =
        comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    Address a;
    if (!ParseHop(TrimOws(hop), &a)) break;  // garbage: the last good hop is the client
    current = a;
    if (!trusted(current)) break;
  }
  return Format(current);
}

bool IpRules::Allowed(std::string_view client) const {
  Address a;
  if (!ParseAddress(client, &a)) return allow_.empty() && deny_.empty();
  for (const Cidr& c : deny_) {
    if (c.ContainsBytes(a.bytes, a.family)) return false;
  }
  if (allow_.empty()) return true;
  for (const Cidr& c : allow_) {
    if (c.ContainsBytes(a.bytes, a.family)) return true;
  }
  return false;
}

}  // namespace portico::policy
