// Appending protobuf wire bytes to a std::string: varints, tags, length-delimited fields.
// For one-off messages (google.api.HttpBody, FieldMask); the JSON->wire hot path has its own
// buffer (json_to_wire's WireOut). Pure, header-only.
#pragma once

#include <cstddef>
#include <cstdint>
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

}  // namespace portico::transcoder::wirefmt
