// The `tls` config key (DESIGN section 3): shape and errors. Whether the files load is checked
// at start (tests/integration/tls_test.cc, tests/http/tls_server_test.cc).
#include <string>

#include <gtest/gtest.h>

#include "gateway/config.h"

namespace portico::gateway {
namespace {

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseConfig(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TlsConfigTest, OffByDefault) {
  EXPECT_FALSE(ParseConfig("").tls.enabled);
  EXPECT_FALSE(ParseConfig("tls:\n").tls.enabled);  // null keeps the default
}

TEST(TlsConfigTest, AllKeys) {
  Config config = ParseConfig(
      "tls: { cert_file: c.pem, key_file: k.pem, client_ca_file: ca.pem }\n");
  EXPECT_TRUE(config.tls.enabled);
  EXPECT_EQ(config.tls.cert_file, "c.pem");
  EXPECT_EQ(config.tls.key_file, "k.pem");
  EXPECT_EQ(config.tls.client_ca_file, "ca.pem");
  Config no_mtls = ParseConfig("tls:\n  cert_file: c.pem\n  key_file: k.pem\n  client_ca_file: \"\"\n");
  EXPECT_TRUE(no_mtls.tls.enabled);
  EXPECT_EQ(no_mtls.tls.client_ca_file, "");
}

TEST(TlsConfigTest, Errors) {
  EXPECT_EQ(ErrorOf("tls: { cert_file: c.pem, key_file: k.pem, ca_file: x }\n"),
            "unknown config key \"tls.ca_file\"");
  EXPECT_EQ(ErrorOf("tls: { key_file: k.pem }\n"),
            "config key \"tls.cert_file\": must be set with tls");
  EXPECT_EQ(ErrorOf("tls: { cert_file: c.pem }\n"),
            "config key \"tls.key_file\": must be set with tls");
  EXPECT_EQ(ErrorOf("tls: {}\n"), "config key \"tls.cert_file\": must be set with tls");
  EXPECT_EQ(ErrorOf("tls: true\n"), "config key \"tls\": expected a mapping");
  EXPECT_EQ(ErrorOf("tls: { cert_file: [a], key_file: k }\n"),
            "config key \"tls.cert_file\": expected a string");
}

}  // namespace
}  // namespace portico::gateway
