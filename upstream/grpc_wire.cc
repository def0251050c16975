#include "upstream/grpc_wire.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "transcoder/base64.h"
#include "transcoder/percent_encoding.h"

namespace portico::upstream {
namespace {

constexpr std::size_t kPrefixBytes = 5;

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `lower` must already be lower case.
bool EqualsIgnoreCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (LowerAscii(s[i]) != lower[i]) return false;
  }
  return true;
}

// zlib counts in uInt (32 bits); longer buffers go through in pieces of at most this.
uInt ZlibChunk(std::size_t n) { return static_cast<uInt>(std::min<std::size_t>(n, UINT_MAX)); }

}  // namespace

void AppendFrame(std::string& out, std::string_view message) {
  const auto n = static_cast<std::uint32_t>(message.size());
  const char prefix[kPrefixBytes] = {0, static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out.reserve(out.size() + kPrefixBytes + message.size());
  out.append(prefix, kPrefixBytes);
  out.append(message);
}

void Deframer::set_encoding(std::string_view encoding) {
  encoding_name_.assign(encoding);
  // Content-coding tokens are case-insensitive (RFC 9110 section 8.4.1).
  if (encoding.empty() || EqualsIgnoreCase(encoding, "identity")) {
    encoding_ = Encoding::kIdentity;
  } else if (EqualsIgnoreCase(encoding, "gzip")) {
    encoding_ = Encoding::kGzip;
  } else {
    encoding_ = Encoding::kOther;
  }
}

Status Deframer::Feed(std::string_view bytes, std::vector<std::string>* out) {
  if (!error_.ok()) return error_;
  while (true) {
    if (!in_body_) {
      if (bytes.empty()) break;
      const std::size_t take = std::min(kPrefixBytes - prefix_len_, bytes.size());
      std::memcpy(prefix_.data() + prefix_len_, bytes.data(), take);
      prefix_len_ += take;
      bytes.remove_prefix(take);
      if (prefix_len_ < kPrefixBytes) break;
      error_ = StartMessage();
      if (!error_.ok()) return error_;
    }
    // A zero-length message is complete right after its prefix, even with no bytes left.
    const std::size_t take = std::min(body_len_ - body_.size(), bytes.size());
    body_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (body_.size() < body_len_) break;
    error_ = FinishMessage(out);
    if (!error_.ok()) return error_;
  }
  return OkStatus();
}

Status Deframer::StartMessage() {
  const unsigned char flag = prefix_[0];
  if (flag > 1) {
    return Internal("invalid gRPC message flag byte " + std::to_string(flag) + " (want 0 or 1)");
  }
  const std::uint32_t length = (std::uint32_t{prefix_[1]} << 24) |
                               (std::uint32_t{prefix_[2]} << 16) |
                               (std::uint32_t{prefix_[3]} << 8) | std::uint32_t{prefix_[4]};
  // Checked on the prefix, so an oversize message is refused before any of it is buffered.
  if (length > max_) {
    return Status(Code::kResourceExhausted, "received message larger than max (" +
                                                std::to_string(length) + " vs. " +
                                                std::to_string(max_) + ")");
  }
  if (flag == 1 && !raw_) {
    if (encoding_ == Encoding::kIdentity) {
      return Internal("compressed message without grpc-encoding");
    }
    if (encoding_ == Encoding::kOther) {
      return Status(Code::kUnimplemented,
                    "grpc-encoding \"" + encoding_name_ + "\" is not supported");
    }
  }
  prefix_len_ = 0;
  in_body_ = true;
  compressed_ = flag == 1;
  body_len_ = length;
  body_.clear();
  if (raw_) {
    body_len_ += kPrefixBytes;
    body_.reserve(body_len_);  // bounded by max_ + 5, checked above
    body_.append(reinterpret_cast<const char*>(prefix_.data()), kPrefixBytes);
  } else {
    body_.reserve(body_len_);  // bounded by max_, checked above
  }
  return OkStatus();
}

Status Deframer::FinishMessage(std::vector<std::string>* out) {
  in_body_ = false;
  if (!compressed_ || raw_) {
    out->push_back(std::move(body_));
    body_.clear();  // a moved-from string is only valid-but-unspecified
    return OkStatus();
  }
  std::string plain;
  Status s = GzipDecompress(body_, max_, &plain);
  body_.clear();
  if (s.code() == Code::kResourceExhausted) {
    // The full size is unknown: decompression stops at the limit rather than inflate a bomb.
    return Status(
        Code::kResourceExhausted,
        "received message after decompression larger than max (" + std::to_string(max_) + ")");
  }
  if (!s.ok()) return Internal("cannot decompress gzip message: " + s.message());
  out->push_back(std::move(plain));
  return OkStatus();
}

std::string EncodeTimeout(std::chrono::nanoseconds remaining) {
  constexpr std::int64_t kMaxValue = 99999999;  // the protocol allows at most 8 digits
  struct Unit {
    std::int64_t nanos;
    char suffix;
  };
  static constexpr Unit kUnits[] = {{1, 'n'},
                                    {1000, 'u'},
                                    {1000 * 1000, 'm'},
                                    {1000 * 1000 * 1000, 'S'},
                                    {std::int64_t{60} * 1000 * 1000 * 1000, 'M'},
                                    {std::int64_t{3600} * 1000 * 1000 * 1000, 'H'}};
  const std::int64_t ns = remaining.count();
  if (ns <= 0) return "1n";
  for (const Unit& unit : kUnits) {
    // Rounded up so the server never gets a shorter deadline than ours (nor a zero one).
    const std::int64_t value = ns / unit.nanos + (ns % unit.nanos != 0 ? 1 : 0);
    if (value <= kMaxValue) return std::to_string(value) + unit.suffix;
  }
  return "99999999H";  // unreachable for 64-bit nanoseconds (~2.6M hours), kept for safety
}

Code ParseGrpcStatus(std::string_view value) {
  if (value.empty()) return Code::kUnknown;
  int code = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return Code::kUnknown;
    code = code * 10 + (c - '0');
    if (code > static_cast<int>(Code::kUnauthenticated)) return Code::kUnknown;  // no overflow
  }
  return static_cast<Code>(code);
}

std::string DecodeGrpcMessage(std::string_view value) {
  // gRPC's percent-encoding keeps invalid escapes literally, as the data plane's decoder does.
  return transcoder::PercentDecode(value, transcoder::DecodeMode::kAll);
}

Code CodeFromHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return Code::kInternal;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code::kUnavailable;
    default:
      return Code::kUnknown;
  }
}

bool IsBinaryHeader(std::string_view key) {
  return key.size() >= 4 && EqualsIgnoreCase(key.substr(key.size() - 4), "-bin");
}

std::string EncodeBinaryHeader(std::string_view raw) {
  // gRPC asks senders to omit the padding.
  std::string out = transcoder::Base64Encode(raw);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

bool DecodeBinaryHeader(std::string_view value, std::string* out) {
  // gRPC uses the standard alphabet only; the shared decoder would take the URL-safe one too.
  if (value.find_first_of("-_") != std::string_view::npos) return false;
  return transcoder::Base64Decode(value, out);  // padded or not
}

Status GzipDecompress(std::string_view in, std::size_t max_bytes, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Internal("zlib inflateInit2 failed");
  struct InflateEnd {
    z_stream* zs;
    ~InflateEnd() { inflateEnd(zs); }
  } inflate_end{&zs};

  // One byte of room beyond the limit tells "exactly max_bytes" from "more".
  const std::size_t cap = max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1;
  constexpr std::size_t kMinGrowth = 16 * 1024;
  std::string result;
  std::size_t produced = 0;
  const auto* next_in = reinterpret_cast<const Bytef*>(in.data());
  std::size_t in_left = in.size();
  while (true) {
    if (zs.avail_in == 0 && in_left > 0) {
      zs.next_in = const_cast<Bytef*>(next_in);  // zlib's API is not const-correct
      zs.avail_in = ZlibChunk(in_left);
      next_in += zs.avail_in;
      in_left -= zs.avail_in;
    }
    if (produced == result.size()) {
      const std::size_t want = std::max({kMinGrowth, produced, in.size() * 2});
      result.resize(produced + std::min(want, cap - produced));
    }
    zs.next_out = reinterpret_cast<Bytef*>(result.data() + produced);
    zs.avail_out = ZlibChunk(result.size() - produced);
    const uInt avail_before = zs.avail_out;
    const int ret = inflate(&zs, Z_NO_FLUSH);
    produced += avail_before - zs.avail_out;
    if (produced > max_bytes) {
      return Status(Code::kResourceExhausted,
                    "gzip output larger than max (" + std::to_string(max_bytes) + ")");
    }
    if (ret == Z_STREAM_END) {
      if (zs.avail_in == 0 && in_left == 0) break;
      // Another member follows (RFC 1952 section 2.2); trailing garbage fails its header check.
      if (inflateReset(&zs) != Z_OK) return Internal("zlib inflateReset failed");
      continue;
    }
    if (ret == Z_BUF_ERROR) {
      // No progress: out of input means a truncated stream; out of room is fixed above.
      if (zs.avail_in == 0 && in_left == 0) return Internal("truncated gzip data");
      continue;
    }
    if (ret != Z_OK) {
      return Internal(std::string("corrupt gzip data: ") + (zs.msg != nullptr ? zs.msg : "?"));
    }
  }
  result.resize(produced);
  *out = std::move(result);
  return OkStatus();
}

std::string GzipCompress(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::bad_alloc();  // the only way it fails with these constant parameters
  }
  struct DeflateEnd {
    z_stream* zs;
    ~DeflateEnd() { deflateEnd(zs); }
  } deflate_end{&zs};

  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  std::size_t produced = 0;
  const auto* next_in = reinterpret_cast<const Bytef*>(in.data());
  std::size_t in_left = in.size();
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_left > 0) {
      zs.next_in = const_cast<Bytef*>(next_in);
      zs.avail_in = ZlibChunk(in_left);
      next_in += zs.avail_in;
      in_left -= zs.avail_in;
    }
    if (produced == out.size()) out.resize(out.size() * 2 + 64);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = ZlibChunk(out.size() - produced);
    const uInt avail_before = zs.avail_out;
    ret = deflate(&zs, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    produced += avail_before - zs.avail_out;
    // Only an inconsistent stream state gives this, and the state is ours alone.
    if (ret == Z_STREAM_ERROR) throw std::logic_error("zlib deflate: inconsistent stream state");
  }
  out.resize(produced);
  return out;
}

}  // namespace portico::upstream
