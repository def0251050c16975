// google.api.http path templates (transcoder/http_template.h): any text either parses into a
// template that renders back to an equal template, or fails with an error message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.h"
#include "transcoder/http_template.h"

namespace {

using portico::transcoder::HttpTemplate;
using Kind = HttpTemplate::Segment::Kind;

std::string SegmentText(const HttpTemplate::Segment& s) {
  switch (s.kind) {
    case Kind::kWildcard:
      return "*";
    case Kind::kDoubleWildcard:
      return "**";
    case Kind::kLiteral:
      break;
  }
  return s.literal;
}

// The canonical text of a parsed template ({x} written as {x=*}).
std::string Render(const HttpTemplate& t) {
  const int n = static_cast<int>(t.segments.size());
  std::string out;
  int i = 0;
  while (i < n) {
    out += '/';
    const HttpTemplate::Variable* var = nullptr;
    for (const auto& v : t.variables) {
      if (v.start_segment == i) var = &v;
    }
    if (var == nullptr) {
      out += SegmentText(t.segments[static_cast<std::size_t>(i++)]);
      continue;
    }
    out += '{';
    for (std::size_t k = 0; k < var->field_path.size(); ++k) {
      if (k > 0) out += '.';
      out += var->field_path[k];
    }
    out += '=';
    const int end = var->end_segment == -1 ? n : var->end_segment;
    for (int k = i; k < end; ++k) {
      if (k > i) out += '/';
      out += SegmentText(t.segments[static_cast<std::size_t>(k)]);
    }
    out += '}';
    i = end;
  }
  if (out.empty()) out = "/";
  if (!t.verb.empty()) out += ":" + t.verb;
  return out;
}

bool SameTemplate(const HttpTemplate& a, const HttpTemplate& b) {
  if (a.segments.size() != b.segments.size() || a.verb != b.verb ||
      a.variables.size() != b.variables.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    if (a.segments[i].kind != b.segments[i].kind ||
        a.segments[i].literal != b.segments[i].literal) {
      return false;
    }
  }
  for (std::size_t i = 0; i < a.variables.size(); ++i) {
    const auto& x = a.variables[i];
    const auto& y = b.variables[i];
    if (x.field_path != y.field_path || x.start_segment != y.start_segment ||
        x.end_segment != y.end_segment || x.multi_segment != y.multi_segment) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = portico::fuzz::AsView(data, size);
  std::string error;
  const auto parsed = HttpTemplate::Parse(text, &error);
  if (!parsed) {
    FUZZ_CHECK(!error.empty(), "a rejected template needs an error message");
    return 0;
  }
  const HttpTemplate& t = *parsed;
  const int n = static_cast<int>(t.segments.size());
  int double_wildcards = 0;
  for (int i = 0; i < n; ++i) {
    const auto& s = t.segments[static_cast<std::size_t>(i)];
    if (s.kind == Kind::kDoubleWildcard) {
      ++double_wildcards;
      FUZZ_CHECK(i == n - 1, "'**' must be the last segment");
    }
    FUZZ_CHECK((s.kind == Kind::kLiteral) == !s.literal.empty(), "literal text only on literals");
  }
  FUZZ_CHECK(double_wildcards <= 1, "at most one '**'");
  int covered_until = 0;  // variables are in template order and do not overlap
  for (const auto& v : t.variables) {
    FUZZ_CHECK(!v.field_path.empty(), "variable without a field path");
    FUZZ_CHECK(v.start_segment >= covered_until && v.start_segment < n, "variable start");
    const int end = v.end_segment == -1 ? n : v.end_segment;
    FUZZ_CHECK(end > v.start_segment && end <= n, "variable end");
    FUZZ_CHECK(v.multi_segment == (v.end_segment == -1 || end - v.start_segment > 1),
               "multi_segment flag");
    covered_until = end;
  }
  const std::string canonical = Render(t);
  std::string reparse_error;
  const auto again = HttpTemplate::Parse(canonical, &reparse_error);
  FUZZ_CHECK(again.has_value(), canonical + ": " + reparse_error);
  FUZZ_CHECK(SameTemplate(t, *again), "re-parsing " + canonical + " changed the template");
  return 0;
}
