// Bounds-checked reading of protobuf wire bytes over [p, end): varints, tags, fixed-width
// values, lengths, and skipping a field of any wire type (groups iteratively, up to 100 open).
// Each function advances `p` past what it read and returns false on malformed or truncated
// input (then `p` is unspecified). Pure, header-only: the hot loops of wire->JSON inline them.
#pragma once

#include <cstdint>
#include <cstring>

namespace portico::transcoder::wirefmt {

inline constexpr uint32_t kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4,
                          kFixed32 = 5;
inline constexpr int kMaxGroupDepth = 100;  // nested unknown groups skipped

inline bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* out) {
  if (p < end && *p < 0x80) {
    *out = *p++;
    return true;
  }
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= end) return false;
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      *out = v;
      return true;
    }
  }
  return false;  // more than 10 bytes
}

// Tags: at most 5 bytes, bits past 32 dropped (as protobuf's parser); field number 0 is invalid.
inline bool ReadTag(const uint8_t*& p, const uint8_t* end, uint32_t* tag) {
  if (p < end && *p < 0x80) {
    *tag = *p++;
    return (*tag >> 3) != 0;
  }
  uint32_t v = 0;
  for (int i = 0; i < 5; ++i) {
    if (p >= end) return false;
    uint8_t b = *p++;
    v |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *tag = v;
      return (v >> 3) != 0;
    }
  }
  return false;
}

inline bool ReadFixed32(const uint8_t*& p, const uint8_t* end, uint32_t* out) {
  if (end - p < 4) return false;
  std::memcpy(out, p, 4);  // little-endian host (x86-64 / aarch64)
  p += 4;
  return true;
}

inline bool ReadFixed64(const uint8_t*& p, const uint8_t* end, uint64_t* out) {
  if (end - p < 8) return false;
  std::memcpy(out, p, 8);
  p += 8;
  return true;
}

// A length prefix; *sub_end is where the payload ends (not past `end`).
inline bool ReadLength(const uint8_t*& p, const uint8_t* end, const uint8_t** sub_end) {
  uint64_t len;
  if (!ReadVarint(p, end, &len) || len > static_cast<uint64_t>(end - p)) return false;
  *sub_end = p + len;
  return true;
}

// Skips the value of a field whose tag was just read. False for an END_GROUP without its start,
// wire types 6 and 7, unmatched groups and groups nested deeper than kMaxGroupDepth.
inline bool SkipField(uint32_t tag, const uint8_t*& p, const uint8_t* end) {
  uint64_t v;
  switch (tag & 7) {
    case kVarint:
      return ReadVarint(p, end, &v);
    case kFixed64:
      if (end - p < 8) return false;
      p += 8;
      return true;
    case kLen: {
      const uint8_t* sub_end;
      if (!ReadLength(p, end, &sub_end)) return false;
      p = sub_end;
      return true;
    }
    case kFixed32:
      if (end - p < 4) return false;
      p += 4;
      return true;
    case kStartGroup: {
      uint32_t open[kMaxGroupDepth];  // iterative: a stack of open group numbers
      int depth = 0;
      open[depth++] = tag >> 3;
      while (depth > 0) {
        uint32_t t;
        if (!ReadTag(p, end, &t)) return false;
        const uint32_t wt = t & 7;
        if (wt == kEndGroup) {
          if ((t >> 3) != open[depth - 1]) return false;
          --depth;
        } else if (wt == kStartGroup) {
          if (depth >= kMaxGroupDepth) return false;
          open[depth++] = t >> 3;
        } else if (!SkipField(t, p, end)) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace portico::transcoder::wirefmt
