// JwtVerifier::Verify per token (policy/jwt_verifier.h) with keys made by OpenSSL:
//   <alg>/full:   every call checks the signature and the claims (the cache never answers);
//   <alg>/cached: the same token again (the verifier's cache of verified tokens answers).
//
//   build-bench/bench/jwt_bench --benchmark_min_time=0.2
//
// "full" alternates between tokens that fall in the same cache slot, so each evicts the other
// and no call is served from the cache; the bench checks that (a served call returns the very
// object of an earlier call).
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "policy/jwt_verifier.h"
#include "tests/support/jwt_tokens.h"

namespace {

using portico::policy::JwkSet;
using portico::policy::JwksSource;
using portico::policy::JwtVerifier;
using portico::policy::VerifiedToken;

class Fixed : public JwksSource {
 public:
  explicit Fixed(std::shared_ptr<const JwkSet> set) : set_(std::move(set)) {}
  std::shared_ptr<const JwkSet> Current() const override { return set_; }

 private:
  std::shared_ptr<const JwkSet> set_;
};

// The verifier's cache geometry (jwt_verifier.cc): shard = hash % 16, slot = hash / 16 % 256.
std::size_t SlotOf(const std::string& token) {
  const std::size_t hash = std::hash<std::string_view>{}(token);
  return (hash % 16) * 256 + (hash / 16) % 256;
}

struct Fixture {
  std::unique_ptr<JwtVerifier> verifier;
  std::vector<std::string> colliding;  // pairs of tokens sharing a cache slot, pair by pair
  std::string one;
};

Fixture& FixtureFor(const std::string& alg) {
  static std::map<std::string, Fixture> fixtures;
  auto it = fixtures.find(alg);
  if (it != fixtures.end()) return it->second;
  Fixture& f = fixtures[alg];
  const portico::testing::TestKey key = portico::testing::MakeKey(alg, "k1");
  auto set = portico::policy::ParseJwks(portico::testing::JwksOf({&key}).dump());
  portico::registry::JwtPolicy policy;
  policy.issuer = "https://id.example";
  policy.audiences = {"orders"};
  f.verifier = std::make_unique<JwtVerifier>(policy, std::make_shared<Fixed>(*set));
  const long long exp = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() +
                        3600;
  auto token = [&](int n) {
    return portico::testing::SignJwt(key, {{"typ", "JWT"}},
                                     {{"iss", "https://id.example"},
                                      {"aud", "orders"},
                                      {"sub", "user-" + std::to_string(n)},
                                      {"scope", "orders.read orders.write"},
                                      {"exp", exp}});
  };
  f.one = token(-1);
  std::map<std::size_t, std::string> by_slot;
  for (int n = 0; f.colliding.size() < 8 && n < 20000; ++n) {
    std::string t = token(n);
    auto [at, fresh] = by_slot.emplace(SlotOf(t), t);
    if (fresh) continue;
    f.colliding.push_back(at->second);
    f.colliding.push_back(std::move(t));
    by_slot.erase(at);
  }
  return f;
}

void BM_VerifyFull(benchmark::State& state, std::string alg) {
  Fixture& f = FixtureFor(alg);
  if (f.colliding.size() < 2) return state.SkipWithError("no colliding tokens found");
  std::size_t i = 0;
  std::size_t served = 0;
  // The last 64 answers, kept alive so that their addresses are not reused: a cached answer
  // would be one of them.
  std::vector<std::shared_ptr<const VerifiedToken>> recent(64);
  for (auto _ : state) {
    auto result = f.verifier->Verify(f.colliding[i % f.colliding.size()]);
    if (!result.ok()) return state.SkipWithError(result.status().message().c_str());
    for (const auto& r : recent) served += r == *result ? 1 : 0;
    recent[i % recent.size()] = *result;
    ++i;
  }
  if (served > 0) state.SkipWithError("the cache answered in the full benchmark");
}

void BM_VerifyCached(benchmark::State& state, std::string alg) {
  Fixture& f = FixtureFor(alg);
  for (auto _ : state) {
    auto result = f.verifier->Verify(f.one);
    if (!result.ok()) return state.SkipWithError(result.status().message().c_str());
    benchmark::DoNotOptimize(result);
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_VerifyFull, RS256, std::string("RS256"));
BENCHMARK_CAPTURE(BM_VerifyCached, RS256, std::string("RS256"));
BENCHMARK_CAPTURE(BM_VerifyFull, ES256, std::string("ES256"));
BENCHMARK_CAPTURE(BM_VerifyCached, ES256, std::string("ES256"));
BENCHMARK_CAPTURE(BM_VerifyFull, EdDSA, std::string("EdDSA"));
BENCHMARK_CAPTURE(BM_VerifyFull, HS256, std::string("HS256"));
BENCHMARK_CAPTURE(BM_VerifyCached, HS256, std::string("HS256"));

BENCHMARK_MAIN();
