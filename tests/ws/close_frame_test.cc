// ws/close_frame.h: close reasons browsers accept, and the close codes a peer may send.
#include "ws/close_frame.h"

#include <string>

#include <gtest/gtest.h>

#include "transcoder/utf8.h"

namespace portico::ws {
namespace {

TEST(CloseReasonTest, ShortAsciiIsKept) {
  EXPECT_EQ(CloseReason(""), "");
  EXPECT_EQ(CloseReason("not found"), "not found");
}

TEST(CloseReasonTest, LongAsciiIsCutTo123Bytes) {
  const std::string message(300, 'r');
  EXPECT_EQ(CloseReason(message), std::string(123, 'r'));
  EXPECT_EQ(CloseReason(std::string(123, 'a')), std::string(123, 'a'));
}

TEST(CloseReasonTest, TwoByteCharactersAreCutAtABoundary) {
  std::string message;
  for (int i = 0; i < 100; ++i) message += "\xC3\xA9";  // é: 123 would split the 62nd
  const std::string reason = CloseReason(message);
  EXPECT_EQ(reason.size(), 122u);
  EXPECT_TRUE(transcoder::IsValidUtf8(reason));
  EXPECT_EQ(message.compare(0, reason.size(), reason), 0);
}

TEST(CloseReasonTest, ThreeAndFourByteCharactersAreCutAtABoundary) {
  std::string three;
  for (int i = 0; i < 60; ++i) three += "\xE2\x82\xAC";  // €
  EXPECT_EQ(CloseReason(three).size(), 123u);          // 41 whole characters fit exactly
  EXPECT_EQ(CloseReason("x" + three).size(), 121u);    // 1 + 40 * 3
  std::string four;
  for (int i = 0; i < 40; ++i) four += "\xF0\x9F\x98\x80";  // U+1F600
  const std::string reason = CloseReason(four);
  EXPECT_EQ(reason.size(), 120u);
  EXPECT_TRUE(transcoder::IsValidUtf8(reason));
}

TEST(CloseReasonTest, InvalidUtf8BecomesQuestionMarks) {
  EXPECT_EQ(CloseReason("a\xFF" "b\xC3"), "a?b?");
  EXPECT_EQ(CloseReason("\xED\xA0\x80"), "???");  // a surrogate, not a character
  std::string message = "\xFF";
  for (int i = 0; i < 100; ++i) message += "\xC3\xA9";
  const std::string reason = CloseReason(message);
  EXPECT_EQ(reason.size(), 123u);  // "?" + 61 * 2
  EXPECT_TRUE(transcoder::IsValidUtf8(reason));
}

TEST(Utf8PrefixTest, NeverEndsInsideACharacter) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC";  // a é €
  EXPECT_EQ(transcoder::Utf8Prefix(s, 0), "");
  EXPECT_EQ(transcoder::Utf8Prefix(s, 1), "a");
  EXPECT_EQ(transcoder::Utf8Prefix(s, 2), "a");
  EXPECT_EQ(transcoder::Utf8Prefix(s, 3), "a\xC3\xA9");
  EXPECT_EQ(transcoder::Utf8Prefix(s, 5), "a\xC3\xA9");
  EXPECT_EQ(transcoder::Utf8Prefix(s, 6), s);
  EXPECT_EQ(transcoder::Utf8Prefix(s, 100), s);
}

TEST(CloseCodeTest, WhatAPeerMaySend) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   4000, 4999}) {
    EXPECT_TRUE(IsValidPeerCloseCode(static_cast<std::uint16_t>(code))) << code;
  }
  for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(IsValidPeerCloseCode(static_cast<std::uint16_t>(code))) << code;
  }
}

}  // namespace
}  // namespace portico::ws
