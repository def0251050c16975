// Stream framing (stream_framing.h): request bodies split into messages (NDJSON or one JSON
// array), and the NDJSON / SSE encoders of replies.
#include "transcoder/stream_framing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::transcoder {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::size_t kLimit = 1024;

// Feeds `body` in pieces of `piece` bytes (0: all at once), then finishes.
Status Split(std::string_view body, std::vector<std::string>* out, std::size_t piece = 0,
             std::size_t limit = kLimit) {
  MessageSplitter splitter(limit);
  if (piece == 0) piece = body.size() + 1;
  for (std::size_t i = 0; i < body.size(); i += piece) {
    Status s = splitter.Feed(body.substr(i, piece), out);
    if (!s.ok()) return s;
  }
  return splitter.Finish(out);
}

struct SplitCase {
  std::string name;
  std::string body;
  std::vector<std::string> messages;
};

class SplitTest : public ::testing::TestWithParam<SplitCase> {};

// Whatever the pieces the bytes arrive in, the same messages come out.
TEST_P(SplitTest, SameMessagesInAnyPieces) {
  const SplitCase& c = GetParam();
  for (std::size_t piece : {0, 1, 2, 3, 7}) {
    std::vector<std::string> out;
    Status s = Split(c.body, &out, piece);
    ASSERT_TRUE(s.ok()) << "piece " << piece << ": " << s.message();
    EXPECT_EQ(out, c.messages) << "piece " << piece;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ndjson, SplitTest,
    ::testing::Values(
        SplitCase{"Empty", "", {}},
        SplitCase{"OnlyBlanks", " \n\t\r\n", {}},
        SplitCase{"Lines", "{\"a\":1}\n{\"a\":2}\n", {"{\"a\":1}", "{\"a\":2}"}},
        SplitCase{"LastLineWithoutNewline", "{\"a\":1}\n{\"a\":2}", {"{\"a\":1}", "{\"a\":2}"}},
        SplitCase{"BlankLinesSkipped", "\n{}\n  \n\n{\"b\":[1]}\n", {"{}", "{\"b\":[1]}"}},
        // CR stays on the line: JSON parsers read it as whitespace.
        SplitCase{"CrLf", "{}\r\n{}\r\n", {"{}\r", "{}\r"}},
        // A line is a message whatever it holds; its JSON is checked later by the codec.
        SplitCase{"NotJson", "x\n{", {"x", "{"}},
        SplitCase{"BracketsInAString", "{\"s\":\"[\"}\n", {"{\"s\":\"[\"}"}}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    JsonArray, SplitTest,
    ::testing::Values(
        SplitCase{"EmptyArray", "[]", {}},
        SplitCase{"EmptyArrayWithBlanks", " \n[ \n ] \n", {}},
        SplitCase{"Messages", "[{\"a\":1},{\"a\":2}]", {"{\"a\":1}", "{\"a\":2}"}},
        SplitCase{"BlanksAroundElements", "[ {\"a\":1} ,\n{\"a\":2}\n]",
                  {" {\"a\":1} ", "\n{\"a\":2}\n"}},
        SplitCase{"NestedBrackets", "[{\"a\":[1,{\"b\":[2]}]},[3,4]]",
                  {"{\"a\":[1,{\"b\":[2]}]}", "[3,4]"}},
        SplitCase{"CommasAndBracketsInStrings", R"([{"s":"a,]}"},{"t":"\"],"}])",
                  {R"({"s":"a,]}"})", R"({"t":"\"],"})"}},
        SplitCase{"EscapedBackslashEndsTheString", R"([{"s":"\\"},{"t":1}])",
                  {R"({"s":"\\"})", R"({"t":1})"}},
        SplitCase{"Scalars", "[1, \"x\", null]", {"1", " \"x\"", " null"}}),
    [](const auto& info) { return info.param.name; });

struct BrokenCase {
  std::string name;
  std::string body;
  std::string message;  // a part of the error's message
};

class BrokenFramingTest : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenFramingTest, IsInvalidArgument) {
  const BrokenCase& c = GetParam();
  for (std::size_t piece : {0, 1, 4}) {
    std::vector<std::string> out;
    Status s = Split(c.body, &out, piece);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << "piece " << piece;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << "piece " << piece;
  }
}

INSTANTIATE_TEST_SUITE_P(
    JsonArray, BrokenFramingTest,
    ::testing::Values(
        BrokenCase{"EmptyElement", "[1,,2]", "empty element"},
        BrokenCase{"LeadingComma", "[,1]", "empty element"},
        BrokenCase{"TrailingComma", "[1,]", "empty element"},
        BrokenCase{"NotClosed", "[{\"a\":1}", "not closed"},
        BrokenCase{"NotClosedInsideAnElement", "[{\"a\":[1,2]", "not closed"},
        BrokenCase{"Unbalanced", "[{}}]", "unbalanced"},
        BrokenCase{"DataAfterTheArray", "[{}] {}", "after the JSON array"}),
    [](const auto& info) { return info.param.name; });

TEST(MessageSplitterTest, MessagesComeOutAsSoonAsTheyEnd) {
  MessageSplitter splitter(kLimit);
  std::vector<std::string> out;
  ASSERT_TRUE(splitter.Feed("{\"a\":1}\n{\"a\"", &out).ok());
  EXPECT_THAT(out, ElementsAre("{\"a\":1}"));
  ASSERT_TRUE(splitter.Feed(":2}\n", &out).ok());
  EXPECT_THAT(out, ElementsAre("{\"a\":1}", "{\"a\":2}"));

  MessageSplitter array(kLimit);
  std::vector<std::string> elements;
  ASSERT_TRUE(array.Feed("[{\"a\":1},{\"a\"", &elements).ok());
  EXPECT_THAT(elements, ElementsAre("{\"a\":1}"));
  ASSERT_TRUE(array.Feed(":2}]", &elements).ok());
  EXPECT_THAT(elements, ElementsAre("{\"a\":1}", "{\"a\":2}"));
  ASSERT_TRUE(array.Finish(&elements).ok());
  EXPECT_EQ(elements.size(), 2u);
}

TEST(MessageSplitterTest, MessageLimitInBothFormats) {
  const std::string at_limit = "\"" + std::string(kLimit - 2, 'x') + "\"";
  const std::string over = "\"" + std::string(kLimit - 1, 'x') + "\"";
  std::vector<std::string> out;
  EXPECT_TRUE(Split(at_limit + "\n", &out).ok());
  EXPECT_TRUE(Split("[" + at_limit + "]", &out).ok());
  for (const std::string& body : {over + "\n", over, "[" + over + "]", "[" + over}) {
    for (std::size_t piece : {0, 1}) {
      out.clear();
      Status s = Split(body, &out, piece);
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << body.size() << " piece " << piece;
      EXPECT_THAT(s.message(), HasSubstr("exceeds the limit of 1024 bytes"));
    }
  }
}

// A peer that never ends a line or an element cannot grow the buffer past the limit.
TEST(MessageSplitterTest, EndlessMessageStopsAtTheLimit) {
  MessageSplitter splitter(kLimit);
  std::vector<std::string> out;
  const std::string chunk(100, 'x');
  Status s;
  int fed = 0;
  while (s.ok() && fed < 1000) {
    s = splitter.Feed(chunk, &out);
    ++fed;
  }
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_LE(fed, 11);
  EXPECT_THAT(out, IsEmpty());
}

TEST(StreamEncodersTest, Ndjson) {
  EXPECT_EQ(NdjsonResult(R"({"a":1})"), "{\"result\":{\"a\":1}}\n");
  EXPECT_EQ(NdjsonResult("{}"), "{\"result\":{}}\n");
  EXPECT_EQ(NdjsonError(R"({"code":5,"message":"x","details":[]})"),
            "{\"error\":{\"code\":5,\"message\":\"x\",\"details\":[]}}\n");
}

TEST(StreamEncodersTest, Sse) {
  EXPECT_EQ(SseData(R"({"a":1})"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(SseError(R"({"code":14,"message":"down"})"),
            "event: error\ndata: {\"code\":14,\"message\":\"down\"}\n\n");
}

}  // namespace
}  // namespace portico::transcoder
