// CompileSources, CompileProtoFile and ParseDescriptorSet: what an upload turns into, and the
// errors a user sees ("file:line:col: message", one per line).
#include "registry/descriptor_compiler.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/carried_files.h"

namespace portico::registry {
namespace {

using ::testing::HasSubstr;

constexpr char kHello[] = R"(syntax = "proto3";
package hello.v1;
import "google/api/annotations.proto";
message Req { string name = 1; }
message Rep { string text = 1; }
service Hello {
  rpc Say(Req) returns (Rep) { option (google.api.http) = { get: "/v1/say/{name}" }; }
}
)";

TEST(CompileSourcesTest, CompilesAgainstCarriedFiles) {
  auto files = CompileSources({{"hello.proto", kHello}}, CarriedFiles());
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 1u);
  const auto& f = files->front();
  EXPECT_EQ(f.name(), "hello.proto");
  EXPECT_EQ(f.package(), "hello.v1");
  ASSERT_EQ(f.service_size(), 1);
  EXPECT_EQ(f.service(0).name(), "Hello");
  EXPECT_THAT(f.dependency(), ::testing::ElementsAre("google/api/annotations.proto"));
}

TEST(CompileSourcesTest, ImportsAnotherSourceOfTheSameUpload) {
  auto files = CompileSources(
      {{"a.proto", "syntax = \"proto3\";\npackage p;\nimport \"b.proto\";\nmessage A { B b = 1; }\n"},
       {"b.proto", "syntax = \"proto3\";\npackage p;\nmessage B { int32 x = 1; }\n"}},
      CarriedFiles());
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name(), "a.proto");  // the order of `sources`
  EXPECT_EQ((*files)[1].name(), "b.proto");
}

TEST(CompileSourcesTest, ImportsAKnownFile) {
  auto known = CarriedFiles();
  auto b = CompileSources({{"b.proto", "syntax = \"proto3\";\npackage p;\nmessage B {}\n"}}, known);
  ASSERT_TRUE(b.ok()) << b.status().message();
  known.push_back(b->front());
  auto a = CompileSources(
      {{"a.proto", "syntax = \"proto3\";\npackage p;\nimport \"b.proto\";\nmessage A { B b = 1; }\n"}},
      known);
  EXPECT_TRUE(a.ok()) << a.status().message();
}

TEST(CompileSourcesTest, ErrorsAreFileLineColOnePerLine) {
  auto files = CompileSources(
      {{"broken.proto", "syntax = \"proto3\";\nmessage A {\n  strin x = 1;\n  int32 y = 1;\n}\n"}},
      CarriedFiles());
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), Code::kInvalidArgument);
  const std::string& m = files.status().message();
  EXPECT_THAT(m, HasSubstr("broken.proto:3:3: "));
  EXPECT_THAT(m, HasSubstr("\nbroken.proto:"));  // more than one error, one per line
}

TEST(CompileSourcesTest, UnknownImportIsAnError) {
  auto files = CompileSources(
      {{"a.proto", "syntax = \"proto3\";\nimport \"missing.proto\";\nmessage A {}\n"}},
      CarriedFiles());
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("missing.proto"));
}

TEST(ParseDescriptorSetTest, RoundTripAndJunk) {
  auto compiled = CompileSources({{"hello.proto", kHello}}, CarriedFiles());
  ASSERT_TRUE(compiled.ok());
  google::protobuf::FileDescriptorSet set;
  *set.add_file() = compiled->front();
  auto files = ParseDescriptorSet(set.SerializeAsString());
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->front().name(), "hello.proto");

  EXPECT_EQ(ParseDescriptorSet("\xff\xff\xff junk").status().code(), Code::kInvalidArgument);
  google::protobuf::FileDescriptorSet nameless;
  nameless.add_file()->set_package("p");
  EXPECT_EQ(ParseDescriptorSet(nameless.SerializeAsString()).status().code(),
            Code::kInvalidArgument);
}

TEST(CompileProtoFileTest, CompilesFromDiskWithImports) {
  std::mt19937_64 random{std::random_device{}()};
  const auto dir =
      std::filesystem::temp_directory_path() / ("portico-compile-" + std::to_string(random()));
  std::filesystem::create_directories(dir / "dep");
  std::ofstream(dir / "dep" / "b.proto") << "syntax = \"proto3\";\npackage p;\nmessage B {}\n";
  std::ofstream(dir / "a.proto")
      << "syntax = \"proto3\";\npackage p;\nimport \"dep/b.proto\";\nmessage A { B b = 1; }\n";
  auto files = CompileProtoFile((dir / "a.proto").string(), {dir.string()}, CarriedFiles());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name(), "dep/b.proto");  // dependencies first
  EXPECT_EQ((*files)[1].name(), "a.proto");
}

}  // namespace
}  // namespace portico::registry
