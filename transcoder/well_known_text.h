// The text forms protobuf 3.21's JSON mapping gives google.protobuf.Timestamp, Duration and
// FieldMask paths, in both directions: what its printer writes, and the spellings its parser
// reads that Portico's fast path takes on itself (anything else is left to protobuf). Pure;
// thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::transcoder {

// Room FormatTimestamp and FormatDuration need ("9999-12-31T23:59:59.123456789Z").
inline constexpr std::size_t kMaxTimeTextSize = 32;

// RFC 3339 ("1972-01-01T10:00:20.021Z", "...+01:00"), 0001-01-01 to 9999-12-31; false when not
// certain of protobuf's answer.
bool ParseTimestamp(std::string_view s, int64_t* seconds, int32_t* nanos);
// "<seconds>[.<fraction>]s": 1 ok, 0 not certain of protobuf's answer, -1 out of range.
int ParseDuration(std::string_view s, int64_t* seconds, int32_t* nanos);

// The unquoted text at `d` (kMaxTimeTextSize bytes of room); returns its end, or nullptr (and
// writes nothing) for a value protobuf refuses to print (outside its valid range).
char* FormatTimestamp(int64_t seconds, int32_t nanos, char* d);
char* FormatDuration(int64_t seconds, int32_t nanos, char* d);
// A point in time as FormatTimestamp writes it ("2026-12-04T18:30:00.250Z"), for the admin API;
// "" outside the printable range.
std::string FormatTimePoint(std::chrono::system_clock::time_point t);

// FieldMask paths: protobuf's ToSnakeCase ("fooBar" -> "foo_bar"), applied to each '.'-separated
// segment (paths without quotes or parentheses); and its lossy ToCamelCase ("foo_bar" ->
// "fooBar"), applied as ConvertFieldMaskPath does (quoted map keys copied as they are).
void AppendSnakeCase(std::string_view in, std::string* out);
void SnakeCasePath(std::string_view path, std::string* out);
void AppendCamelCase(std::string_view in, std::string* out);
void AppendCamelCasePath(std::string_view path, std::string* out);

}  // namespace portico::transcoder
