// Writing JSON text the way protobuf 3.21's JSON printer does: a growable output buffer with
// a raw cursor, strings (its JsonEscaping: < > and some invisible code points as \uXXXX),
// integers, doubles and floats (its SimpleDtoa / SimpleFtoa), and bytes as base64. Used by the
// wire->JSON fast path. Pure; JsonOut is a per-call object, not thread-safe.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "transcoder/base64.h"

namespace portico::transcoder {

// Output buffer over the caller's string, written through a raw cursor: callers Ensure() room,
// then write; Finish() trims the string to what was written.
class JsonOut {
 public:
  explicit JsonOut(std::string* s, size_t initial) : s_(s) {
    s_->resize(initial < 64 ? 64 : initial);
    p_ = s_->data();
    end_ = p_ + s_->size();
  }
  __attribute__((always_inline)) void Ensure(size_t n) {
    if (__builtin_expect(static_cast<size_t>(end_ - p_) < n, 0)) Grow(n);
  }
  void Put(char c) { *p_++ = c; }  // caller Ensure()d
  void Write(const char* d, size_t n) {
    std::memcpy(p_, d, n);
    p_ += n;
  }
  void Append(std::string_view v) {
    Ensure(v.size());
    Write(v.data(), v.size());
  }
  void PutChecked(char c) {
    Ensure(1);
    Put(c);
  }
  char*& cursor() { return p_; }
  void Finish() { s_->resize(static_cast<size_t>(p_ - s_->data())); }

 private:
  __attribute__((noinline)) void Grow(size_t n) {
    size_t used = static_cast<size_t>(p_ - s_->data());
    size_t want = s_->size() * 2;
    if (want < used + n + 64) want = used + n + 64;
    s_->resize(want);
    p_ = s_->data() + used;
    end_ = s_->data() + s_->size();
  }
  std::string* s_;
  char* p_;
  char* end_;
};

// Appends `"<escaped s>"`. False when `s` is not valid UTF-8 (utf8.h); the output is then
// unspecified.
bool AppendJsonString(const uint8_t* s, std::size_t n, JsonOut& out);

// protobuf's SimpleDtoa ("%.15g" if it round-trips, else "%.17g"), and SimpleFtoa ("%.6g" /
// "%.9g"); NaN and the infinities as the strings "NaN", "Infinity", "-Infinity".
void AppendDouble(double v, JsonOut& out);
void AppendFloat(float v, JsonOut& out);

inline void AppendBase64(const uint8_t* s, size_t n, JsonOut& out) {
  out.Ensure(Base64EncodedSize(n) + 2);
  char*& d = out.cursor();
  *d++ = '"';
  d = Base64EncodeTo(s, n, d);
  *d++ = '"';
}

template <typename T>
inline void AppendInt(T v, JsonOut& out, bool quoted) {
  out.Ensure(24);
  char*& d = out.cursor();
  if (quoted) *d++ = '"';
  d = std::to_chars(d, d + 21, v).ptr;
  if (quoted) *d++ = '"';
}

}  // namespace portico::transcoder
