#include "tests/support/gateway_fixture.h"

#include <fstream>
#include <iterator>
#include <random>

#include <nlohmann/json.hpp>

namespace portico::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string TestProtoSource() {
  return ReadFile(std::string(PORTICO_TEST_PROTO_DIR) + "/portico/test/v1/test.proto");
}

std::string TestDescriptorSetBytes() { return ReadFile(PORTICO_TEST_DESCRIPTOR_SET); }

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("portico-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

gateway::Config TestConfig(const std::filesystem::path& data_dir) {
  gateway::Config config;
  config.listen = "127.0.0.1:0";
  config.admin.listen = "127.0.0.1:0";
  config.store.dir = (data_dir / "store").string();
  config.threads = 2;
  config.drain_timeout = std::chrono::milliseconds(2000);
  return config;
}

void GatewayTest::SetUp() {
  backend_.Start();
  config_ = TestConfig(data_dir_.path());
  StartGateway();
}

void GatewayTest::TearDown() {
  StopGateway();
  backend_.Stop();
}

void GatewayTest::StartGateway() {
  app_ = std::make_unique<gateway::App>(config_);
  app_->Start();
}

void GatewayTest::StopGateway() {
  if (app_) app_->Stop();
  app_.reset();
}

void GatewayTest::RegisterTestService() {
  auto up = Admin("POST", "/admin/descriptors?name=portico/test/v1/test.proto", TestProtoSource(),
                  {{"Content-Type", "text/plain"}});
  ASSERT_EQ(up.status, 200) << up.body;
  nlohmann::json backend = {{"endpoints", {backend_.address()}},
                            {"services", {"portico.test.v1.TestService"}},
                            {"timeout", "60s"}};  // generous: sanitizer builds are slow
  auto put = Admin("PUT", "/admin/backends/test", backend.dump());
  ASSERT_EQ(put.status, 200) << put.body;
}

}  // namespace portico::testing
