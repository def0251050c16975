// The "static" config key (URL prefix -> directory).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/config.h"

namespace portico::gateway {
namespace {

using ::testing::HasSubstr;

TEST(StaticConfigTest, ParsesMountsAndAddsTheTrailingSlash) {
  Config c = ParseConfig("static:\n  - {prefix: /chat/, dir: examples/chat/web}\n"
                         "  - {prefix: /docs, dir: /srv/docs}\n");
  ASSERT_EQ(c.static_mounts.size(), 2u);
  EXPECT_EQ(c.static_mounts[0], (StaticMount{"/chat/", "examples/chat/web"}));
  EXPECT_EQ(c.static_mounts[1], (StaticMount{"/docs/", "/srv/docs"}));
}

TEST(StaticConfigTest, RejectsBadMounts) {
  auto error = [](const std::string& yaml) {
    try {
      ParseConfig(yaml);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error("static: {prefix: /a/}"), HasSubstr("static"));
  EXPECT_THAT(error("static: [{prefix: a/, dir: x}]"), HasSubstr("static[0].prefix"));
  EXPECT_THAT(error("static: [{prefix: /a/, dir: ''}]"), HasSubstr("static[0].dir"));
  EXPECT_THAT(error("static: [{prefix: /a/, dir: x, extra: 1}]"), HasSubstr("static[0].extra"));
  EXPECT_THAT(error("static: [{prefix: /a/, dir: x}, {prefix: /a, dir: y}]"),
              HasSubstr("duplicate prefix"));
}

}  // namespace
}  // namespace portico::gateway
