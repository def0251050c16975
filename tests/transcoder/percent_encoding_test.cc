#include "transcoder/percent_encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace portico::transcoder {
namespace {

struct DecodeCase {
  const char* name;
  std::string input;
  DecodeMode mode;
  std::string expected;
};

class PercentDecodeTest : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(PercentDecodeTest, Decodes) {
  const DecodeCase& c = GetParam();
  EXPECT_EQ(PercentDecode(c.input, c.mode), c.expected) << c.input;
  // The allocation-free variant agrees.
  std::string buffer(c.input.size(), '?');
  buffer.resize(PercentDecodeInto(c.input, c.mode, buffer.data()));
  EXPECT_EQ(buffer, c.expected) << c.input;
}

constexpr DecodeMode kAll = DecodeMode::kAll;
constexpr DecodeMode kKeep = DecodeMode::kKeepEscapedSlash;

INSTANTIATE_TEST_SUITE_P(
    PercentEncoding, PercentDecodeTest,
    ::testing::Values(DecodeCase{"Empty", "", kAll, ""},
                      DecodeCase{"Plain", "hello", kAll, "hello"},
                      DecodeCase{"Space", "a%20b", kAll, "a b"},
                      DecodeCase{"LowerHex", "%e2%82%ac", kAll, "\xE2\x82\xAC"},
                      DecodeCase{"UpperHex", "%E2%82%AC", kAll, "\xE2\x82\xAC"},
                      DecodeCase{"SlashDecodedInAll", "a%2Fb%2fc", kAll, "a/b/c"},
                      DecodeCase{"SlashKeptInMulti", "a%2Fb%2fc", kKeep, "a%2Fb%2fc"},
                      DecodeCase{"OthersDecodedInMulti", "x/a%20b%3Ac%2F", kKeep, "x/a b:c%2F"},
                      DecodeCase{"PlusIsNotSpace", "a+b", kAll, "a+b"},
                      DecodeCase{"EncodedPlus", "%2B", kAll, "+"},
                      DecodeCase{"InvalidHexKept", "%zz%4g", kAll, "%zz%4g"},
                      DecodeCase{"TruncatedKept", "ab%4", kAll, "ab%4"},
                      DecodeCase{"LonePercentKept", "%", kAll, "%"},
                      DecodeCase{"PercentThenEscape", "%%41", kAll, "%A"},
                      DecodeCase{"EncodedPercentNotDoubleDecoded", "%2541", kAll, "%41"},
                      DecodeCase{"NulByte", "a%00b", kAll, std::string("a\0b", 3)}),
    [](const auto& test) { return std::string(test.param.name); });

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct QueryCase {
  const char* name;
  const char* query;
  Pairs expected;
};

class ParseQueryStringTest : public ::testing::TestWithParam<QueryCase> {};

TEST_P(ParseQueryStringTest, Splits) {
  const QueryCase& c = GetParam();
  EXPECT_EQ(ParseQueryString(c.query), c.expected) << c.query;
}

INSTANTIATE_TEST_SUITE_P(
    PercentEncoding, ParseQueryStringTest,
    ::testing::Values(
        QueryCase{"Empty", "", {}},
        QueryCase{"Doc", "a=1&b=x%20y&c&d=+", {{"a", "1"}, {"b", "x y"}, {"c", ""}, {"d", " "}}},
        QueryCase{"PlusIsSpace", "q=hello+world", {{"q", "hello world"}}},
        QueryCase{"EncodedPlusIsPlus", "q=1%2B1", {{"q", "1+1"}}},
        QueryCase{"KeyDecoded", "inner.s%5B0%5D=x&a+b=1", {{"inner.s[0]", "x"}, {"a b", "1"}}},
        QueryCase{"MissingEquals", "flag", {{"flag", ""}}},
        QueryCase{"EmptyValue", "a=", {{"a", ""}}},
        QueryCase{"EmptyPieces", "&&a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
        QueryCase{"EmptyKeySkipped", "=x&a=1&=", {{"a", "1"}}},
        QueryCase{"OnlyFirstEqualsSplits", "a=b=c", {{"a", "b=c"}}},
        QueryCase{"RepeatedKeyKeepsOrder",
                  "r=1&r=2&s=3&r=4",
                  {{"r", "1"}, {"r", "2"}, {"s", "3"}, {"r", "4"}}},
        QueryCase{
            "InvalidEscapesKept", "a=%zz&b=%4&c=100%", {{"a", "%zz"}, {"b", "%4"}, {"c", "100%"}}},
        QueryCase{"SlashDecoded", "p=a%2Fb", {{"p", "a/b"}}},
        QueryCase{"Utf8", "name=%C3%A9t%C3%A9", {{"name", "\xC3\xA9t\xC3\xA9"}}}),
    [](const auto& test) { return std::string(test.param.name); });

}  // namespace
}  // namespace portico::transcoder
