#include "policy/chain.h"

#include <sstream>

#include "policy/header_tokens.h"
#include "policy/rbac.h"
#include "registry/backend_config.h"

namespace portico::policy {
namespace {

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// "host[:port]" split at the port's colon (IPv6 hosts are bracketed); port "" when absent.
std::pair<std::string_view, std::string_view> SplitAuthority(std::string_view authority) {
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || authority.find(']', colon) != std::string_view::npos) {
    return {authority, ""};
  }
  return {authority.substr(0, colon), authority.substr(colon + 1)};
}

// Whether a Cache-Control header holds `directive` as one of its comma-separated tokens.
bool HasDirective(std::string_view header, std::string_view directive) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == directive.size() && StartsWithNoCase(item, directive)) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

std::string Seconds(std::chrono::milliseconds ms) {
  return std::to_string((ms.count() + 999) / 1000);
}

// A value for a metadata entry: string claims as they are, others as their JSON text.
std::string ClaimText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// What the chain still needs after an asynchronous rate-limit check.
struct Rest {
  const RoutePolicies* route;
  RejectionCounters* counters;
  Admission admission;
  std::function<void(Admission)> done;
};

void Refuse(Admission& a, RejectionCounters& counters, RejectKind kind, Status status) {
  counters.Count(kind);
  a.outcome = Admission::Outcome::kRefuse;
  a.kind = kind;
  a.status = std::move(status);
  a.metadata.clear();
}

// The steps after the rate limit: its headers or refusal, then the concurrency limit.
void Finish(Rest rest, const RateDecision* rate) {
  Admission& a = rest.admission;
  if (rate != nullptr) {
    const auto& spec = *rest.route->rate_limit->config.rate_limit;
    a.headers.emplace_back("RateLimit-Limit", std::to_string(rate->limit));
    a.headers.emplace_back("RateLimit-Remaining", std::to_string(rate->remaining));
    a.headers.emplace_back("RateLimit-Reset", Seconds(rate->reset));
    if (!rate->allowed) {
      a.headers.emplace_back("Retry-After", Seconds(std::max(rate->retry_after,
                                                             std::chrono::milliseconds(1))));
      std::ostringstream rate_text;
      rate_text << spec.rate;
      Refuse(a, *rest.counters, RejectKind::kRateLimit,
             Status(Code::kResourceExhausted,
                    "rate limit of " + rate_text.str() + " per " +
                        registry::FormatDuration(spec.per) + " exceeded (policy " +
                        registry::QuoteValue(rest.route->rate_limit->config.name) + ")"));
      return rest.done(std::move(a));
    }
  }
  if (const CompiledPolicy* p = rest.route->concurrency) {
    const std::uint32_t max = *p->config.max_concurrency;
    if (p->in_flight->fetch_add(1, std::memory_order_acq_rel) >= max) {
      p->in_flight->fetch_sub(1, std::memory_order_acq_rel);
      Refuse(a, *rest.counters, RejectKind::kConcurrency,
             Unavailable("too many calls in flight on this route (max_concurrency " +
                         std::to_string(max) + ", policy " + registry::QuoteValue(p->config.name) +
                         ")"));
      return rest.done(std::move(a));
    }
    a.ticket = std::make_shared<ConcurrencyTicket>(p->in_flight);
  }
  rest.done(std::move(a));
}

// The key of a request's bucket; `client` when the key's source is absent.
std::string BucketKey(const registry::RateLimitPolicy& limit, const std::string& client,
                      const std::string& api_key_id, const VerifiedToken* token,
                      const HeaderSource& headers) {
  if (limit.key == "global") return "global";
  if (limit.key == "api_key" && !api_key_id.empty()) return "key:" + api_key_id;
  if (limit.key == "jwt_sub" && token != nullptr && !token->subject.empty()) {
    return "sub:" + token->subject;
  }
  if (limit.key.rfind("header:", 0) == 0) {
    const std::string_view value = headers.Get(std::string_view(limit.key).substr(7));
    if (!value.empty()) return "h:" + std::string(value.substr(0, 256));
  }
  return "ip:" + client;
}

}  // namespace

bool SameHost(std::string_view origin, std::string_view host) {
  const auto sep = origin.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string scheme = AsciiLowered(origin.substr(0, sep));
  std::string_view authority = origin.substr(sep + 3);
  if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  auto [origin_name, origin_port] = SplitAuthority(authority);
  const std::string_view default_port = scheme == "http" ? "80" : scheme == "https" ? "443" : "";
  if (origin_port.empty()) origin_port = default_port;
  const auto [host_name, host_port] = SplitAuthority(host);
  if (origin_name.empty() || AsciiLowered(origin_name) != AsciiLowered(host_name)) return false;
  // A Host without a port is the scheme's default one.
  return host_port.empty() ? !origin_port.empty() && origin_port == default_port
                           : origin_port == host_port;
}

bool IsPreflight(const RequestFacts& facts) {
  return facts.http_method == "OPTIONS" && !facts.headers->Get("origin").empty() &&
         !facts.headers->Get("access-control-request-method").empty();
}

void Admit(const RoutePolicies& route, const RequestFacts& facts, RejectionCounters& counters,
           std::function<void(Admission)> done) {
  if (route.empty()) return done(Admission{});
  const HeaderSource& h = *facts.headers;
  Admission a;
  auto refuse = [&](RejectKind kind, Status status) {
    Refuse(a, counters, kind, std::move(status));
    done(std::move(a));
  };

  if (const CompiledPolicy* p = route.cors; p != nullptr && !facts.websocket) {
    const std::string_view origin = h.Get("origin");
    if (IsPreflight(facts)) {
      bool allowed = false;
      a.headers = p->cors->Preflight(origin, h.Get("access-control-request-method"),
                                     h.Get("access-control-request-headers"), &allowed);
      if (!allowed) {
        return refuse(RejectKind::kCors,
                      PermissionDenied("CORS preflight refused: origin, method or headers not "
                                       "allowed (policy " +
                                       registry::QuoteValue(p->config.name) + ")"));
      }
      a.outcome = Admission::Outcome::kPreflight;
      return done(std::move(a));
    }
    if (!origin.empty()) {
      // A page of another site is refused outright rather than only kept from reading the
      // reply: the call itself may change things.
      if (!p->cors->OriginAllowed(origin) && !SameHost(origin, h.Get("host"))) {
        a.headers.emplace_back("Vary", "Origin");
        return refuse(RejectKind::kCors,
                      PermissionDenied("origin " + registry::QuoteValue(origin.substr(0, 128)) +
                                       " is not allowed (policy " +
                                       registry::QuoteValue(p->config.name) + ")"));
      }
      a.headers = p->cors->ReplyHeaders(origin);
    }
  }

  std::string client(facts.peer);
  if (const CompiledPolicy* p = route.ip) {
    client = p->ip->ClientAddress(facts.peer, h.Get("x-forwarded-for"));
    if (!p->ip->Allowed(client)) {
      return refuse(RejectKind::kIp, PermissionDenied("client address " +
                                                      registry::QuoteValue(client) +
                                                      " is not allowed"));
    }
  }
  // (Without an ip policy, rate limits by ip count the TCP peer: X-Forwarded-For is believed
  // only from the trusted proxies an ip policy names.)

  bool authenticated = !h.Get("authorization").empty();
  std::string api_key_id;
  if (const CompiledPolicy* p = route.api_key) {
    const auto& cfg = *p->config.api_key;
    const std::string presented =
        p->api_key->Presented(cfg.header.empty() ? std::string_view() : h.Get(cfg.header),
                              facts.query);
    const std::string* id = presented.empty() ? nullptr : p->api_key->Lookup(presented);
    if (id == nullptr) {
      a.headers.emplace_back("WWW-Authenticate", "ApiKey");
      return refuse(RejectKind::kApiKey,
                    Unauthenticated(presented.empty() ? "an API key is required"
                                                      : "the API key is not valid"));
    }
    api_key_id = *id;
    if (!cfg.forward_as.empty()) a.metadata.emplace_back(cfg.forward_as, *id);
    authenticated = true;
  }

  if (const CompiledPolicy* p = route.hmac) {
    if (!facts.body_complete) {
      return refuse(RejectKind::kHmac,
                    Unauthenticated("HMAC-signed requests need their whole body; this call "
                                    "streams it (client streams and WebSocket calls cannot be "
                                    "signed)"));
    }
    SignedRequest signed_request{facts.http_method,
                                 facts.target,
                                 h.Get(kHmacKeyIdHeader),
                                 h.Get(kHmacDateHeader),
                                 h.Get(kHmacContentHeader),
                                 h.Get(kHmacSignatureHeader),
                                 facts.body};
    auto key_id = p->hmac->Verify(signed_request);
    if (!key_id.ok()) {
      a.headers.emplace_back("WWW-Authenticate", "HMAC-SHA256");
      return refuse(RejectKind::kHmac, key_id.status());
    }
    if (!p->config.hmac->forward_as.empty()) {
      a.metadata.emplace_back(p->config.hmac->forward_as, *key_id);
    }
    authenticated = true;
  }

  std::shared_ptr<const VerifiedToken> token;
  if (const CompiledPolicy* p = route.jwt) {
    const std::string_view auth = h.Get("authorization");
    if (!StartsWithNoCase(auth, "bearer ")) {
      a.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"portico\"");
      return refuse(RejectKind::kJwt, Unauthenticated("a bearer token is required"));
    }
    std::string_view jws = auth.substr(7);
    while (!jws.empty() && jws.front() == ' ') jws.remove_prefix(1);
    auto verified = p->jwt->Verify(jws);
    if (!verified.ok()) {
      std::string description = verified.status().message();
      for (auto& c : description) {
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '\'';
      }
      a.headers.emplace_back("WWW-Authenticate",
                             "Bearer realm=\"portico\", error=\"invalid_token\", "
                             "error_description=\"" + description + "\"");
      return refuse(RejectKind::kJwt, verified.status());
    }
    token = std::move(*verified);
    for (const auto& [claim, key] : p->config.jwt->forward_claims) {
      auto it = token->claims.find(claim);
      if (it != token->claims.end() && !it->is_null()) a.metadata.emplace_back(key, ClaimText(*it));
    }
    authenticated = true;
  }

  if (const CompiledPolicy* p = route.rbac) {
    Status s = CheckRbac(*p->config.rbac, token.get());
    if (!s.ok()) return refuse(RejectKind::kRbac, std::move(s));
  }

  if (const CompiledPolicy* p = route.cache;
      p != nullptr && facts.http_method == "GET" &&
      (!authenticated || p->config.cache->cache_authenticated)) {
    const std::string_view control = h.Get("cache-control");
    if (!HasDirective(control, "no-store")) {
      a.cache = p;
      a.cache_lookup = !HasDirective(control, "no-cache");
    }
  }

  Rest rest{&route, &counters, std::move(a), std::move(done)};
  const CompiledPolicy* limit = route.rate_limit;
  if (limit == nullptr) return Finish(std::move(rest), nullptr);
  std::string key = BucketKey(*limit->config.rate_limit, client, api_key_id, token.get(), h);
  if (!limit->shared) {
    const RateDecision decision = limit->buckets->Take(key);
    return Finish(std::move(rest), &decision);
  }
  std::string shared_key = limit->config.name + "\n" + key;
  limit->shared->Take(shared_key, *limit->rate,
                      [rest = std::move(rest), key = std::move(key), limit](
                          std::optional<RateDecision> decision) mutable {
                        if (!decision) {
                          // Redis could not answer: this replica's own buckets decide.
                          rest.counters->CountSharedFallback();
                          decision = limit->buckets->Take(key);
                        }
                        Finish(std::move(rest), &*decision);
                      });
}

}  // namespace portico::policy
