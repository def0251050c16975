// Registry: start-up from config and store (a stored backend overriding the config's, and
// saying so), uploads all or nothing, snapshots swapped per change, persistence.
#include "registry/registry.h"

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/file_store.h"
#include "tests/registry/fake_transport.h"

namespace portico::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

BackendTransportFactory Factory() {
  return [](const BackendConfig& backend) { return std::make_shared<FakeTransport>(backend); };
}

BackendConfig Backend(const std::string& name, const std::string& endpoint,
                      const std::string& service) {
  BackendConfig b;
  b.name = name;
  b.endpoints = {endpoint};
  b.services = {service};
  return b;
}

constexpr char kHello[] = R"(syntax = "proto3";
package hello.v1;
import "google/api/annotations.proto";
message Req { string name = 1; }
service Hello {
  rpc Say(Req) returns (Req) { option (google.api.http) = { get: "/v1/say/{name}" }; }
}
)";

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 random{std::random_device{}()};
    dir_ = std::filesystem::temp_directory_path() / ("portico-registry-" + std::to_string(random()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(RegistryTest, StartsEmpty) {
  Registry registry(nullptr, Factory());
  auto snapshot = registry.Current();
  EXPECT_TRUE(snapshot->catalog->routes().empty());
  EXPECT_TRUE(snapshot->backends->by_name.empty());
  ASSERT_TRUE(registry.Init({}, {}).ok());
  EXPECT_EQ(registry.Current()->generation, snapshot->generation + 1);
}

TEST_F(RegistryTest, StoredBackendOverridesTheConfigsAndIsReported) {
  {
    FileStore store(dir_.string());
    Registry registry(&store, Factory());
    ASSERT_TRUE(registry.Init({}, {}).ok());
    ASSERT_TRUE(registry.PutBackend(Backend("chat", "10.0.0.1:1", "chat.v1.Chat")).ok());
  }
  FileStore store(dir_.string());
  Registry registry(&store, Factory());
  std::vector<std::string> overridden;
  ASSERT_TRUE(registry
                  .Init({},
                        {Backend("chat", "127.0.0.1:1", "chat.v1.Chat"),
                         Backend("other", "127.0.0.1:2", "o.v1.O")},
                        &overridden)
                  .ok());
  EXPECT_THAT(overridden, ElementsAre("chat"));
  auto snapshot = registry.Current();
  EXPECT_EQ(snapshot->backends->by_name.at("chat")->config().endpoints,
            std::vector<EndpointConfig>{"10.0.0.1:1"});
  EXPECT_THAT(snapshot->backends->stored, ElementsAre("chat"));
  // A PUT of the config-file backend makes it a stored one.
  ASSERT_TRUE(registry.PutBackend(Backend("other", "127.0.0.1:3", "o.v1.O")).ok());
  EXPECT_THAT(registry.Current()->backends->stored, ElementsAre("chat", "other"));
}

TEST_F(RegistryTest, UploadsAreAllOrNothingAndSwapTheSnapshot) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {}).ok());
  auto before = registry.Current();
  auto bad = registry.RegisterSources({{"hello.proto", kHello}, {"broken.proto", "message {"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("broken.proto:1:"));
  EXPECT_EQ(registry.Current(), before);  // unchanged, not even a new generation

  auto good = registry.RegisterSources({{"hello.proto", kHello}});
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_THAT(good->files, ElementsAre("hello.proto"));
  EXPECT_THAT(good->services, ElementsAre("hello.v1.Hello"));
  auto after = registry.Current();
  EXPECT_GT(after->generation, before->generation);
  EXPECT_NE(after->catalog->FindMethod("/hello.v1.Hello/Say"), nullptr);
  // The old snapshot is untouched: a request holding it keeps its view.
  EXPECT_EQ(before->catalog->FindMethod("/hello.v1.Hello/Say"), nullptr);
}

TEST_F(RegistryTest, RemoveFileRefusedWhileImported) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {}).ok());
  ASSERT_TRUE(registry
                  .RegisterSources({{"b.proto", "syntax = \"proto3\";\npackage p;\nmessage B {}\n"},
                                    {"a.proto",
                                     "syntax = \"proto3\";\npackage p;\nimport \"b.proto\";\n"
                                     "message A { B b = 1; }\n"}})
                  .ok());
  Status s = registry.RemoveFile("b.proto");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "\"b.proto\" is imported by \"a.proto\"");
  EXPECT_EQ(registry.RemoveFile("nope.proto").code(), Code::kNotFound);
  EXPECT_TRUE(registry.RemoveFile("a.proto").ok());
  EXPECT_TRUE(registry.RemoveFile("b.proto").ok());
}

TEST_F(RegistryTest, BackendsPersistAndTwoCannotServeOneService) {
  {
    FileStore store(dir_.string());
    Registry registry(&store, Factory());
    ASSERT_TRUE(registry.Init({}, {}).ok());
    ASSERT_TRUE(registry.PutBackend(Backend("a", "127.0.0.1:1", "x.v1.S")).ok());
    Status clash = registry.PutBackend(Backend("b", "127.0.0.1:2", "x.v1.S"));
    EXPECT_EQ(clash.code(), Code::kInvalidArgument);
    EXPECT_EQ(registry.PutBackend(Backend("", "127.0.0.1:2", "y.v1.S")).code(),
              Code::kInvalidArgument);
    EXPECT_EQ(registry.RemoveBackend("zz").code(), Code::kNotFound);
  }
  FileStore store(dir_.string());
  Registry registry(&store, Factory());
  ASSERT_TRUE(registry.Init({}, {}).ok());
  auto snapshot = registry.Current();
  ASSERT_EQ(snapshot->backends->by_name.size(), 1u);
  EXPECT_EQ(snapshot->backends->ForService("x.v1.S")->config().name, "a");
  ASSERT_TRUE(registry.RemoveBackend("a").ok());
  EXPECT_TRUE(registry.Current()->backends->by_name.empty());
}

}  // namespace
}  // namespace portico::registry
