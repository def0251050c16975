// Base64 (RFC 4648), the one codec of the tree. Encoding: the standard alphabet with padding,
// as proto3 JSON renders bytes and gRPC sends -bin metadata. Decoding: the standard ("+/") or
// the URL-safe ("-_") alphabet, not mixed, padded or not. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::transcoder {

std::string Base64Encode(std::string_view in);

inline constexpr std::size_t Base64EncodedSize(std::size_t n) { return (n + 2) / 3 * 4; }
// Writes Base64EncodedSize(n) characters at `out`; returns the end. For callers that own a
// buffer already (the JSON renderer).
char* Base64EncodeTo(const uint8_t* in, std::size_t n, char* out);

// Decodes `in` into *out (replaced). False, *out untouched, when it is not base64: a character
// of neither alphabet, both alphabets, a length no encoder writes, or padding that does not
// complete the last group of four. Leftover bits of the last group are ignored (sloppy
// encoders leave them non-zero, and gRPC implementations accept that).
bool Base64Decode(std::string_view in, std::string* out);

// The two steps of Base64Decode, for callers that decode straight into their own buffer (the
// JSON parser). Base64Measure: the decoded size, or false for a length or padding that cannot
// be base64 (the text may then still hold invalid characters).
bool Base64Measure(std::string_view in, std::size_t* decoded_size);
enum class Base64Result { kOk, kInvalid, kTrailingBits };
// Decodes a Base64Measure'd `in` into exactly *decoded_size bytes at `out` (whatever the
// result, those bytes are written). kTrailingBits: valid, but the last group's unused bits are
// not zero (no canonical encoder writes that).
Base64Result Base64DecodeTo(std::string_view in, char* out);

}  // namespace portico::transcoder
