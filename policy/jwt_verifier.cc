#include "policy/jwt_verifier.h"

#include <array>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>

#include "policy/jwks.h"
#include "policy/jws.h"

namespace portico::policy {
namespace {

constexpr std::size_t kMaxTokenBytes = 8 * 1024;
// The cache of verified tokens: 16 shards (one lock each) of 256 direct-mapped slots; a token
// longer than kMaxCachedTokenBytes is verified every time, so the cache holds at most ~8 MiB
// of token text.
constexpr std::size_t kCacheShards = 16;
constexpr std::size_t kSlotsPerShard = 256;
constexpr std::size_t kMaxCachedTokenBytes = 2048;

double SecondsOf(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point TimeOf(double seconds) {
  using Clock = std::chrono::system_clock;
  const double max = std::chrono::duration<double>(Clock::duration::max()).count();
  if (seconds >= max) return Clock::time_point::max();
  if (seconds <= -max) return Clock::time_point::min();
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

// A NumericDate claim: nullopt when absent; false when present but not a finite number.
bool NumericDate(const nlohmann::json& claims, const char* name, std::optional<double>* out) {
  auto it = claims.find(name);
  if (it == claims.end()) return true;
  if (!it->is_number()) return false;
  const double value = it->get<double>();
  if (!std::isfinite(value)) return false;
  *out = value;
  return true;
}

void AddScopes(std::string_view text, std::vector<std::string>* scopes) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find(' ', at), text.size());
    if (end > at) scopes->emplace_back(text.substr(at, end - at));
    at = end + 1;
  }
}

// A decoded JSON object from a base64url segment; discarded (not an object) on any failure.
nlohmann::json DecodeObject(std::string_view segment, bool* base64_ok) {
  std::string text;
  *base64_ok = DecodeBase64Url(segment, &text);
  if (!*base64_ok) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

struct JwtVerifier::Impl {
  registry::JwtPolicy policy;
  std::shared_ptr<JwksSource> keys;

  struct Slot {
    std::size_t hash = 0;
    std::string token;
    std::shared_ptr<const VerifiedToken> result;  // null: empty slot
    double valid_from = 0;   // nbf - leeway, in seconds since the epoch
    double valid_until = 0;  // exp + leeway
  };
  // Slots are allocated at a shard's first store: a verifier that sees few tokens stays small.
  struct Shard {
    std::mutex mu;
    std::shared_ptr<const JwkSet> keys;  // the set the slots were verified with
    std::unique_ptr<std::array<Slot, kSlotsPerShard>> slots;
  };
  mutable std::array<Shard, kCacheShards> shards;

  // The whole check, no cache. On success *valid_from/*valid_until bound the times at which
  // the same answer holds.
  StatusOr<std::shared_ptr<const VerifiedToken>> Check(std::string_view token,
                                                       const JwkSet& set, double now,
                                                       double* valid_from,
                                                       double* valid_until) const;
};

StatusOr<std::shared_ptr<const VerifiedToken>> JwtVerifier::Impl::Check(
    std::string_view token, const JwkSet& set, double now, double* valid_from,
    double* valid_until) const {
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("token is not a compact JWS (three dot-separated parts)");
  }
  const std::string_view header_part = token.substr(0, dot1);
  const std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signing_input = token.substr(0, dot2);
  const std::string_view signature_part = token.substr(dot2 + 1);

  bool base64_ok = false;
  const nlohmann::json header = DecodeObject(header_part, &base64_ok);
  if (!base64_ok) return Unauthenticated("token header is not base64url");
  if (!header.is_object()) return Unauthenticated("token header is not a JSON object");
  auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) return Unauthenticated("token header has no alg");
  const std::string& alg_name = alg_it->get_ref<const std::string&>();
  if (alg_name == "none") return Unauthenticated("alg \"none\" is not accepted");
  const std::optional<JwsAlg> alg = ParseJwsAlg(alg_name);
  if (!alg) return Unauthenticated("alg " + BoundedQuote(alg_name) + " is not supported");
  if (header.contains("crit")) return Unauthenticated("token header \"crit\" is not supported");
  auto kid_it = header.find("kid");
  if (kid_it != header.end() && !kid_it->is_string()) return Unauthenticated("kid is not a string");

  std::string signature;
  if (!DecodeBase64Url(signature_part, &signature)) {
    return Unauthenticated("token signature is not base64url");
  }

  // kid picks the key; without one, every key of a fitting type is tried.
  bool kid_known = false;
  bool any_fits = false;
  bool verified = false;
  for (const Jwk& key : set.keys()) {
    if (kid_it != header.end()) {
      if (key.kid != kid_it->get_ref<const std::string&>()) continue;
      kid_known = true;
    }
    if (!AlgFitsKey(*alg, key)) continue;
    any_fits = true;
    if (VerifyJwsSignature(*alg, key, signing_input, signature)) {
      verified = true;
      break;
    }
  }
  if (kid_it != header.end() && !kid_known) {
    return Unauthenticated("unknown kid " + BoundedQuote(kid_it->get_ref<const std::string&>()));
  }
  if (!any_fits) {
    return Unauthenticated("no key fits alg " + BoundedQuote(alg_name) +
                  (kid_it != header.end()
                       ? " and kid " + BoundedQuote(kid_it->get_ref<const std::string&>())
                       : ""));
  }
  if (!verified) return Unauthenticated("signature does not verify");

  nlohmann::json claims = DecodeObject(payload_part, &base64_ok);
  if (!base64_ok) return Unauthenticated("token payload is not base64url");
  if (!claims.is_object()) return Unauthenticated("token payload is not a JSON object");

  const double leeway = std::chrono::duration<double>(policy.leeway).count();
  std::optional<double> exp, nbf;
  if (!NumericDate(claims, "exp", &exp)) return Unauthenticated("exp is not a number");
  if (!NumericDate(claims, "nbf", &nbf)) return Unauthenticated("nbf is not a number");
  *valid_until = exp ? *exp + leeway : std::numeric_limits<double>::infinity();
  *valid_from = nbf ? *nbf - leeway : -std::numeric_limits<double>::infinity();
  if (now >= *valid_until) return Unauthenticated("token expired");
  if (now < *valid_from) return Unauthenticated("token not yet valid");

  if (!policy.issuer.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string()) return Unauthenticated("token has no iss");
    if (iss->get_ref<const std::string&>() != policy.issuer) {
      return Unauthenticated("issuer " + BoundedQuote(iss->get_ref<const std::string&>()) +
                    " not accepted");
    }
  }
  if (!policy.audiences.empty()) {
    auto aud = claims.find("aud");
    if (aud == claims.end()) return Unauthenticated("token has no aud");
    auto accepted = [&](const nlohmann::json& value) {
      if (!value.is_string()) return false;
      for (const std::string& want : policy.audiences) {
        if (value.get_ref<const std::string&>() == want) return true;
      }
      return false;
    };
    bool ok = accepted(*aud);
    if (aud->is_array()) {
      for (const nlohmann::json& one : *aud) ok = ok || accepted(one);
    }
    if (!ok) return Unauthenticated("audience not accepted");
  }

  auto token_out = std::make_shared<VerifiedToken>();
  if (auto sub = claims.find("sub"); sub != claims.end()) {
    if (!sub->is_string()) return Unauthenticated("sub is not a string");
    token_out->subject = sub->get<std::string>();
  }
  if (auto scope = claims.find("scope"); scope != claims.end() && scope->is_string()) {
    AddScopes(scope->get_ref<const std::string&>(), &token_out->scopes);
  }
  if (auto scp = claims.find("scp"); scp != claims.end()) {
    if (scp->is_string()) AddScopes(scp->get_ref<const std::string&>(), &token_out->scopes);
    if (scp->is_array()) {
      for (const nlohmann::json& one : *scp) {
        if (one.is_string()) token_out->scopes.push_back(one.get<std::string>());
      }
    }
  }
  token_out->expires = exp ? TimeOf(*exp) : std::chrono::system_clock::time_point::max();
  token_out->claims = std::move(claims);
  return std::shared_ptr<const VerifiedToken>(std::move(token_out));
}

JwtVerifier::JwtVerifier(registry::JwtPolicy policy, std::shared_ptr<JwksSource> keys)
    : impl_(std::make_unique<Impl>()) {
  impl_->policy = std::move(policy);
  impl_->keys = std::move(keys);
}

JwtVerifier::~JwtVerifier() = default;

StatusOr<std::shared_ptr<const VerifiedToken>> JwtVerifier::Verify(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  if (token.empty()) return Unauthenticated("empty token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token larger than 8 KiB");
  std::shared_ptr<const JwkSet> set = impl_->keys ? impl_->keys->Current() : nullptr;
  if (!set) return Unauthenticated("no JWKS loaded yet");
  const double now_s = SecondsOf(now);

  const bool cacheable = token.size() <= kMaxCachedTokenBytes;
  const std::size_t hash = std::hash<std::string_view>{}(token);
  Impl::Shard& shard = impl_->shards[hash % kCacheShards];
  const std::size_t index = (hash / kCacheShards) % kSlotsPerShard;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.keys != set) {  // keys changed: nothing verified with the old set holds
      shard.slots.reset();
      shard.keys = set;
    }
    if (shard.slots) {
      const Impl::Slot& slot = (*shard.slots)[index];
      if (slot.result && slot.hash == hash && slot.token == token && now_s >= slot.valid_from &&
          now_s < slot.valid_until) {
        return slot.result;
      }
    }
  }

  double valid_from = 0, valid_until = 0;
  StatusOr<std::shared_ptr<const VerifiedToken>> result =
      impl_->Check(token, *set, now_s, &valid_from, &valid_until);
  if (cacheable && result.ok()) {
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.keys == set) {
      if (!shard.slots) shard.slots = std::make_unique<std::array<Impl::Slot, kSlotsPerShard>>();
      Impl::Slot& slot = (*shard.slots)[index];
      slot.hash = hash;
      slot.token.assign(token);
      slot.result = *result;
      slot.valid_from = valid_from;
      slot.valid_until = valid_until;
    }
  }
  return result;
}

}  // namespace portico::policy
