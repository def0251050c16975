// Registry::SetReflected: a reflection backend's files and services join the snapshot, replace
// its previous set all or nothing, lose to uploads and carried files, and are never persisted.
#include <filesystem>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/carried_files.h"
#include "registry/file_store.h"
#include "registry/registry.h"
#include "tests/registry/fake_transport.h"

namespace portico::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

BackendTransportFactory Factory() {
  return [](const BackendConfig& backend) { return std::make_shared<FakeTransport>(backend); };
}

BackendConfig Reflecting(const std::string& name, std::vector<std::string> services = {}) {
  BackendConfig b;
  b.name = name;
  b.endpoints = {{"127.0.0.1:7"}};
  b.services = std::move(services);
  b.reflection = true;
  return b;
}

BackendConfig Declared(const std::string& name, const std::string& service) {
  BackendConfig b;
  b.name = name;
  b.endpoints = {{"127.0.0.1:8"}};
  b.services = {service};
  return b;
}

std::string HelloSource(const std::string& service, const std::string& method) {
  return "syntax = \"proto3\";\npackage hello.v1;\nimport \"google/protobuf/empty.proto\";\n"
         "service " + service + " { rpc " + method +
         "(google.protobuf.Empty) returns (google.protobuf.Empty); }\n";
}

// What a backend's reflection sends: the file and its imports, carried ones included.
FileList Reflected(const std::string& name, const std::string& source) {
  auto files = CompileSources({{name, source}}, CarriedFiles());
  EXPECT_TRUE(files.ok()) << files.status().message();
  FileList out;
  for (const auto& f : CarriedFiles()) {
    if (f.name() == "google/protobuf/empty.proto") out.push_back(f);
  }
  for (auto& f : *files) out.push_back(std::move(f));
  return out;
}

class RegistryReflectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 random{std::random_device{}()};
    dir_ = std::filesystem::temp_directory_path() / ("portico-reflect-" + std::to_string(random()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(RegistryReflectionTest, TheReflectedServicesAreServedByTheBackend) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {Reflecting("r")}).ok());
  EXPECT_EQ(registry.Current()->backends->ForService("hello.v1.Hello"), nullptr);

  auto result = registry.SetReflected("r", Reflected("hello.proto", HelloSource("Hello", "Say")),
                                      {"hello.v1.Hello"});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_THAT(result->files, ElementsAre("hello.proto"));  // the carried import is skipped
  EXPECT_THAT(result->services, ElementsAre("hello.v1.Hello"));
  auto snapshot = registry.Current();
  EXPECT_NE(snapshot->catalog->FindMethod("/hello.v1.Hello/Say"), nullptr);
  const Backend* backend = snapshot->backends->ForService("hello.v1.Hello");
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->config().name, "r");
  EXPECT_THAT(backend->config().services, IsEmpty());  // the declared config stays as declared
}

TEST_F(RegistryReflectionTest, ANewSetReplacesTheOldOneAllOrNothing) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {Reflecting("r")}).ok());
  ASSERT_TRUE(registry
                  .SetReflected("r", Reflected("hello.proto", HelloSource("Hello", "Say")),
                                {"hello.v1.Hello"})
                  .ok());
  auto result = registry.SetReflected(
      "r", Reflected("hello2.proto", HelloSource("Other", "Do")), {"hello.v1.Other"});
  ASSERT_TRUE(result.ok()) << result.status().message();
  auto snapshot = registry.Current();
  EXPECT_EQ(snapshot->catalog->FindMethod("/hello.v1.Hello/Say"), nullptr);
  EXPECT_NE(snapshot->catalog->FindMethod("/hello.v1.Other/Do"), nullptr);
  EXPECT_EQ(snapshot->backends->ForService("hello.v1.Hello"), nullptr);
  EXPECT_NE(snapshot->backends->ForService("hello.v1.Other"), nullptr);

  // A set that does not validate changes nothing.
  FileList broken = Reflected("hello3.proto", HelloSource("Third", "Go"));
  broken.back().add_dependency("missing.proto");
  auto failed = registry.SetReflected("r", broken, {"hello.v1.Third"});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(failed.status().message(), HasSubstr("missing.proto"));
  EXPECT_EQ(registry.Current()->generation, snapshot->generation);
  EXPECT_NE(registry.Current()->catalog->FindMethod("/hello.v1.Other/Do"), nullptr);
}

TEST_F(RegistryReflectionTest, AnUploadedFileOfTheSameNameWins) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {Reflecting("r")}).ok());
  ASSERT_TRUE(registry.RegisterSources({{"hello.proto", HelloSource("Hello", "Uploaded")}}).ok());
  auto result = registry.SetReflected(
      "r", Reflected("hello.proto", HelloSource("Hello", "Reflected")), {"hello.v1.Hello"});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_THAT(result->files, IsEmpty());
  auto snapshot = registry.Current();
  EXPECT_NE(snapshot->catalog->FindMethod("/hello.v1.Hello/Uploaded"), nullptr);
  EXPECT_EQ(snapshot->catalog->FindMethod("/hello.v1.Hello/Reflected"), nullptr);

  // Once the upload is removed, the reflected file takes its place.
  ASSERT_TRUE(registry.RemoveFile("hello.proto").ok());
  EXPECT_NE(registry.Current()->catalog->FindMethod("/hello.v1.Hello/Reflected"), nullptr);
}

TEST_F(RegistryReflectionTest, ServicesAnotherBackendClaimsStayWithIt) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {Reflecting("r"), Declared("a", "hello.v1.Hello")}).ok());
  auto result = registry.SetReflected("r", Reflected("hello.proto", HelloSource("Hello", "Say")),
                                      {"hello.v1.Hello"});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_THAT(result->services, IsEmpty());
  EXPECT_EQ(registry.Current()->backends->ForService("hello.v1.Hello")->config().name, "a");
}

TEST_F(RegistryReflectionTest, DeclaredServicesOfAReflectionBackendAreTheOnesItServes) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {Reflecting("r", {"hello.v1.Hello"})}).ok());
  auto result = registry.SetReflected(
      "r", Reflected("hello.proto", HelloSource("Hello", "Say")), {"hello.v1.Hello", "x.v1.X"});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_THAT(result->services, ElementsAre("hello.v1.Hello"));
  EXPECT_EQ(registry.Current()->backends->ForService("x.v1.X"), nullptr);
}

TEST_F(RegistryReflectionTest, UnknownBackendsAndBackendsWithoutReflectionAreRefused) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {Declared("a", "a.v1.A")}).ok());
  auto files = Reflected("hello.proto", HelloSource("Hello", "Say"));
  EXPECT_EQ(registry.SetReflected("nope", files, {}).status().code(), Code::kNotFound);
  auto plain = registry.SetReflected("a", files, {});
  EXPECT_EQ(plain.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(plain.status().message(), "backend \"a\" does not use reflection");
}

TEST_F(RegistryReflectionTest, TheSetGoesWithItsBackendOrWithItsReflection) {
  Registry registry(nullptr, Factory());
  ASSERT_TRUE(registry.Init({}, {Reflecting("r"), Reflecting("s")}).ok());
  ASSERT_TRUE(registry
                  .SetReflected("r", Reflected("hello.proto", HelloSource("Hello", "Say")),
                                {"hello.v1.Hello"})
                  .ok());
  ASSERT_TRUE(registry
                  .SetReflected("s", Reflected("other.proto", HelloSource("Other", "Do")),
                                {"hello.v1.Other"})
                  .ok());
  // Put again with other endpoints: the set stays until the next refresh replaces it.
  BackendConfig moved = Reflecting("r");
  moved.endpoints = {{"127.0.0.1:9"}};
  ASSERT_TRUE(registry.PutBackend(moved).ok());
  EXPECT_NE(registry.Current()->catalog->FindMethod("/hello.v1.Hello/Say"), nullptr);
  // Without reflection (and with services of its own): the set goes.
  BackendConfig plain = Reflecting("r", {"z.v1.Z"});
  plain.reflection = false;
  ASSERT_TRUE(registry.PutBackend(plain).ok());
  EXPECT_EQ(registry.Current()->catalog->FindMethod("/hello.v1.Hello/Say"), nullptr);
  // Removed: the set goes.
  ASSERT_TRUE(registry.RemoveBackend("s").ok());
  EXPECT_EQ(registry.Current()->catalog->FindMethod("/hello.v1.Other/Do"), nullptr);
  EXPECT_TRUE(registry.Current()->catalog->files().empty());
}

TEST_F(RegistryReflectionTest, ReflectedFilesAreNeverPersisted) {
  {
    FileStore store(dir_.string());
    Registry registry(&store, Factory());
    ASSERT_TRUE(registry.Init({}, {}).ok());
    // Services declared, so the stored backend loads whether or not the store keeps the
    // reflection key.
    ASSERT_TRUE(registry.PutBackend(Reflecting("r", {"hello.v1.Hello"})).ok());
    ASSERT_TRUE(registry.RegisterSources({{"up.proto", HelloSource("Up", "Load")}}).ok());
    ASSERT_TRUE(registry
                    .SetReflected("r", Reflected("hello.proto", HelloSource("Hello", "Say")),
                                  {"hello.v1.Hello"})
                    .ok());
    // An upload after the reflection saves the uploads only.
    ASSERT_TRUE(registry.RegisterSources({{"up2.proto", HelloSource("Up2", "Load")}}).ok());
  }
  FileStore store(dir_.string());
  Registry registry(&store, Factory());
  ASSERT_TRUE(registry.Init({}, {}).ok());
  auto snapshot = registry.Current();
  std::vector<std::string> names;
  for (const auto& f : snapshot->catalog->files()) names.push_back(f.name());
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("up.proto", "up2.proto"));
  EXPECT_NE(snapshot->backends->by_name.count("r"), 0u);  // the backend itself is persisted
  EXPECT_EQ(snapshot->catalog->FindMethod("/hello.v1.Hello/Say"), nullptr);
}

}  // namespace
}  // namespace portico::registry
