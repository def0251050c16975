// The reflection conversation (upstream/reflection_conversation.h) on scripted answers: the
// order of questions, dependencies fetched by name, and every way an answer can be wrong.
#include "upstream/reflection_conversation.h"

#include <gtest/gtest.h>

#include "grpc/reflection/v1/reflection.pb.h"

namespace portico::upstream {
namespace {

namespace refl = ::grpc::reflection::v1;
using google::protobuf::FileDescriptorProto;

FileDescriptorProto File(const std::string& name, const std::string& package,
                         std::vector<std::string> deps = {},
                         std::vector<std::string> services = {}) {
  FileDescriptorProto f;
  f.set_name(name);
  f.set_package(package);
  f.set_syntax("proto3");
  for (const auto& d : deps) f.add_dependency(d);
  for (const auto& s : services) f.add_service()->set_name(s);
  return f;
}

std::string ListReply(std::vector<std::string> services) {
  refl::ServerReflectionResponse r;
  for (const auto& s : services) r.mutable_list_services_response()->add_service()->set_name(s);
  return r.SerializeAsString();
}

std::string FilesReply(const std::vector<FileDescriptorProto>& files) {
  refl::ServerReflectionResponse r;
  for (const auto& f : files) {
    r.mutable_file_descriptor_response()->add_file_descriptor_proto(f.SerializeAsString());
  }
  return r.SerializeAsString();
}

std::string ErrorReply(int code, const std::string& message) {
  refl::ServerReflectionResponse r;
  r.mutable_error_response()->set_error_code(code);
  r.mutable_error_response()->set_error_message(message);
  return r.SerializeAsString();
}

refl::ServerReflectionRequest Next(ReflectionConversation& c) {
  auto bytes = c.NextRequest();
  refl::ServerReflectionRequest r;
  EXPECT_TRUE(bytes.has_value());
  if (bytes) {
    EXPECT_TRUE(r.ParseFromString(*bytes));
  }
  return r;
}

TEST(ReflectionConversationTest, ListsThenAsksPerServiceThenFetchesMissingDependencies) {
  ReflectionConversation c;
  EXPECT_EQ(Next(c).message_request_case(), refl::ServerReflectionRequest::kListServices);
  EXPECT_FALSE(c.NextRequest().has_value());  // one question at a time
  ASSERT_TRUE(c.Fold(ListReply({"b.v1.B", "grpc.health.v1.Health", "a.v1.A",
                                "grpc.reflection.v1alpha.ServerReflection", "a.v1.A"}))
                  .ok());

  EXPECT_EQ(Next(c).file_containing_symbol(), "b.v1.B");
  // b.proto imports common.proto, which the server leaves out: asked for by name later.
  ASSERT_TRUE(c.Fold(FilesReply({File("b.proto", "b.v1", {"common.proto"}, {"B"})})).ok());
  EXPECT_EQ(Next(c).file_containing_symbol(), "a.v1.A");
  ASSERT_TRUE(c.Fold(FilesReply({File("a.proto", "a.v1", {"common.proto"}, {"A"})})).ok());
  EXPECT_EQ(Next(c).file_by_filename(), "common.proto");
  ASSERT_TRUE(c.Fold(FilesReply({File("common.proto", "common")})).ok());
  EXPECT_FALSE(c.NextRequest().has_value());
  ASSERT_TRUE(c.complete());

  auto api = c.Result();
  ASSERT_TRUE(api.ok()) << api.status().message();
  EXPECT_EQ(api->services, (std::vector<std::string>{"a.v1.A", "b.v1.B"}));
  ASSERT_EQ(api->files.file_size(), 3);
  EXPECT_EQ(api->files.file(0).name(), "common.proto");  // before both its importers
  EXPECT_EQ(api->files.file(1).name(), "a.proto");
  EXPECT_EQ(api->files.file(2).name(), "b.proto");
}

TEST(ReflectionConversationTest, AServiceDefinedByAnEarlierAnswerIsNotAskedAgain) {
  ReflectionConversation c;
  Next(c);
  ASSERT_TRUE(c.Fold(ListReply({"a.v1.A", "a.v1.B"})).ok());
  EXPECT_EQ(Next(c).file_containing_symbol(), "a.v1.A");
  ASSERT_TRUE(c.Fold(FilesReply({File("a.proto", "a.v1", {}, {"A", "B"})})).ok());
  EXPECT_FALSE(c.NextRequest().has_value());
  EXPECT_TRUE(c.complete());
  auto api = c.Result();
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(api->services, (std::vector<std::string>{"a.v1.A", "a.v1.B"}));
  EXPECT_EQ(api->files.file_size(), 1);
}

TEST(ReflectionConversationTest, AServerWithOnlyPlumbingHasNothingToAsk) {
  ReflectionConversation c;
  Next(c);
  ASSERT_TRUE(c.Fold(ListReply({"grpc.health.v1.Health"})).ok());
  EXPECT_FALSE(c.NextRequest().has_value());
  auto api = c.Result();
  ASSERT_TRUE(api.ok());
  EXPECT_TRUE(api->services.empty());
  EXPECT_EQ(api->files.file_size(), 0);
}

TEST(ReflectionConversationTest, AnErrorReplyEndsTheConversationNamingWhatWasAsked) {
  ReflectionConversation c;
  Next(c);
  ASSERT_TRUE(c.Fold(ListReply({"a.v1.A"})).ok());
  Next(c);
  Status s = c.Fold(ErrorReply(5, "Symbol not found: a.v1.A"));
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_EQ(s.message(),
            "server reflection could not answer for service \"a.v1.A\": NOT_FOUND: "
            "\"Symbol not found: a.v1.A\"");
  EXPECT_FALSE(c.NextRequest().has_value());
  EXPECT_EQ(c.Result().status().message(), s.message());  // sticky
  EXPECT_EQ(c.Fold(ListReply({})).message(), s.message());
}

TEST(ReflectionConversationTest, MalformedUnaskedAndMismatchedRepliesAreErrors) {
  {
    ReflectionConversation c;
    EXPECT_EQ(c.Fold(ListReply({})).message(), "server reflection sent an unasked reply");
  }
  {
    ReflectionConversation c;
    Next(c);
    EXPECT_EQ(c.Fold("\xff\xff\xff").message(),
              "server reflection sent a malformed ServerReflectionResponse");
  }
  {
    ReflectionConversation c;
    Next(c);
    EXPECT_EQ(c.Fold(FilesReply({})).message(),
              "server reflection sent an unexpected reply to list_services");
  }
  {
    ReflectionConversation c;
    Next(c);
    ASSERT_TRUE(c.Fold(ListReply({"a.v1.A"})).ok());
    Next(c);
    EXPECT_EQ(c.Fold(FilesReply({File("other.proto", "other", {}, {"A"})})).message(),
              "server reflection answered for service \"a.v1.A\" with files that do not "
              "define it");
  }
  {
    ReflectionConversation c;
    Next(c);
    ASSERT_TRUE(c.Fold(ListReply({"a.v1.A"})).ok());
    Next(c);
    refl::ServerReflectionResponse r;
    r.mutable_file_descriptor_response()->add_file_descriptor_proto("\x0a\x05");  // truncated
    EXPECT_EQ(c.Fold(r.SerializeAsString()).message(),
              "server reflection sent a malformed FileDescriptorProto");
  }
}

TEST(ReflectionConversationTest, LimitsOnServicesFilesAndBytes) {
  {
    ReflectionConversation c({.max_services = 2});
    Next(c);
    Status s = c.Fold(ListReply({"a.A", "a.B", "a.C"}));
    EXPECT_EQ(s.code(), Code::kResourceExhausted);
    EXPECT_EQ(s.message(), "server reflection lists more than 2 services");
  }
  {
    ReflectionConversation c({.max_files = 1});
    Next(c);
    ASSERT_TRUE(c.Fold(ListReply({"a.A"})).ok());
    Next(c);
    Status s = c.Fold(FilesReply({File("a.proto", "a", {"b.proto"}, {"A"}), File("b.proto", "b")}));
    EXPECT_EQ(s.code(), Code::kResourceExhausted);
    EXPECT_EQ(s.message(), "server reflection sent more than 1 files");
  }
  {
    ReflectionConversation c({.max_bytes = 20});
    Next(c);
    ASSERT_TRUE(c.Fold(ListReply({"a.A"})).ok());
    Next(c);
    Status s = c.Fold(FilesReply({File("a_rather_long_file_name.proto", "a", {}, {"A"})}));
    EXPECT_EQ(s.code(), Code::kResourceExhausted);
    EXPECT_EQ(s.message(), "server reflection sent more than 20 bytes of descriptors");
  }
}

TEST(ReflectionConversationTest, AMissingDependencyOrACycleFailsTheResult) {
  {
    ReflectionConversation c;
    Next(c);
    ASSERT_TRUE(c.Fold(ListReply({"a.A"})).ok());
    Next(c);
    ASSERT_TRUE(c.Fold(FilesReply({File("a.proto", "a", {"dep.proto"}, {"A"})})).ok());
    EXPECT_EQ(Next(c).file_by_filename(), "dep.proto");
    ASSERT_TRUE(c.Fold(FilesReply({File("unrelated.proto", "u")})).ok());  // not the file
    EXPECT_FALSE(c.NextRequest().has_value());
    EXPECT_EQ(c.Result().status().message(),
              "server reflection sent \"a.proto\" but not \"dep.proto\", which it imports");
  }
  {
    ReflectionConversation c;
    Next(c);
    ASSERT_TRUE(c.Fold(ListReply({"a.A"})).ok());
    Next(c);
    ASSERT_TRUE(c.Fold(FilesReply({File("a.proto", "a", {"b.proto"}, {"A"}),
                                   File("b.proto", "b", {"a.proto"})}))
                    .ok());
    EXPECT_FALSE(c.NextRequest().has_value());
    EXPECT_EQ(c.Result().status().code(), Code::kInternal);
    EXPECT_NE(c.Result().status().message().find("cycle"), std::string::npos);
  }
  {
    ReflectionConversation c;
    EXPECT_EQ(c.Result().status().code(), Code::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace portico::upstream
