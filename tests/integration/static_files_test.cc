// The "static" config entry: files under a URL prefix, and nothing outside its directory.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using ::testing::HasSubstr;

class StaticFilesTest : public GatewayTest {
 protected:
  void SetUp() override {
    backend_.Start();
    root_ = data_dir_.path() / "site";
    std::filesystem::create_directories(root_ / "sub");
    Write(root_ / "index.html", "<h1>home</h1>");
    Write(root_ / "app.js", "console.log(1)");
    Write(root_ / "sub" / "index.html", "sub");
    Write(data_dir_.path() / "secret.txt", "top secret");
    std::filesystem::create_symlink(data_dir_.path() / "secret.txt", root_ / "link.txt");
    config_ = TestConfig(data_dir_.path());
    config_.static_mounts.push_back({"/site/", root_.string()});
    StartGateway();
    RegisterTestService();
  }
  static void Write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
  }
  std::filesystem::path root_;
};

TEST_F(StaticFilesTest, ServesFilesAndIndexes) {
  auto r = Get("/site/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<h1>home</h1>");
  EXPECT_THAT(r.header("content-type"), HasSubstr("text/html"));
  r = Get("/site/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.header("content-type"), HasSubstr("text/javascript"));
  EXPECT_EQ(Get("/site/sub/").body, "sub");
  r = Get("/site");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("location"), "/site/");
  EXPECT_EQ(Get("/site/missing.html").status, 404);
}

TEST_F(StaticFilesTest, TraversalIsRefused) {
  for (const std::string target :
       {"/site/../secret.txt", "/site/%2e%2e/secret.txt", "/site/%2E%2E%2Fsecret.txt",
        "/site/sub/../../secret.txt", "/site/..%5csecret.txt", "/site/link.txt",
        "/site/a%00b"}) {
    auto r = Get(target);
    EXPECT_TRUE(r.status == 403 || r.status == 404) << target << " -> " << r.status;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("top secret"))) << target;
  }
}

TEST_F(StaticFilesTest, OnlyGetAndHead) {
  auto r = Post("/site/index.html", "{}");
  EXPECT_EQ(r.status, 405);
  r = HttpCall(app_->port(), "HEAD", "/site/index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

TEST_F(StaticFilesTest, ApiRoutesStillWork) {
  auto r = Post("/v1/echo", R"({"fString":"x"})");
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace portico::testing
