// Writing protobuf wire bytes: small helpers appending to a std::string (one-off messages:
// google.api.HttpBody, FieldMask), and WireOut, the raw buffer of the JSON->wire hot path.
// Pure, header-only; WireOut is a per-call object, not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "transcoder/wire_reader.h"

namespace portico::transcoder::wirefmt {

inline void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline std::size_t VarintSize(uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void AppendTag(int number, uint32_t wire_type, std::string* out) {
  AppendVarint((static_cast<uint64_t>(number) << 3) | wire_type, out);
}

// A length-delimited field (string, bytes, or a serialized message).
inline void AppendLenField(int number, std::string_view payload, std::string* out) {
  AppendTag(number, kLen, out);
  AppendVarint(payload.size(), out);
  out->append(payload);
}

// The JSON->wire fast path's output: a buffer over the caller's string, resized in steps and
// trimmed by Finish(); length-delimited payloads get a one-byte length placeholder, widened
// by EndLen when the payload is longer (a memmove, bounded by the nesting limit).
class WireOut {
 public:
  explicit WireOut(std::string* s, size_t hint) : s_(s) {
    s_->clear();
    cap_ = std::max<size_t>(std::max(s_->capacity(), hint), 64);
    s_->resize(cap_);
    d_ = s_->data();
  }
  void Finish() { s_->resize(n_); }
  size_t size() const { return n_; }
  void Truncate(size_t n) { n_ = n; }

  void Reserve(size_t k) {
    if (n_ + k > cap_) Grow(k);
  }
  void Bytes(const char* p, size_t k) {
    Reserve(k);
    if (k <= 8) {
      for (size_t i = 0; i < k; ++i) d_[n_ + i] = p[i];
    } else {
      std::memcpy(d_ + n_, p, k);
    }
    n_ += k;
  }
  void Varint(uint64_t v) {
    Reserve(10);
    while (v >= 0x80) {
      d_[n_++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    d_[n_++] = static_cast<char>(v);
  }
  void Fixed32(uint32_t v) {
    Reserve(4);
    for (int i = 0; i < 4; ++i) d_[n_++] = static_cast<char>(v >> (8 * i));
  }
  void Fixed64(uint64_t v) {
    Reserve(8);
    for (int i = 0; i < 8; ++i) d_[n_++] = static_cast<char>(v >> (8 * i));
  }
  // A length-delimited payload: one placeholder byte, widened at EndLen when needed.
  size_t BeginLen() {
    Reserve(1);
    d_[n_++] = 0;
    return n_;
  }
  void EndLen(size_t start) {
    size_t len = n_ - start;
    if (len < 0x80) {
      d_[start - 1] = static_cast<char>(len);
      return;
    }
    size_t extra = 0;
    for (uint64_t v = len >> 7; v != 0; v >>= 7) ++extra;
    Reserve(extra);
    std::memmove(d_ + start + extra, d_ + start, len);
    n_ += extra;
    char* p = d_ + start - 1;
    uint64_t v = len;
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p = static_cast<char>(v);
  }
  char* Raw(size_t k) {  // k bytes to fill in place
    Reserve(k);
    char* p = d_ + n_;
    n_ += k;
    return p;
  }

 private:
  void Grow(size_t k) {
    cap_ = std::max(cap_ * 2, n_ + k + 64);
    s_->resize(cap_);
    d_ = s_->data();
  }
  std::string* s_;
  char* d_ = nullptr;
  size_t n_ = 0;
  size_t cap_ = 0;
};

}  // namespace portico::transcoder::wirefmt
