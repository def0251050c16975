#include "policy/rate_limiter.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace portico::policy {
namespace {

// Tokens are doubles: a bucket short of a whole token by less than this (rounding of
// elapsed * rate / per) counts as holding it.
constexpr double kEpsilon = 1e-9;
// Waits are capped (a rate of 1e-300 per ms would overflow the conversion).
constexpr double kMaxWaitMs = 1e12;
constexpr std::uint32_t kNil = 0xffffffffu;

// FNV-1a over the bytes, then a splitmix64 finalizer so that both the high bits (the shard)
// and the low bits (the slot) are well mixed.
std::uint64_t HashKey(std::string_view key) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

// ceil(ms), at least `floor_ms`, capped.
std::chrono::milliseconds CeilMs(double ms, std::int64_t floor_ms) {
  if (!(ms < kMaxWaitMs)) ms = kMaxWaitMs;  // also NaN
  // 200.0000000001 ms (rounding of the division) is 200 ms, not 201.
  const auto whole = static_cast<std::int64_t>(std::ceil(ms - 1e-6));
  return std::chrono::milliseconds(std::max(whole, floor_ms));
}

// One key's bucket. The key itself is not kept: its 64-bit hash stands for it (two keys would
// have to collide in 64 bits to share a bucket).
struct Entry {
  std::uint64_t hash = 0;
  double tokens = 0;
  std::int64_t last_ns = 0;  // steady_clock time of `tokens`
  std::uint32_t prev = kNil;  // LRU list: towards the most recently used
  std::uint32_t next = kNil;  // towards the least recently used
};

// A fixed array of entries with an open-addressing index (linear probing, backward-shift
// deletion) and an intrusive LRU list; all sized once, so Take never allocates. The arrays
// belong to LocalBuckets. Aligned so that two shards' mutexes never share a cache line.
class alignas(64) Shard {
 public:
  // `index` holds 2 * capacity rounded up to a power of two slots, all zero.
  Shard(Entry* entries, std::uint32_t* index, std::uint32_t capacity)
      : capacity_(capacity),
        entries_(entries),
        index_(index),
        mask_(IndexSize(capacity) - 1) {}

  static std::size_t IndexSize(std::uint32_t capacity) {
    return std::bit_ceil(std::size_t{capacity} * 2);
  }

  // The entry of `hash`, created (full) if absent, evicting the least recently used when the
  // shard is full; moved to the front of the LRU list. `fresh` says it was created.
  Entry& Find(std::uint64_t hash, bool* fresh) {
    std::size_t slot = hash & mask_;
    while (index_[slot] != 0) {
      const std::uint32_t e = index_[slot] - 1;
      if (entries_[e].hash == hash) {
        Touch(e);
        *fresh = false;
        return entries_[e];
      }
      slot = (slot + 1) & mask_;
    }
    std::uint32_t e;
    if (used_ < capacity_) {
      e = used_++;
    } else {
      e = tail_;
      Unlink(e);
      Erase(entries_[e].hash);
      // Erase may have shifted entries into the probe sequence: look for a free slot again.
      slot = hash & mask_;
      while (index_[slot] != 0) slot = (slot + 1) & mask_;
    }
    index_[slot] = e + 1;
    entries_[e] = Entry{.hash = hash};
    PushFront(e);
    *fresh = true;
    return entries_[e];
  }

  std::mutex mu;

 private:
  void Erase(std::uint64_t hash) {
    std::size_t i = hash & mask_;
    while (entries_[index_[i] - 1].hash != hash) i = (i + 1) & mask_;
    std::size_t j = i;
    while (true) {
      j = (j + 1) & mask_;
      if (index_[j] == 0) break;
      const std::size_t home = entries_[index_[j] - 1].hash & mask_;
      // The entry at j may move back to i unless its home lies cyclically in (i, j].
      const bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        index_[i] = index_[j];
        i = j;
      }
    }
    index_[i] = 0;
  }

  void Unlink(std::uint32_t e) {
    Entry& x = entries_[e];
    if (x.prev != kNil) entries_[x.prev].next = x.next; else head_ = x.next;
    if (x.next != kNil) entries_[x.next].prev = x.prev; else tail_ = x.prev;
    x.prev = x.next = kNil;
  }

  void PushFront(std::uint32_t e) {
    entries_[e].prev = kNil;
    entries_[e].next = head_;
    if (head_ != kNil) entries_[head_].prev = e;
    head_ = e;
    if (tail_ == kNil) tail_ = e;
  }

  void Touch(std::uint32_t e) {
    if (head_ == e) return;
    Unlink(e);
    PushFront(e);
  }

  const std::uint32_t capacity_;
  Entry* const entries_;
  std::uint32_t* const index_;  // entry + 1; 0 = free
  const std::size_t mask_;
  std::uint32_t used_ = 0;
  std::uint32_t head_ = kNil, tail_ = kNil;
};

}  // namespace

RateSpec RateSpec::Of(const registry::RateLimitPolicy& policy) {
  RateSpec spec;
  spec.rate = policy.rate;
  spec.per = policy.per;
  spec.burst = policy.burst;
  if (spec.burst == 0 && policy.rate > 0) {
    const double c = std::ceil(policy.rate);
    spec.burst = c >= 4294967295.0 ? 4294967295u : static_cast<std::uint32_t>(c);
  }
  return spec;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

struct LocalBuckets::Impl {
  RateSpec spec;
  double per_ns = 1e9;
  int shard_shift = 64;  // shard = hash >> shard_shift (64: one shard)
  // calloc'd in one block each: a large block comes as fresh zero pages, so memory becomes
  // resident only as keys arrive (40 bytes a key at most).
  std::unique_ptr<Entry[], FreeDeleter> entries;
  std::unique_ptr<std::uint32_t[], FreeDeleter> index;
  std::vector<std::unique_ptr<Shard>> shards;
};

LocalBuckets::LocalBuckets(RateSpec spec, std::size_t max_keys) : impl_(std::make_unique<Impl>()) {
  impl_->spec = spec;
  impl_->per_ns = static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::max(spec.per, std::chrono::milliseconds(1)))
          .count());
  max_keys = std::clamp<std::size_t>(max_keys, 1, std::size_t{1} << 30);
  // Up to 16 shards for less lock contention, but at least 64 keys each so that a small table
  // keeps an (almost) exact LRU order rather than 16 tiny ones.
  std::size_t shards = 1;
  while (shards < 16 && max_keys / (shards * 2) >= 64) shards *= 2;
  impl_->shard_shift = 64 - std::countr_zero(shards);
  const auto per_shard = static_cast<std::uint32_t>((max_keys + shards - 1) / shards);
  const std::size_t index_size = Shard::IndexSize(per_shard);
  // Entry is an implicit-lifetime aggregate: calloc'd memory holds valid (zero) entries.
  impl_->entries.reset(static_cast<Entry*>(std::calloc(shards * per_shard, sizeof(Entry))));
  impl_->index.reset(
      static_cast<std::uint32_t*>(std::calloc(shards * index_size, sizeof(std::uint32_t))));
  if (!impl_->entries || !impl_->index) throw std::bad_alloc();
  for (std::size_t i = 0; i < shards; ++i) {
    impl_->shards.push_back(std::make_unique<Shard>(impl_->entries.get() + i * per_shard,
                                                    impl_->index.get() + i * index_size,
                                                    per_shard));
  }
}

LocalBuckets::~LocalBuckets() = default;

RateDecision LocalBuckets::Take(std::string_view key, std::chrono::steady_clock::time_point now) {
  const RateSpec& spec = impl_->spec;
  const double burst = spec.burst;
  const std::uint64_t hash = HashKey(key);
  Shard& shard =
      *impl_->shards[impl_->shard_shift >= 64 ? 0 : static_cast<std::size_t>(hash >> impl_->shard_shift)];
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();

  RateDecision decision;
  decision.limit = spec.burst;
  double tokens;
  {
    std::lock_guard lock(shard.mu);
    bool fresh;
    Entry& entry = shard.Find(hash, &fresh);
    if (fresh) {
      entry.tokens = burst;
      entry.last_ns = now_ns;
    } else if (now_ns > entry.last_ns) {
      // Multiply before dividing: 200 ms at 5 per 1 s is exactly 1 token.
      const double added = static_cast<double>(now_ns - entry.last_ns) * spec.rate / impl_->per_ns;
      entry.tokens = std::min(burst, entry.tokens + std::max(0.0, added));
      entry.last_ns = now_ns;
    }  // a time before the last one (threads racing on now()) adds nothing
    decision.allowed = entry.tokens + kEpsilon >= 1.0;
    if (decision.allowed) entry.tokens = std::max(0.0, entry.tokens - 1.0);
    tokens = entry.tokens;
  }

  decision.remaining = static_cast<std::uint32_t>(std::floor(tokens + kEpsilon));
  const double ms_per_token = spec.rate > 0 ? impl_->per_ns / 1e6 / spec.rate : kMaxWaitMs;
  const double missing = burst - tokens;
  decision.reset = missing <= kEpsilon ? std::chrono::milliseconds(0) : CeilMs(missing * ms_per_token, 0);
  if (!decision.allowed) decision.retry_after = CeilMs((1.0 - tokens) * ms_per_token, 1);
  return decision;
}

}  // namespace portico::policy
