// An in-process Portico (gateway::App on ports 0, a temporary data dir) in front of the
// in-process TestBackend, for integration tests. Everything real: TCP, HTTP/1.1, gRPC.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gateway/app.h"
#include "tests/support/http_client.h"
#include "tests/support/test_backend.h"

namespace portico::testing {

std::string ReadFile(const std::string& path);
std::string TestProtoSource();       // tests/protos/portico/test/v1/test.proto
std::string TestDescriptorSetBytes();  // built by CMake with protoc --include_imports

// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

gateway::Config TestConfig(const std::filesystem::path& data_dir);

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts (or restarts) the gateway on `config` (default: TestConfig(data dir)).
  void StartGateway();
  void StopGateway();
  // Uploads test.proto as source and registers the test backend as "test".
  void RegisterTestService();

  HttpReply Get(const std::string& target, const Headers& headers = {}) {
    return HttpCall(app_->port(), "GET", target, "", headers);
  }
  HttpReply Post(const std::string& target, const std::string& body, const Headers& headers = {}) {
    return HttpCall(app_->port(), "POST", target, body, headers);
  }
  HttpReply Admin(const std::string& method, const std::string& target,
                  const std::string& body = "", const Headers& headers = {}) {
    return HttpCall(app_->admin_port(), method, target, body, headers);
  }

  TestBackend backend_;
  TempDir data_dir_;
  gateway::Config config_;
  std::unique_ptr<gateway::App> app_;
};

}  // namespace portico::testing
