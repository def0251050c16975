// The event log through a real gateway (DESIGN section 12): admin changes are audited with who
// made them (token or loopback), what and the result; reads are not; refused credentials are.
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "registry/event_log.h"
#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;

class EventLogTest : public GatewayTest {
 protected:
  void SetUp() override {
    registry::SetEventSink([this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.push_back(json::parse(line));
    });
    GatewayTest::SetUp();
  }
  void TearDown() override {
    GatewayTest::TearDown();
    registry::SetEventSink(nullptr);
  }
  std::vector<json> Events(const std::string& name) {
    std::lock_guard lock(mu_);
    std::vector<json> out;
    for (const json& line : lines_) {
      if (line["event"] == name) out.push_back(line);
    }
    return out;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    lines_.clear();
  }

  std::mutex mu_;
  std::vector<json> lines_;
};

TEST_F(EventLogTest, AdminChangesAreAuditedFromLoopback) {
  Clear();
  RegisterTestService();  // POST /admin/descriptors, PUT /admin/backends/test
  ASSERT_EQ(Admin("GET", "/admin/backends").status, 200);  // a read: no event
  ASSERT_EQ(Admin("DELETE", "/admin/backends/nope").status, 404);
  auto changes = Events("admin_change");
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0]["method"], "POST");
  EXPECT_EQ(changes[0]["path"], "/admin/descriptors") << "the query is not logged";
  EXPECT_EQ(changes[1]["method"], "PUT");
  EXPECT_EQ(changes[1]["path"], "/admin/backends/test");
  EXPECT_EQ(changes[1]["status"], 200);
  EXPECT_EQ(changes[1]["level"], "info");
  EXPECT_EQ(changes[2]["status"], 404);
  EXPECT_EQ(changes[2]["level"], "warn");
  for (const json& c : changes) {
    EXPECT_EQ(c["who"], "loopback");
    EXPECT_EQ(c["remote"], "127.0.0.1");
  }
  // Each accepted change published a snapshot.
  EXPECT_GE(Events("snapshot_published").size(), 2u);
}

TEST_F(EventLogTest, AdminChangesWithTheTokenSayToken) {
  StopGateway();
  config_.admin.token = "s3cret";
  StartGateway();
  Clear();
  ASSERT_EQ(Admin("PUT", "/admin/backends/b",
                  json{{"endpoints", {backend_.address()}}, {"services", {"x.v1.S"}}}.dump(),
                  {{"Authorization", "Bearer s3cret"}})
                .status,
            200);
  ASSERT_EQ(Admin("DELETE", "/admin/backends/b", "", {{"Authorization", "Bearer wrong"}}).status,
            401);
  auto changes = Events("admin_change");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["who"], "token");
  auto refused = Events("admin_unauthenticated");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["method"], "DELETE");
  EXPECT_EQ(refused[0]["level"], "warn");
}

}  // namespace
}  // namespace portico::testing
