#include "http/request_identity.h"

#include <cstring>
#include <random>

namespace portico::http {
namespace {

// splitmix64 over a per-thread seed: fast, and ids need to be unique, not secret.
class IdRandom {
 public:
  IdRandom() {
    std::random_device device;
    state_ = (std::uint64_t{device()} << 32) ^ device();
  }
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Random bytes, not all zero (an all-zero trace or span id is invalid).
  void Fill(std::uint8_t* out, std::size_t n) {
    do {
      for (std::size_t i = 0; i < n; i += 8) {
        const std::uint64_t word = Next();
        std::memcpy(out + i, &word, n - i < 8 ? n - i : 8);
      }
    } while (AllZero(out, n));
  }
  static bool AllZero(const std::uint8_t* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] != 0) return false;
    }
    return true;
  }

 private:
  std::uint64_t state_;
};

IdRandom& Random() {
  thread_local IdRandom random;
  return random;
}

int LowerHexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is invalid in traceparent
}

// Exactly 2*n lowercase hex digits into n bytes.
bool ParseHex(std::string_view text, std::uint8_t* out, std::size_t n) {
  if (text.size() != 2 * n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const int hi = LowerHexDigit(text[2 * i]);
    const int lo = LowerHexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::string Hex(const std::uint8_t* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::optional<TraceContext> ParseTraceparent(std::string_view value) {
  constexpr std::size_t kLength = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
  if (value.size() < kLength) return std::nullopt;
  std::uint8_t version = 0;
  if (!ParseHex(value.substr(0, 2), &version, 1) || version == 0xff) return std::nullopt;
  if (version == 0 ? value.size() != kLength
                   : value.size() > kLength && value[kLength] != '-') {
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  TraceContext out;
  if (!ParseHex(value.substr(3, 32), out.trace_id.data(), 16) ||
      !ParseHex(value.substr(36, 16), out.parent_id.data(), 8) ||
      !ParseHex(value.substr(53, 2), &out.flags, 1)) {
    return std::nullopt;
  }
  if (IdRandom::AllZero(out.trace_id.data(), 16) || IdRandom::AllZero(out.parent_id.data(), 8)) {
    return std::nullopt;
  }
  return out;
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-' || c == '+' || c == '=' ||
                    c == '/' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::string NewRequestId() {
  std::uint8_t bytes[16];
  Random().Fill(bytes, sizeof(bytes));
  return Hex(bytes, sizeof(bytes));
}

RequestIdentity ChildCall(const RequestIdentity& parent) {
  RequestIdentity out = parent;
  Random().Fill(out.span_id.data(), 8);
  return out;
}

std::string RequestIdentity::TraceId() const { return Hex(trace.trace_id.data(), 16); }

std::string RequestIdentity::Traceparent() const {
  const std::uint8_t flags = trace.flags & 0x01;
  return "00-" + TraceId() + "-" + Hex(span_id.data(), 8) + "-" + Hex(&flags, 1);
}

RequestIdentity IdentifyRequest(std::string_view request_id, std::string_view traceparent,
                                std::string_view tracestate) {
  RequestIdentity out;
  if (ValidRequestId(request_id)) {
    out.request_id = std::string(request_id);
  } else {
    out.request_id = NewRequestId();
    out.request_id_generated = true;
  }
  if (auto incoming = ParseTraceparent(traceparent)) {
    out.trace = *incoming;
    if (tracestate.size() <= kMaxTracestateBytes && PrintableAscii(tracestate)) {
      out.tracestate = std::string(tracestate);
    }
  } else {
    Random().Fill(out.trace.trace_id.data(), 16);
    out.trace.flags = 0x01;
    out.trace_generated = true;
  }
  Random().Fill(out.span_id.data(), 8);
  return out;
}

}  // namespace portico::http
