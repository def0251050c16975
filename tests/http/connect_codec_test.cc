// The Connect protocol's wire pieces (http/connect_codec.h), against the spec
// (https://connectrpc.com/docs/protocol): codes, error JSON, end-stream, envelopes, headers,
// the GET query.
#include "http/connect_codec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "transcoder/base64.h"
#include "transcoder/status_mapping.h"

namespace portico::http::connect {
namespace {

TEST(ConnectCodes, NamesAndHttpStatusFollowTheSpecTable) {
  struct Row {
    Code code;
    std::string_view name;
    int http;
  };
  const Row rows[] = {
      {Code::kCancelled, "canceled", 499},          {Code::kUnknown, "unknown", 500},
      {Code::kInvalidArgument, "invalid_argument", 400},
      {Code::kDeadlineExceeded, "deadline_exceeded", 504},
      {Code::kNotFound, "not_found", 404},          {Code::kAlreadyExists, "already_exists", 409},
      {Code::kPermissionDenied, "permission_denied", 403},
      {Code::kResourceExhausted, "resource_exhausted", 429},
      {Code::kFailedPrecondition, "failed_precondition", 400},
      {Code::kAborted, "aborted", 409},             {Code::kOutOfRange, "out_of_range", 400},
      {Code::kUnimplemented, "unimplemented", 501}, {Code::kInternal, "internal", 500},
      {Code::kUnavailable, "unavailable", 503},     {Code::kDataLoss, "data_loss", 500},
      {Code::kUnauthenticated, "unauthenticated", 401},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(CodeName(row.code), row.name);
    EXPECT_EQ(CodeFromName(row.name), row.code);
    EXPECT_EQ(transcoder::HttpStatusFromCode(row.code), row.http) << row.name;
  }
  EXPECT_EQ(CodeName(Code::kOk), "unknown");  // never an error code
  EXPECT_EQ(CodeFromName("cancelled"), std::nullopt);  // gRPC's spelling is not Connect's
  EXPECT_EQ(CodeFromName("ok"), std::nullopt);
}

std::string DetailsBin() {
  google::rpc::Status status;
  status.set_code(3);
  google::rpc::ErrorInfo info;
  info.set_reason("TEST_REASON");
  info.set_domain("portico.test");
  status.add_details()->PackFrom(info);
  return status.SerializeAsString();
}

TEST(ConnectErrorJson, CodeMessageAndDetails) {
  const auto json = nlohmann::json::parse(ErrorJson(Code::kNotFound, "no such item"));
  EXPECT_EQ(json, (nlohmann::json{{"code", "not_found"}, {"message", "no such item"}}));

  const auto with = nlohmann::json::parse(ErrorJson(Code::kInvalidArgument, "bad", DetailsBin()));
  ASSERT_EQ(with["details"].size(), 1u) << with;
  const auto& detail = with["details"][0];
  EXPECT_EQ(detail["type"], "google.rpc.ErrorInfo");  // no type.googleapis.com/ prefix
  const std::string value = detail["value"];
  EXPECT_EQ(value.find('='), std::string::npos) << "base64 without padding";
  std::string bytes;
  ASSERT_TRUE(transcoder::Base64Decode(value, &bytes));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(info.ParseFromString(bytes));
  EXPECT_EQ(info.reason(), "TEST_REASON");
  EXPECT_EQ(detail["debug"]["reason"], "TEST_REASON");
}

TEST(ConnectErrorJson, EmptyMessageAndUndecodableDetailsAreLeftOut) {
  EXPECT_EQ(nlohmann::json::parse(ErrorJson(Code::kInternal, "", "\xff\xff not a Status")),
            (nlohmann::json{{"code", "internal"}}));
  // Invalid UTF-8 from a backend still gives JSON.
  EXPECT_TRUE(nlohmann::json::accept(ErrorJson(Code::kUnknown, "bad \xc3\x28 text")));
}

TEST(ConnectEndStream, ErrorAndMetadata) {
  EXPECT_EQ(EndStreamJson(Code::kOk, "", "", nullptr, {}), "{}");
  const auto ok = nlohmann::json::parse(
      EndStreamJson(Code::kOk, "", "", nullptr,
                    {{"x-trailer", "a"}, {"x-trailer", "b"}, {"x-bin", std::string("\x00\x01", 2)},
                     {"grpc-status", "0"}}));
  EXPECT_EQ(ok, (nlohmann::json{{"metadata", {{"x-trailer", {"a", "b"}}, {"x-bin", {"AAE"}}}}}));
  const auto failed = nlohmann::json::parse(
      EndStreamJson(Code::kResourceExhausted, "too many", DetailsBin(), nullptr, {}));
  EXPECT_EQ(failed["error"]["code"], "resource_exhausted");
  EXPECT_EQ(failed["error"]["message"], "too many");
  EXPECT_EQ(failed["error"]["details"].size(), 1u);
  EXPECT_FALSE(failed.contains("metadata"));
}

TEST(ConnectHeaders, WhatMayGoOutAsAHeader) {
  EXPECT_TRUE(ReplyHeaderKey("x-reply-header"));
  EXPECT_FALSE(ReplyHeaderKey("grpc-status"));
  EXPECT_FALSE(ReplyHeaderKey("content-type"));
  EXPECT_FALSE(ReplyHeaderKey("transfer-encoding"));
  EXPECT_FALSE(ReplyHeaderKey(":status"));
  EXPECT_FALSE(ReplyHeaderKey("bad key"));
  EXPECT_EQ(ReplyHeaderValue("k-bin", std::string("\xff", 1)), "/w");
  EXPECT_EQ(ReplyHeaderValue("k", "a\r\nb"), "a  b");
}

TEST(ConnectEnvelope, RoundTripInAnyPieces) {
  std::string bytes;
  AppendEnvelope(&bytes, 0, "hello");
  AppendEnvelope(&bytes, kFlagCompressed, "");
  AppendEnvelope(&bytes, 0, std::string(300, 'x'));
  EXPECT_EQ(bytes.substr(0, 5), std::string("\x00\x00\x00\x00\x05", 5));
  EnvelopeReader reader(1024);
  std::vector<Envelope> out;
  for (char c : bytes) {  // one byte at a time: every split point
    ASSERT_TRUE(reader.Feed(std::string_view(&c, 1), &out).ok());
  }
  EXPECT_TRUE(reader.idle());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload, "hello");
  EXPECT_EQ(out[1].flags, kFlagCompressed);
  EXPECT_EQ(out[1].payload, "");
  EXPECT_EQ(out[2].payload.size(), 300u);

  EnvelopeReader partial(1024);
  ASSERT_TRUE(partial.Feed(bytes.substr(0, 7), &out).ok());
  EXPECT_FALSE(partial.idle());
}

TEST(ConnectEnvelope, TooLargeAndBadFlagsAreClearStickyErrors) {
  EnvelopeReader reader(10);
  std::vector<Envelope> out;
  // Declares 4 GiB - 1: refused from the prefix alone, nothing buffered.
  const Status big = reader.Feed(std::string("\x00\xff\xff\xff\xff", 5), &out);
  EXPECT_EQ(big.code(), Code::kResourceExhausted);
  EXPECT_NE(big.message().find("4294967295"), std::string::npos) << big.message();
  EXPECT_EQ(reader.Feed(std::string("\x00\x00\x00\x00\x00", 5), &out).code(),
            Code::kResourceExhausted);
  EXPECT_TRUE(out.empty());

  EnvelopeReader flags(10);
  const Status bad = flags.Feed(std::string("\x80\x00\x00\x00\x00", 5), &out);
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("0x80"), std::string::npos) << bad.message();
  EnvelopeReader end(10);  // a client never sends end-stream
  EXPECT_EQ(end.Feed(std::string("\x02\x00\x00\x00\x00", 5), &out).code(),
            Code::kInvalidArgument);
}

TEST(ConnectTimeout, OneToTenDigits) {
  EXPECT_EQ(ParseTimeoutMs("").value(), std::nullopt);
  EXPECT_EQ(ParseTimeoutMs("1500").value(), std::chrono::milliseconds(1500));
  EXPECT_EQ(ParseTimeoutMs("0").value(), std::chrono::milliseconds(0));
  EXPECT_EQ(ParseTimeoutMs("9999999999").value(), std::chrono::milliseconds(9999999999));
  for (std::string_view bad : {"12345678901", "-1", "1.5", "1s", " 1", "abc"}) {
    auto parsed = ParseTimeoutMs(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("Connect-Timeout-Ms"), std::string::npos);
  }
}

TEST(ConnectMediaType, UnaryStreamingAndOtherCodecs) {
  auto json = ParseMediaType("application/json; charset=utf-8");
  ASSERT_TRUE(json);
  EXPECT_FALSE(json->streaming);
  EXPECT_EQ(json->codec, Codec::kJson);
  auto stream = ParseMediaType("Application/Connect+Proto");
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->streaming);
  EXPECT_EQ(stream->codec, Codec::kProto);
  auto xml = ParseMediaType("application/connect+xml");
  ASSERT_TRUE(xml);
  EXPECT_EQ(xml->codec_name, "xml");
  EXPECT_FALSE(xml->codec);
  EXPECT_FALSE(ParseMediaType("text/plain"));
  EXPECT_FALSE(ParseMediaType(""));
  EXPECT_EQ(ReplyMediaType(Codec::kJson, false), "application/json");
  EXPECT_EQ(ReplyMediaType(Codec::kProto, true), "application/connect+proto");
}

TEST(ConnectGetQuery, JsonPercentEncodedAndProtoBase64) {
  auto json = ParseGetQuery("connect=v1&encoding=json&message=%7B%22name%22%3A%22a%20b%22%7D");
  ASSERT_TRUE(json.ok()) << json.status().message();
  EXPECT_EQ(json->codec, Codec::kJson);
  EXPECT_EQ(json->message, R"({"name":"a b"})");
  EXPECT_EQ(json->compression, "");

  // "\x1a\x01\xfb\xff" in URL-safe base64 without padding; extra parameters are ignored.
  auto proto =
      ParseGetQuery("message=GgH7_w&encoding=proto&base64=1&connect=v1&compression=gzip&t=1");
  ASSERT_TRUE(proto.ok()) << proto.status().message();
  EXPECT_EQ(proto->codec, Codec::kProto);
  EXPECT_EQ(proto->message, std::string("\x1a\x01\xfb\xff", 4));
  EXPECT_EQ(proto->compression, "gzip");

  // base64 other than 1 is ignored: the message is taken as percent-encoded text.
  auto ignored = ParseGetQuery("connect=v1&encoding=json&base64=yes&message=%7B%7D");
  ASSERT_TRUE(ignored.ok()) << ignored.status().message();
  EXPECT_EQ(ignored->message, "{}");
}

TEST(ConnectGetQuery, BadQueriesAreClearErrors) {
  struct Case {
    std::string_view query;
    Code code;
    std::string_view says;
  };
  const Case cases[] = {
      {"encoding=json&message=%7B%7D", Code::kInvalidArgument, "connect=v1"},
      {"connect=v2&encoding=json", Code::kInvalidArgument, "connect=v1"},
      {"connect=v1&message=%7B%7D", Code::kInvalidArgument, "encoding"},
      {"connect=v1&encoding=xml", Code::kUnimplemented, "xml"},
      {"connect=v1&encoding=json&encoding=json", Code::kInvalidArgument, "twice"},
      {"connect=v1&encoding=proto&base64=1&message=%%%", Code::kInvalidArgument, "base64"},
      {"", Code::kInvalidArgument, "connect=v1"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseGetQuery(c.query);
    ASSERT_FALSE(parsed.ok()) << c.query;
    EXPECT_EQ(parsed.status().code(), c.code) << c.query;
    EXPECT_NE(parsed.status().message().find(c.says), std::string::npos)
        << c.query << ": " << parsed.status().message();
  }
}

}  // namespace
}  // namespace portico::http::connect
