#include "upstream/load_balancer.h"

#include <algorithm>
#include <atomic>
#include <numeric>
#include <utility>

namespace portico::upstream {
namespace {

std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Everything a pick mutates, for every policy (a cursor is small; one type keeps Pick simple).
class Cursor final : public LbCursor {
 public:
  Cursor(std::size_t endpoints, std::uint64_t seed)
      : rng(SplitMix64(seed) | 1), next(endpoints == 0 ? 0 : SplitMix64(seed + 1) % endpoints) {}

  // xorshift64*: a few cycles, good enough to choose two endpoints.
  std::uint64_t Random() {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
  }
  // Uniform in [0, n) without a division (Lemire's multiply-shift).
  std::size_t Below(std::size_t n) {
    return static_cast<std::size_t>((static_cast<unsigned __int128>(Random()) * n) >> 64);
  }

  std::uint64_t rng;
  std::size_t next;                   // round robin: where the next scan starts
  std::vector<std::int64_t> current;  // smooth WRR: current weights (sized on first use)
};

std::unique_ptr<LbCursor> NewSeededCursor(std::size_t endpoints) {
  // Distinct seeds per cursor, so io threads start their round robin at different endpoints.
  static std::atomic<std::uint64_t> counter{0};
  return std::make_unique<Cursor>(endpoints, counter.fetch_add(2, std::memory_order_relaxed));
}

// The first usable endpoint at or after the cursor, which then moves past it.
int PickRoundRobin(Cursor& c, const LbView& view, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = c.next + k;
    if (i >= n) i -= n;
    if (view.Usable(i)) {
      c.next = i + 1 == n ? 0 : i + 1;
      return static_cast<int>(i);
    }
  }
  return kNoEndpoint;
}

class RoundRobin final : public LoadBalancer {
 public:
  explicit RoundRobin(std::vector<LbEndpoint> endpoints) : endpoints_(std::move(endpoints)) {}
  LbKind kind() const override { return LbKind::kRoundRobin; }
  std::size_t size() const override { return endpoints_.size(); }
  std::unique_ptr<LbCursor> NewCursor() const override { return NewSeededCursor(size()); }
  int Pick(LbCursor& cursor, const LbView& view, bool, std::uint64_t) const override {
    return PickRoundRobin(static_cast<Cursor&>(cursor), view, size());
  }

 private:
  std::vector<LbEndpoint> endpoints_;
};

// Nginx's smooth weighted round robin: every usable endpoint gains its weight, the largest
// current weight wins and pays back the total. Weights 5:1:1 give a a b a c a a, not a a a a a b c.
class WeightedRoundRobin final : public LoadBalancer {
 public:
  explicit WeightedRoundRobin(std::vector<LbEndpoint> endpoints) {
    weights_.reserve(endpoints.size());
    for (const LbEndpoint& e : endpoints) weights_.push_back(std::max<std::uint32_t>(e.weight, 1));
  }
  LbKind kind() const override { return LbKind::kWeightedRoundRobin; }
  std::size_t size() const override { return weights_.size(); }
  std::unique_ptr<LbCursor> NewCursor() const override { return NewSeededCursor(size()); }
  int Pick(LbCursor& cursor, const LbView& view, bool, std::uint64_t) const override {
    std::vector<std::int64_t>& current = static_cast<Cursor&>(cursor).current;
    if (current.size() != weights_.size()) current.assign(weights_.size(), 0);
    std::int64_t total = 0;
    int best = kNoEndpoint;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      if (!view.Usable(i)) continue;
      current[i] += weights_[i];
      total += weights_[i];
      if (best == kNoEndpoint || current[i] > current[static_cast<std::size_t>(best)]) {
        best = static_cast<int>(i);
      }
    }
    if (best != kNoEndpoint) current[static_cast<std::size_t>(best)] -= total;
    return best;
  }

 private:
  std::vector<std::uint32_t> weights_;
};

// Power of two choices: of two distinct random usable endpoints, the one with fewer calls in
// flight; then the heavier; then either at random.
class LeastRequest final : public LoadBalancer {
 public:
  explicit LeastRequest(std::vector<LbEndpoint> endpoints) {
    weights_.reserve(endpoints.size());
    for (const LbEndpoint& e : endpoints) weights_.push_back(std::max<std::uint32_t>(e.weight, 1));
  }
  LbKind kind() const override { return LbKind::kLeastRequest; }
  std::size_t size() const override { return weights_.size(); }
  std::unique_ptr<LbCursor> NewCursor() const override { return NewSeededCursor(size()); }
  int Pick(LbCursor& cursor, const LbView& view, bool, std::uint64_t) const override {
    Cursor& c = static_cast<Cursor&>(cursor);
    const std::size_t n = size();
    if (n == 1) return view.Usable(0) ? 0 : kNoEndpoint;
    std::size_t a = c.Below(n);
    std::size_t b = c.Below(n - 1);
    if (b >= a) ++b;
    if (view.Usable(a) && view.Usable(b)) return Better(c, view, a, b);
    // Some endpoint is out (ejected, or tried by this call): choose among the usable ones by
    // rank, in two passes and without allocating.
    std::size_t usable = 0;
    for (std::size_t i = 0; i < n; ++i) usable += view.Usable(i) ? 1 : 0;
    if (usable == 0) return kNoEndpoint;
    std::size_t ra = c.Below(usable);
    std::size_t rb = usable == 1 ? ra : c.Below(usable - 1);
    if (usable > 1 && rb >= ra) ++rb;
    std::size_t rank = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!view.Usable(i)) continue;
      if (rank == ra) a = i;
      if (rank == rb) b = i;
      ++rank;
    }
    return a == b ? static_cast<int>(a) : Better(c, view, a, b);
  }

 private:
  int Better(Cursor& c, const LbView& view, std::size_t a, std::size_t b) const {
    std::uint32_t fa = view.InFlight(a);
    std::uint32_t fb = view.InFlight(b);
    if (fa != fb) return static_cast<int>(fa < fb ? a : b);
    if (weights_[a] != weights_[b]) return static_cast<int>(weights_[a] > weights_[b] ? a : b);
    return static_cast<int>((c.Random() >> 63) != 0 ? a : b);
  }

  std::vector<std::uint32_t> weights_;
};

// Ketama-style consistent hashing: each endpoint owns points on a 64-bit ring hashed from its
// address alone, so adding or removing one endpoint moves only the keys on its arcs (~1/N).
class RingHash final : public LoadBalancer {
 public:
  // Points per unit of weight, and the most points a ring holds (16 KiB * 12 bytes): enough
  // that each endpoint's share stays within a few percent of its weight.
  static constexpr std::size_t kPointsPerWeight = 128;
  static constexpr std::size_t kMaxRingSize = 16384;

  explicit RingHash(std::vector<LbEndpoint> endpoints) : size_(endpoints.size()) {
    std::uint64_t total_weight = 0;
    for (const LbEndpoint& e : endpoints) total_weight += std::max<std::uint32_t>(e.weight, 1);
    const bool scale = total_weight * kPointsPerWeight > kMaxRingSize;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> points;
    points.reserve(std::min<std::uint64_t>(total_weight * kPointsPerWeight, kMaxRingSize + size_));
    std::string name;
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      const std::uint64_t weight = std::max<std::uint32_t>(endpoints[i].weight, 1);
      const std::uint64_t count =
          scale ? std::max<std::uint64_t>(1, weight * kMaxRingSize / total_weight)
                : weight * kPointsPerWeight;
      for (std::uint64_t p = 0; p < count; ++p) {
        name = endpoints[i].address;
        name += '#';
        name += std::to_string(p);
        points.emplace_back(HashOf(name), static_cast<std::uint32_t>(i));
      }
    }
    std::sort(points.begin(), points.end());
    hashes_.reserve(points.size());
    owners_.reserve(points.size());
    for (const auto& [hash, owner] : points) {
      hashes_.push_back(hash);
      owners_.push_back(owner);
    }
    // next_other_[p]: the first point after p (cyclically) owned by another endpoint, so a walk
    // past an unusable endpoint skips its run of points in one step.
    const std::size_t m = owners_.size();
    next_other_.assign(m, 0);
    if (m > 0) {
      std::size_t last_change = m;  // none seen yet
      for (std::size_t k = 2 * m; k-- > 0;) {
        const std::size_t p = k % m;
        const std::size_t q = (p + 1) % m;
        if (owners_[q] != owners_[p]) last_change = q;
        if (k < m) next_other_[p] = static_cast<std::uint32_t>(last_change == m ? p : last_change);
      }
    }
  }

  LbKind kind() const override { return LbKind::kRingHash; }
  std::size_t size() const override { return size_; }
  std::unique_ptr<LbCursor> NewCursor() const override { return NewSeededCursor(size()); }

  int Pick(LbCursor& cursor, const LbView& view, bool has_hash, std::uint64_t hash) const override {
    if (!has_hash) return PickRoundRobin(static_cast<Cursor&>(cursor), view, size_);
    auto it = std::lower_bound(hashes_.begin(), hashes_.end(), hash);
    std::size_t p = it == hashes_.end() ? 0 : static_cast<std::size_t>(it - hashes_.begin());
    // Walk to the next distinct endpoint until one is usable or every endpoint was tried.
    std::uint64_t tried_small = 0;  // endpoints < 64
    std::vector<bool> tried_large;  // only for rings of more than 64 endpoints
    std::size_t tried = 0;
    while (tried < size_) {
      const std::uint32_t owner = owners_[p];
      bool seen;
      if (owner < 64) {
        seen = (tried_small >> owner) & 1U;
        tried_small |= std::uint64_t{1} << owner;
      } else {
        if (tried_large.empty()) tried_large.assign(size_, false);
        seen = tried_large[owner];
        tried_large[owner] = true;
      }
      if (!seen) {
        if (view.Usable(owner)) return static_cast<int>(owner);
        ++tried;
      }
      const std::size_t next = next_other_[p];
      if (next == p) break;  // one endpoint owns the whole ring
      p = next;
    }
    return kNoEndpoint;
  }

 private:
  std::size_t size_;
  std::vector<std::uint64_t> hashes_;  // sorted ring positions
  std::vector<std::uint32_t> owners_;  // endpoint of each position
  std::vector<std::uint32_t> next_other_;
};

}  // namespace

bool ParseLbKind(std::string_view name, LbKind* kind) {
  static constexpr std::pair<std::string_view, LbKind> kNames[] = {
      {"round_robin", LbKind::kRoundRobin},
      {"weighted_round_robin", LbKind::kWeightedRoundRobin},
      {"least_request", LbKind::kLeastRequest},
      {"ring_hash", LbKind::kRingHash},
  };
  for (const auto& [n, k] : kNames) {
    if (n == name) {
      *kind = k;
      return true;
    }
  }
  return false;
}

std::unique_ptr<LoadBalancer> MakeLoadBalancer(LbKind kind, std::vector<LbEndpoint> endpoints) {
  switch (kind) {
    case LbKind::kRoundRobin:
      return std::make_unique<RoundRobin>(std::move(endpoints));
    case LbKind::kWeightedRoundRobin:
      return std::make_unique<WeightedRoundRobin>(std::move(endpoints));
    case LbKind::kLeastRequest:
      return std::make_unique<LeastRequest>(std::move(endpoints));
    case LbKind::kRingHash:
      return std::make_unique<RingHash>(std::move(endpoints));
  }
  return nullptr;
}

// FNV-1a over the bytes, then a SplitMix64 finalizer: FNV alone leaves short keys that differ
// in the last byte close together on the ring.
std::uint64_t HashOf(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char ch : key) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  return SplitMix64(h);
}

}  // namespace portico::upstream
