#include "upstream/dns_resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>

#include "registry/backend_config.h"

namespace portico::upstream {

struct DnsResolver::State {
  struct __res_state res;
  bool inited = false;
};

namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxNameLength = 253;
constexpr milliseconds kMinTtl{1000};

Status Cancelled() { return Status(Code::kCancelled, "lookup cancelled"); }

bool IsCancelled(const std::atomic<bool>* cancel) {
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength ||
      name.find('\0') != std::string_view::npos) {
    return InvalidArgument("invalid DNS name " + registry::QuoteValue(name));
  }
  return OkStatus();
}

const char* TypeName(int type) {
  switch (type) {
    case ns_t_a:
      return "A";
    case ns_t_aaaa:
      return "AAAA";
    default:
      return "SRV";
  }
}

// One answer, parsed by libresolv's ns_* functions.
struct Answer {
  std::vector<unsigned char> bytes;
  ns_msg msg{};
};

// Runs one query. NotFound for NXDOMAIN or no records of the type, Unavailable otherwise.
Status Query(res_state res, const std::string& name, int type, Answer* answer) {
  answer->bytes.resize(65536);
  const int n = res_nquery(res, name.c_str(), ns_c_in, type, answer->bytes.data(),
                           static_cast<int>(answer->bytes.size()));
  const std::string what = std::string(TypeName(type)) + " " + registry::QuoteValue(name) + ": ";
  if (n < 0) {
    switch (res->res_h_errno) {
      case HOST_NOT_FOUND:
        return NotFound(what + "no such name");
      case NO_DATA:
        return NotFound(what + "no records");
      case TRY_AGAIN:
        return Unavailable(what + "no answer from the name servers (timeout or SERVFAIL)");
      default:
        return Unavailable(what + "the name servers refused or failed");
    }
  }
  // A longer answer than the buffer is cut; ns_initparse then sees a consistent prefix or fails.
  const int len = std::min(n, static_cast<int>(answer->bytes.size()));
  if (ns_initparse(answer->bytes.data(), len, &answer->msg) < 0) {
    return Unavailable(what + "malformed answer");
  }
  return OkStatus();
}

// Calls fn(rr) for each answer record; tracks the smallest TTL. False on a malformed record.
template <typename Fn>
bool ForEachAnswer(Answer& answer, milliseconds* min_ttl, Fn fn) {
  const int count = ns_msg_count(answer.msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&answer.msg, ns_s_an, i, &rr) < 0) return false;
    if (ns_rr_class(rr) != ns_c_in) continue;
    const milliseconds ttl = std::chrono::seconds(ns_rr_ttl(rr));
    if (*min_ttl == milliseconds::zero() || ttl < *min_ttl) *min_ttl = ttl;
    fn(rr);
  }
  return true;
}

void SortUnique(std::vector<std::string>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

StatusOr<std::vector<std::string>> GetAddrInfo(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    const std::string message = "getaddrinfo " + registry::QuoteValue(host) + ": " + gai_strerror(rc);
    if (rc == EAI_NONAME || rc == EAI_NODATA) return NotFound(message);
    return Unavailable(message);
  }
  std::vector<std::string> ips;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, text,
                sizeof text);
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, text,
                sizeof text);
    } else {
      continue;
    }
    ips.emplace_back(text);
  }
  freeaddrinfo(list);
  if (ips.empty()) return NotFound("getaddrinfo " + registry::QuoteValue(host) + ": no addresses");
  SortUnique(&ips);
  return ips;
}

StatusOr<sockaddr_in> ParseDnsServer(std::string_view server) {
  StatusOr<registry::HostPort> hp = registry::ParseHostPort(server);
  if (!hp.ok()) return InvalidArgument("DNS server: " + hp.status().message());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, hp->host.c_str(), &addr.sin_addr) != 1 || hp->port == 0) {
    return InvalidArgument("DNS server " + registry::QuoteValue(server) +
                           ": expected an IPv4 address and a port 1..65535");
  }
  addr.sin_port = htons(hp->port);
  return addr;
}

}  // namespace

Status CheckDnsServer(std::string_view server) { return ParseDnsServer(server).status(); }

std::string JoinIpPort(std::string_view ip, std::uint16_t port) {
  if (ip.find(':') != std::string_view::npos) {
    return "[" + std::string(ip) + "]:" + std::to_string(port);
  }
  return std::string(ip) + ":" + std::to_string(port);
}

std::string NormalizeIp(std::string_view host) {
  const std::string text(host);
  char out[INET6_ADDRSTRLEN] = {};
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return inet_ntop(AF_INET, &v4, out, sizeof out) ? std::string(out) : std::string();
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return inet_ntop(AF_INET6, &v6, out, sizeof out) ? std::string(out) : std::string();
  }
  return "";
}

DnsResolver::DnsResolver(DnsResolverOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {}

DnsResolver::~DnsResolver() {
  if (state_->inited) res_nclose(&state_->res);
}

// Reads /etc/resolv.conf again on every lookup, so that an edit of it applies, then puts the
// configured name servers in its place.
Status DnsResolver::Init() {
  std::vector<sockaddr_in> servers;
  for (const std::string& s : options_.servers) {
    StatusOr<sockaddr_in> addr = ParseDnsServer(s);
    if (!addr.ok()) return addr.status();
    if (servers.size() < MAXNS) servers.push_back(*addr);
  }
  if (state_->inited) res_nclose(&state_->res);
  std::memset(&state_->res, 0, sizeof state_->res);
  state_->inited = true;
  if (res_ninit(&state_->res) != 0) return Unavailable("res_ninit failed");
  res_state res = &state_->res;
  res->retrans = static_cast<int>(std::max<std::int64_t>(1, options_.timeout.count()));
  res->retry = std::max(1, options_.attempts);
  res->options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
  if (!servers.empty()) {
    for (std::size_t i = 0; i < servers.size(); ++i) res->nsaddr_list[i] = servers[i];
    res->nscount = static_cast<int>(servers.size());
  }
  return OkStatus();
}

StatusOr<HostAddresses> DnsResolver::LookupHost(std::string_view host,
                                                const std::atomic<bool>* cancel) {
  if (std::string ip = NormalizeIp(host); !ip.empty()) {
    return HostAddresses{{ip}, options_.default_ttl, false};
  }
  if (Status s = CheckName(host); !s.ok()) return s;
  if (Status s = Init(); !s.ok()) return s;
  const std::string name(host);
  HostAddresses result;
  milliseconds ttl{0};
  Status dns_error;
  for (int type : {ns_t_a, ns_t_aaaa}) {
    if (IsCancelled(cancel)) return Cancelled();
    Answer answer;
    Status s = Query(&state_->res, name, type, &answer);
    if (!s.ok()) {
      if (dns_error.ok() || dns_error.code() == Code::kNotFound) dns_error = s;
      if (s.code() == Code::kUnavailable) break;  // a server that failed A fails AAAA too
      continue;
    }
    const int want_len = type == ns_t_a ? 4 : 16;
    const int family = type == ns_t_a ? AF_INET : AF_INET6;
    const bool parsed = ForEachAnswer(answer, &ttl, [&](const ns_rr& rr) {
      if (ns_rr_type(rr) != type || ns_rr_rdlen(rr) != want_len) return;
      char text[INET6_ADDRSTRLEN] = {};
      if (inet_ntop(family, ns_rr_rdata(rr), text, sizeof text)) result.ips.emplace_back(text);
    });
    if (!parsed) dns_error = Unavailable(std::string(TypeName(type)) + " " +
                                         registry::QuoteValue(name) + ": malformed record");
  }
  if (!result.ips.empty()) {
    SortUnique(&result.ips);
    result.ttl = std::max(ttl, kMinTtl);
    return result;
  }
  // DNS has no address for it: the system's own view (/etc/hosts, nsswitch) may.
  if (IsCancelled(cancel)) return Cancelled();
  StatusOr<std::vector<std::string>> ips = GetAddrInfo(name);
  if (ips.ok()) return HostAddresses{std::move(*ips), options_.default_ttl, false};
  if (dns_error.ok()) return ips.status();
  const Code code = dns_error.code() == Code::kUnavailable ? Code::kUnavailable
                                                             : ips.status().code();
  return Status(code, dns_error.message() + "; " + ips.status().message());
}

StatusOr<SrvRecords> DnsResolver::LookupSrv(std::string_view name,
                                            const std::atomic<bool>* cancel) {
  if (Status s = CheckName(name); !s.ok()) return s;
  if (Status s = Init(); !s.ok()) return s;
  if (IsCancelled(cancel)) return Cancelled();
  const std::string query(name);
  Answer answer;
  if (Status s = Query(&state_->res, query, ns_t_srv, &answer); !s.ok()) return s;
  struct Record {
    std::uint16_t priority;
    SrvTarget target;
  };
  std::vector<Record> records;
  milliseconds ttl{0};
  const bool parsed = ForEachAnswer(answer, &ttl, [&](const ns_rr& rr) {
    if (ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7) return;
    const unsigned char* rdata = ns_rr_rdata(rr);
    char target[NS_MAXDNAME] = {};
    if (ns_name_uncompress(ns_msg_base(answer.msg), ns_msg_end(answer.msg), rdata + 6, target,
                           sizeof target) < 0) {
      return;
    }
    std::string host(target);
    if (!host.empty() && host.back() == '.') host.pop_back();
    if (host.empty()) return;  // "." : the service is decidedly not available here
    const auto priority = static_cast<std::uint16_t>(ns_get16(rdata));
    const auto weight = static_cast<std::uint32_t>(ns_get16(rdata + 2));
    const auto port = static_cast<std::uint16_t>(ns_get16(rdata + 4));
    records.push_back({priority, {std::move(host), port, weight == 0 ? 1u : weight}});
  });
  if (!parsed) return Unavailable("SRV " + registry::QuoteValue(query) + ": malformed record");
  if (records.empty()) return NotFound("SRV " + registry::QuoteValue(query) + ": no usable targets");
  std::uint16_t lowest = std::numeric_limits<std::uint16_t>::max();
  for (const Record& r : records) lowest = std::min(lowest, r.priority);
  SrvRecords result;
  for (Record& r : records) {
    if (r.priority == lowest) result.targets.push_back(std::move(r.target));
  }
  std::sort(result.targets.begin(), result.targets.end(), [](const SrvTarget& a, const SrvTarget& b) {
    return std::tie(a.target, a.port) < std::tie(b.target, b.port);
  });
  result.targets.erase(std::unique(result.targets.begin(), result.targets.end(),
                                   [](const SrvTarget& a, const SrvTarget& b) {
                                     return a.target == b.target && a.port == b.port;
                                   }),
                       result.targets.end());
  result.ttl = std::max(ttl, kMinTtl);
  return result;
}

}  // namespace portico::upstream
