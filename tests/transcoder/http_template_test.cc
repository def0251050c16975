#include "transcoder/http_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::transcoder {
namespace {

using ::testing::HasSubstr;

// Renders segments as "v1|*|**" and variables as "a.b[1,3)" ("*" suffix when multi_segment),
// so table rows state the whole parse result in one readable line.
std::string Segments(const HttpTemplate& t) {
  std::string out;
  for (const auto& s : t.segments) {
    if (!out.empty()) out += '|';
    switch (s.kind) {
      case HttpTemplate::Segment::Kind::kLiteral:
        out += s.literal;
        break;
      case HttpTemplate::Segment::Kind::kWildcard:
        out += '*';
        break;
      case HttpTemplate::Segment::Kind::kDoubleWildcard:
        out += "**";
        break;
    }
  }
  return out;
}

std::string Variables(const HttpTemplate& t) {
  std::string out;
  for (const auto& v : t.variables) {
    if (!out.empty()) out += ' ';
    for (std::size_t i = 0; i < v.field_path.size(); ++i) {
      if (i > 0) out += '.';
      out += v.field_path[i];
    }
    out += '[' + std::to_string(v.start_segment) + ',' + std::to_string(v.end_segment) + ')';
    if (v.multi_segment) out += '*';
  }
  return out;
}

struct ValidCase {
  const char* name;
  const char* text;
  const char* segments;
  const char* verb;
  const char* variables;
};

class ValidTemplateTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidTemplateTest, Parses) {
  const ValidCase& c = GetParam();
  std::string error;
  auto t = HttpTemplate::Parse(c.text, &error);
  ASSERT_TRUE(t.has_value()) << c.text << ": " << error;
  EXPECT_EQ(Segments(*t), c.segments) << c.text;
  EXPECT_EQ(t->verb, c.verb) << c.text;
  EXPECT_EQ(Variables(*t), c.variables) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    HttpTemplate, ValidTemplateTest,
    ::testing::Values(
        ValidCase{"Root", "/", "", "", ""}, ValidCase{"Literals", "/v1/echo", "v1|echo", "", ""},
        ValidCase{"TwoVariables", "/v1/shelves/{shelf}/items/{item}", "v1|shelves|*|items|*", "",
                  "shelf[2,3) item[4,5)"},
        ValidCase{"ExplicitStar", "/v1/{shelf=*}", "v1|*", "", "shelf[1,2)"},
        ValidCase{"MultiWithDoubleWildcard", "/v1/{name=shelves/*/books/**}",
                  "v1|shelves|*|books|**", "", "name[1,-1)*"},
        ValidCase{"MultiWithoutDoubleWildcard", "/v1/{name=items/*}:undelete", "v1|items|*",
                  "undelete", "name[1,3)*"},
        ValidCase{"LiteralOnlyVariable", "/v1/{kind=books}", "v1|books", "", "kind[1,2)"},
        ValidCase{"BareWildcard", "/v1/*/x", "v1|*|x", "", ""},
        ValidCase{"BareDoubleWildcard", "/v1/**", "v1|**", "", ""},
        ValidCase{"FieldPath", "/v1/{a.b.c}", "v1|*", "", "a.b.c[1,2)"},
        ValidCase{"WholePath", "/{x=**}", "**", "", "x[0,-1)*"},
        // Decision: a verb directly after a literal, with no '/', is valid.
        ValidCase{"VerbAfterLiteral", "/v1:verb", "v1", "verb", ""},
        ValidCase{"VerbAfterVariable", "/v1/{name}:cancel", "v1|*", "cancel", "name[1,2)"},
        ValidCase{"VerbAfterDoubleWildcard", "/v1/{name=**}:undelete", "v1|**", "undelete",
                  "name[1,-1)*"},
        ValidCase{"VerbAfterStar", "/v1/*:run", "v1|*", "run", ""},
        ValidCase{"DoubleWildcardAfterVariable", "/v1/{a}/{b=**}", "v1|*|**", "",
                  "a[1,2) b[2,-1)*"},
        ValidCase{"UnderscoreAndDigits", "/v1/{_a1.b_2}", "v1|*", "", "_a1.b_2[1,2)"},
        ValidCase{"PcharLiteral", "/v1/a-b.c_d~e!$&'()+,;=@", "v1|a-b.c_d~e!$&'()+,;=@", "", ""},
        ValidCase{"EscapedLiteral", "/v1/a%20b%2F", "v1|a%20b%2F", "", ""},
        ValidCase{"VerbWithDots", "/v1/x:batch.get", "v1|x", "batch.get", ""}),
    [](const auto& test) { return std::string(test.param.name); });

struct InvalidCase {
  const char* name;
  const char* text;
  const char* error;  // a substring the error must contain
};

class InvalidTemplateTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidTemplateTest, FailsWithMessage) {
  const InvalidCase& c = GetParam();
  std::string error;
  auto t = HttpTemplate::Parse(c.text, &error);
  EXPECT_FALSE(t.has_value()) << c.text;
  EXPECT_THAT(error, HasSubstr(c.error)) << c.text;
  EXPECT_THAT(error, HasSubstr("at offset")) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    HttpTemplate, InvalidTemplateTest,
    ::testing::Values(
        InvalidCase{"Empty", "", "template is empty at offset 0"},
        InvalidCase{"NoLeadingSlash", "v1/echo", "must start with '/' at offset 0"},
        InvalidCase{"EmptySegment", "/v1//echo", "empty segment ('//') at offset 4"},
        InvalidCase{"LeadingEmptySegment", "//v1", "empty segment ('//') at offset 1"},
        InvalidCase{"TrailingSlash", "/v1/echo/", "trailing '/' at offset 9"},
        InvalidCase{"UnclosedVariable", "/v1/{name", "unbalanced '{' (missing '}') at offset 4"},
        InvalidCase{"UnclosedPattern", "/v1/{name=a/*", "unbalanced '{'"},
        InvalidCase{"UnclosedAfterSlash", "/v1/{name=a/", "unbalanced '{'"},
        InvalidCase{"StrayClose", "/v1/a}", "unbalanced '}' at offset 5"},
        InvalidCase{"StrayCloseAfterVariable", "/v1/{a}}", "unbalanced '}' at offset 7"},
        InvalidCase{"StrayCloseSegment", "/v1/}", "unbalanced '}' at offset 4"},
        InvalidCase{"NestedInPattern", "/v1/{a={b}}", "nested variable at offset 7"},
        InvalidCase{"NestedInName", "/v1/{{a}}", "nested variable at offset 5"},
        InvalidCase{"EmptyVariableName", "/v1/{}", "empty variable name at offset 5"},
        InvalidCase{"EmptyNameWithPattern", "/v1/{=*}", "empty variable name"},
        InvalidCase{"EmptyIdentifier", "/v1/{a..b}", "empty identifier in variable name"},
        InvalidCase{"TrailingDot", "/v1/{a.}", "empty identifier in variable name"},
        InvalidCase{"BadIdentifierChar", "/v1/{a-b}", "invalid character '-' in variable name"},
        InvalidCase{"IdentifierStartsWithDigit", "/v1/{1a}",
                    "variable name must start with a letter or '_' at offset 5"},
        InvalidCase{"EmptyPattern", "/v1/{a=}", "empty pattern after '='"},
        InvalidCase{"ColonInsideVariable", "/v1/{a=b:c}", "unexpected ':' inside a variable"},
        InvalidCase{"DoubleWildcardNotLast", "/v1/**/x", "'**' must be the last segment"},
        InvalidCase{"DoubleWildcardInVariableNotLast", "/v1/{a=**}/x",
                    "'**' must be the last segment"},
        InvalidCase{"TwoDoubleWildcards", "/v1/**/**", "'**' may appear only once"},
        InvalidCase{"DuplicateVariable", "/v1/{a}/{a}", "duplicate variable 'a' at offset 8"},
        InvalidCase{"DuplicateFieldPath", "/v1/{a.b}/x/{a.b=*}", "duplicate variable 'a.b'"},
        InvalidCase{"EmptyVerb", "/v1/echo:", "empty verb after ':' at offset 8"},
        InvalidCase{"VerbWithSlash", "/v1/echo:a/b", "unexpected '/' in verb"},
        InvalidCase{"TwoVerbs", "/v1/echo:a:b", "unexpected ':' in verb"},
        InvalidCase{"OnlyVerb", "/:verb", "empty segment before ':'"},
        InvalidCase{"BraceInLiteral", "/v1/ab{c}", "'{' inside a literal segment at offset 6"},
        InvalidCase{"StarInLiteral", "/v1/ab*", "'*' inside a literal segment"},
        InvalidCase{"StarPrefix", "/v1/*ab", "'*' and '**' must be a whole segment"},
        InvalidCase{"TripleStar", "/v1/***", "'*' and '**' must be a whole segment"},
        InvalidCase{"TextAfterVariable", "/v1/{a}b", "unexpected 'b'"},
        InvalidCase{"QueryInTemplate", "/v1/echo?x=1", "invalid character '?'"},
        InvalidCase{"Space", "/v1/a b", "invalid character byte 0x20"},
        InvalidCase{"NonAscii", "/v1/\xC3\xA9", "invalid character byte 0xC3"},
        InvalidCase{"BadEscape", "/v1/a%zz", "invalid percent-escape at offset 5"},
        InvalidCase{"TruncatedEscape", "/v1/a%2", "invalid percent-escape"}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(HttpTemplateTest, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(HttpTemplate::Parse("v1", nullptr).has_value());
  EXPECT_TRUE(HttpTemplate::Parse("/v1", nullptr).has_value());
}

TEST(HttpTemplateTest, BraceVariableEqualsStarVariable) {
  auto a = HttpTemplate::Parse("/v1/{x}", nullptr);
  auto b = HttpTemplate::Parse("/v1/{x=*}", nullptr);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(Segments(*a), Segments(*b));
  EXPECT_EQ(Variables(*a), Variables(*b));
}

TEST(HttpTemplateTest, IsAValueType) {
  auto t = HttpTemplate::Parse("/v1/{name=a/*}:go", nullptr);
  ASSERT_TRUE(t);
  HttpTemplate copy = *t;
  t->segments.clear();
  EXPECT_EQ(Segments(copy), "v1|a|*");
  EXPECT_EQ(copy.verb, "go");
}

}  // namespace
}  // namespace portico::transcoder
