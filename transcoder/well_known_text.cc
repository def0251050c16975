#include "transcoder/well_known_text.h"

#include <charconv>

namespace portico::transcoder {
namespace {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool TwoDigits(const char* p, int* v) {
  if (!IsDigit(p[0]) || !IsDigit(p[1])) return false;
  *v = (p[0] - '0') * 10 + (p[1] - '0');
  return true;
}

// "%02d".
inline char* Put2(char* d, uint32_t v) {
  d[0] = static_cast<char>('0' + v / 10);
  d[1] = static_cast<char>('0' + v % 10);
  return d + 2;
}

// ".123", ".123456" or ".123456789" (protobuf's FormatNanos); nothing for 0.
inline char* PutNanos(char* d, uint32_t nanos) {
  if (nanos == 0) return d;
  int digits = nanos % 1000 != 0 ? 9 : nanos % 1000000 != 0 ? 6 : 3;
  uint32_t v = digits == 9 ? nanos : digits == 6 ? nanos / 1000 : nanos / 1000000;
  *d++ = '.';
  for (int i = digits - 1; i >= 0; --i) {
    d[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return d + digits;
}

}  // namespace

bool ParseTimestamp(std::string_view s, int64_t* seconds, int32_t* nanos) {
  if (s.size() < 20) return false;
  const char* p = s.data();
  const char* end = p + s.size();
  int year = 0;
  for (int i = 0; i < 4; ++i) {
    if (!IsDigit(p[i])) return false;
    year = year * 10 + (p[i] - '0');
  }
  int mon, day, hh, mm, ss;
  if (p[4] != '-' || !TwoDigits(p + 5, &mon) || p[7] != '-' || !TwoDigits(p + 8, &day) ||
      p[10] != 'T' || !TwoDigits(p + 11, &hh) || p[13] != ':' || !TwoDigits(p + 14, &mm) ||
      p[16] != ':' || !TwoDigits(p + 17, &ss)) {
    return false;
  }
  if (year < 1 || mon < 1 || mon > 12 || day < 1 || hh > 23 || mm > 59 || ss > 59) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int mdays = kDays[mon - 1] + (mon == 2 && leap ? 1 : 0);
  if (day > mdays) return false;
  p += 19;
  int32_t n = 0;
  if (p < end && *p == '.') {
    ++p;
    int digits = 0;
    while (p < end && IsDigit(*p)) {
      if (++digits > 9) return false;
      n = n * 10 + (*p - '0');
      ++p;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) n *= 10;
  }
  int64_t secs =
      DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 +
      hh * 3600 + mm * 60 + ss;
  if (p < end && *p == 'Z') {
    ++p;
  } else if (p < end && (*p == '+' || *p == '-')) {
    bool minus = *p == '-';
    ++p;
    int oh, om;
    if (end - p < 5 || !TwoDigits(p, &oh) || p[2] != ':' || !TwoDigits(p + 3, &om)) return false;
    if (oh > 23 || om > 59) return false;
    int64_t off = oh * 3600 + om * 60;
    secs += minus ? off : -off;
    p += 5;
  } else {
    return false;
  }
  if (p != end) return false;
  if (secs < -62135596800LL || secs > 253402300799LL) return false;
  *seconds = secs;
  *nanos = n;
  return true;
}

int ParseDuration(std::string_view s, int64_t* seconds, int32_t* nanos) {
  if (s.size() < 2 || s.back() != 's') return 0;
  s.remove_suffix(1);
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  size_t i = 0;
  uint64_t secs = 0;
  while (i < s.size() && IsDigit(s[i])) {
    if (i >= 15) return 0;
    secs = secs * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == 0) return 0;
  int32_t n = 0;
  if (i < s.size()) {
    if (s[i] != '.') return 0;
    ++i;
    int digits = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (++digits > 9) return 0;
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    if (digits == 0 || i != s.size()) return 0;
    for (; digits < 9; ++digits) n *= 10;
  }
  if (secs > 315576000000ull) return -1;
  *seconds = neg ? -static_cast<int64_t>(secs) : static_cast<int64_t>(secs);
  *nanos = neg ? -n : n;
  return 1;
}

char* FormatTimestamp(int64_t seconds, int32_t nanos, char* d) {
  // protobuf: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, nanos in [0, 1e9).
  if (seconds < -62135596800LL || seconds > 253402300799LL) return nullptr;
  if (nanos < 0 || nanos >= 1000000000) return nullptr;
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (H. Hinnant).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) ++y;
  d = Put2(d, static_cast<uint32_t>(y / 100));
  d = Put2(d, static_cast<uint32_t>(y % 100));
  *d++ = '-';
  d = Put2(d, static_cast<uint32_t>(month));
  *d++ = '-';
  d = Put2(d, static_cast<uint32_t>(day));
  *d++ = 'T';
  d = Put2(d, static_cast<uint32_t>(rem / 3600));
  *d++ = ':';
  d = Put2(d, static_cast<uint32_t>(rem / 60 % 60));
  *d++ = ':';
  d = Put2(d, static_cast<uint32_t>(rem % 60));
  d = PutNanos(d, static_cast<uint32_t>(nanos));
  *d++ = 'Z';
  return d;
}

char* FormatDuration(int64_t seconds, int32_t nanos, char* d) {
  // protobuf: |seconds| <= 315576000000, |nanos| < 1e9, signs agree.
  if (seconds < -315576000000LL || seconds > 315576000000LL) return nullptr;
  if (nanos <= -1000000000 || nanos >= 1000000000) return nullptr;
  bool negative = false;
  if (seconds < 0) {
    if (nanos > 0) return nullptr;
    negative = true;
    seconds = -seconds;
    nanos = -nanos;
  } else if (seconds == 0 && nanos < 0) {
    negative = true;
    nanos = -nanos;
  }
  if (negative) *d++ = '-';
  d = std::to_chars(d, d + 20, seconds).ptr;
  d = PutNanos(d, static_cast<uint32_t>(nanos));
  *d++ = 's';
  return d;
}

// "GBike" -> "g_bike", "LAB" -> "lab".
void AppendSnakeCase(std::string_view in, std::string* out) {
  bool was_not_underscore = false;
  bool was_not_cap = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c >= 'A' && c <= 'Z') {
      const bool next_lower = i + 1 < in.size() && in[i + 1] >= 'a' && in[i + 1] <= 'z';
      if (was_not_underscore && (was_not_cap || next_lower)) out->push_back('_');
      out->push_back(static_cast<char>(c - 'A' + 'a'));
      was_not_underscore = true;
      was_not_cap = false;
    } else {
      out->push_back(c);
      was_not_underscore = c != '_';
      was_not_cap = true;
    }
  }
}

void SnakeCasePath(std::string_view path, std::string* out) {
  while (true) {
    const size_t dot = path.find('.');
    AppendSnakeCase(path.substr(0, dot), out);
    if (dot == std::string_view::npos) return;
    out->push_back('.');
    path.remove_prefix(dot + 1);
  }
}

// protobuf's ToCamelCase for FieldMask paths ("foo_bar" -> "fooBar", "FOO_bar" -> "fooBar",
// "a__b" -> "aB"): lossy, but what its JSON printer writes.
void AppendCamelCase(std::string_view in, std::string* out) {
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto to_lower = [&](char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; };
  const size_t start = out->size();
  bool capitalize_next = false;
  bool was_cap = true;
  bool first_word = true;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    const bool is_cap = is_upper(c);
    if (c == '_') {
      capitalize_next = true;
      if (out->size() != start) first_word = false;
    } else if (first_word) {
      // The first word ends at a capital after a lowercase ("aB") or before one ("ABc").
      const bool ends = out->size() != start && is_cap &&
                        (!was_cap || (i + 1 < in.size() && is_lower(in[i + 1])));
      if (ends) first_word = false;
      out->push_back(ends ? c : to_lower(c));
    } else if (capitalize_next) {
      capitalize_next = false;
      out->push_back(is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c);
    } else {
      out->push_back(to_lower(c));
    }
    was_cap = is_cap;
  }
}

// protobuf's ConvertFieldMaskPath(path, ToCamelCase): segments between '.', '(', ')' and '"'
// are converted; quoted map keys are copied as they are (escapes included).
void AppendCamelCasePath(std::string_view path, std::string* out) {
  bool quoted = false;
  bool escaping = false;
  size_t segment = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (quoted) {
      if (i == path.size()) break;
      const char c = path[i];
      out->push_back(c);
      if (escaping) {
        escaping = false;
      } else if (c == '\\') {
        escaping = true;
      } else if (c == '"') {
        segment = i + 1;
        quoted = false;
      }
      continue;
    }
    const bool at_end = i == path.size();
    if (at_end || path[i] == '.' || path[i] == '(' || path[i] == ')' || path[i] == '"') {
      AppendCamelCase(path.substr(segment, i - segment), out);
      if (!at_end) out->push_back(path[i]);
      segment = i + 1;
    }
    if (!at_end && path[i] == '"') quoted = true;
  }
}

std::string FormatTimePoint(std::chrono::system_clock::time_point t) {
  const std::int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::int64_t seconds = ns / 1'000'000'000;
  std::int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {  // before 1970: the fraction counts forward from the second before
    --seconds;
    nanos += 1'000'000'000;
  }
  char text[kMaxTimeTextSize];
  const char* end = FormatTimestamp(seconds, static_cast<int32_t>(nanos), text);
  return end == nullptr ? std::string() : std::string(text, static_cast<std::size_t>(end - text));
}

}  // namespace portico::transcoder
