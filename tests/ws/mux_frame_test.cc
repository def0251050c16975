// ws/mux_frame.h: every shape of a "portico.mux.v1" client frame, good and bad, without sockets.
#include "ws/mux_frame.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portico::ws {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(MuxFrameTest, StartWithMetadata) {
  auto f = ParseMuxFrame(R"({"id":1,"method":"/a.B/C","metadata":{"x-k":"v","y":"w"}})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->id, 1);
  EXPECT_EQ(f->method, "/a.B/C");
  EXPECT_THAT(f->metadata, ElementsAre(Pair("x-k", "v"), Pair("y", "w")));
  EXPECT_FALSE(f->message);
  EXPECT_FALSE(f->end);
  EXPECT_FALSE(f->cancel);
}

TEST(MuxFrameTest, MetadataIsPassedAsSentForTheSessionToCheck) {
  auto f = ParseMuxFrame(R"({"id":1,"method":"/a.B/C","metadata":{"Bad Key":"v"}})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_THAT(f->metadata, ElementsAre(Pair("Bad Key", "v")));
}

TEST(MuxFrameTest, MessageIsKeptAsJsonText) {
  auto f = ParseMuxFrame(R"({"id":-7,"message":{"a":[1,"x"],"b":{"c":true}}})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->id, -7);
  EXPECT_EQ(f->message, R"({"a":[1,"x"],"b":{"c":true}})");
  EXPECT_FALSE(f->method);
}

TEST(MuxFrameTest, StartMessageAndEndInOneFrame) {
  auto f = ParseMuxFrame(R"({"id":2,"method":"/a.B/C","message":{},"end":true})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->method, "/a.B/C");
  EXPECT_EQ(f->message, "{}");
  EXPECT_TRUE(f->end);
}

TEST(MuxFrameTest, EndAndCancelFlags) {
  auto end = ParseMuxFrame(R"({"id":3,"end":true})");
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->end);
  auto cancel = ParseMuxFrame(R"({"id":3,"cancel":true})");
  ASSERT_TRUE(cancel.ok());
  EXPECT_TRUE(cancel->cancel);
  auto neither = ParseMuxFrame(R"({"id":3,"end":false,"cancel":false})");
  ASSERT_TRUE(neither.ok());
  EXPECT_FALSE(neither->end);
  EXPECT_FALSE(neither->cancel);
}

TEST(MuxFrameTest, UnknownKeysAreIgnored) {
  auto f = ParseMuxFrame(R"({"id":4,"end":true,"future":{"x":1}})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_TRUE(f->end);
}

TEST(MuxFrameTest, LargestAndSmallestIds) {
  auto max = ParseMuxFrame(R"({"id":9223372036854775807,"end":true})");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->id, INT64_MAX);
  auto min = ParseMuxFrame(R"({"id":-9223372036854775808,"end":true})");
  ASSERT_TRUE(min.ok());
  EXPECT_EQ(min->id, INT64_MIN);
}

TEST(MuxFrameTest, NestingUpToTheLimitPasses) {
  std::string deep = R"({"id":1,"message":)";
  for (int i = 1; i < kMaxMuxFrameDepth; ++i) deep += '[';
  for (int i = 1; i < kMaxMuxFrameDepth; ++i) deep += ']';
  deep += '}';
  EXPECT_TRUE(ParseMuxFrame(deep).ok());
}

TEST(MuxFrameTest, BracketsInsideStringsDoNotCount) {
  const std::string brackets(1000, '[');
  auto f = ParseMuxFrame(R"({"id":1,"message":{"s":")" + brackets + R"(\"["}})");
  ASSERT_TRUE(f.ok()) << f.status().message();
}

struct BadFrame {
  std::string name;
  std::string text;
  std::string message;              // the status message
  std::optional<std::int64_t> id;  // the id the error goes to, if any
};

class MuxFrameBadTest : public ::testing::TestWithParam<BadFrame> {};

TEST_P(MuxFrameBadTest, IsInvalidArgument) {
  const BadFrame& bad = GetParam();
  std::optional<std::int64_t> id = 12345;  // overwritten either way
  auto f = ParseMuxFrame(bad.text, &id);
  ASSERT_FALSE(f.ok()) << bad.text;
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(f.status().message(), bad.message);
  EXPECT_EQ(id, bad.id);
  EXPECT_FALSE(ParseMuxFrame(bad.text).ok());  // also without asking for the id
}

std::string Nested(int depth) {
  return R"({"id":1,"message":)" + std::string(static_cast<std::size_t>(depth - 1), '[') +
         std::string(static_cast<std::size_t>(depth - 1), ']') + "}";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MuxFrameBadTest,
    ::testing::Values(
        // The frames of fault 1a (issue 8): these aborted the process.
        BadFrame{"EndNull", R"({"id":1,"end":null})", "\"end\" must be true or false", 1},
        BadFrame{"EndString", R"({"id":1,"end":"x"})", "\"end\" must be true or false", 1},
        BadFrame{"CancelNull", R"({"id":1,"cancel":null})", "\"cancel\" must be true or false", 1},
        BadFrame{"EndNumber", R"({"id":1,"end":1})", "\"end\" must be true or false", 1},
        BadFrame{"CancelObject", R"({"id":1,"cancel":{}})", "\"cancel\" must be true or false", 1},
        BadFrame{"MethodNumber", R"({"id":2,"method":5})", "\"method\" must be a string", 2},
        BadFrame{"MethodNull", R"({"id":2,"method":null})", "\"method\" must be a string", 2},
        BadFrame{"MetadataArray", R"({"id":2,"method":"/a.B/C","metadata":["k"]})",
                 "\"metadata\" must be an object of strings", 2},
        BadFrame{"MetadataString", R"({"id":2,"method":"/a.B/C","metadata":"k"})",
                 "\"metadata\" must be an object of strings", 2},
        BadFrame{"MetadataNumberValue", R"({"id":2,"method":"/a.B/C","metadata":{"k":1}})",
                 "\"metadata\" values must be strings", 2},
        BadFrame{"MetadataNullValue", R"({"id":2,"method":"/a.B/C","metadata":{"k":null}})",
                 "\"metadata\" values must be strings", 2},
        BadFrame{"MetadataWithoutMethod", R"({"id":2,"metadata":{}})",
                 "\"metadata\" is only allowed beside \"method\"", 2},
        BadFrame{"NothingToDo", R"({"id":3})",
                 "frame has none of \"method\", \"message\", \"end\", \"cancel\"", 3},
        BadFrame{"OnlyUnknownKeys", R"({"id":3,"ended":true})",
                 "frame has none of \"method\", \"message\", \"end\", \"cancel\"", 3},
        // No usable id: the error cannot name a call.
        BadFrame{"NoId", R"({"end":true})", "frame has no integer \"id\"", std::nullopt},
        BadFrame{"IdString", R"({"id":"1","end":true})", "frame has no integer \"id\"",
                 std::nullopt},
        BadFrame{"IdFloat", R"({"id":1.5,"end":true})", "frame has no integer \"id\"",
                 std::nullopt},
        BadFrame{"IdNull", R"({"id":null,"end":true})", "frame has no integer \"id\"",
                 std::nullopt},
        BadFrame{"IdBeyondInt64", R"({"id":9223372036854775808,"end":true})",
                 "frame has no integer \"id\"", std::nullopt},
        BadFrame{"IdHuge", R"({"id":1e30,"end":true})", "frame has no integer \"id\"",
                 std::nullopt},
        BadFrame{"NotJson", R"({"id":1,"message":)", "frame is not a JSON object", std::nullopt},
        BadFrame{"Empty", "", "frame is not a JSON object", std::nullopt},
        BadFrame{"Array", R"([{"id":1}])", "frame is not a JSON object", std::nullopt},
        BadFrame{"Number", "1", "frame is not a JSON object", std::nullopt},
        BadFrame{"String", R"("id")", "frame is not a JSON object", std::nullopt},
        BadFrame{"TrailingJunk", R"({"id":1,"end":true} x)", "frame is not a JSON object",
                 std::nullopt},
        BadFrame{"InvalidUtf8", "{\"id\":1,\"message\":{\"s\":\"\xC3\x28\"}}",
                 "frame is not a JSON object", std::nullopt},
        BadFrame{"TooDeep", Nested(kMaxMuxFrameDepth + 1), "frame nests deeper than 128 levels",
                 std::nullopt},
        BadFrame{"TwentyThousandBrackets", std::string(20000, '['),
                 "frame nests deeper than 128 levels", std::nullopt}),
    [](const ::testing::TestParamInfo<BadFrame>& info) { return info.param.name; });

}  // namespace
}  // namespace portico::ws
