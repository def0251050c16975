#include "policy/api_keys.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "policy/digest.h"

namespace portico::policy {
namespace {

// sha256("s3cret-key") and sha256("other key"), as `echo -n KEY | sha256sum` prints them.
constexpr char kPartnerDigest[] =
    "817b823905cc7853f381992575a9041fcdb17fc70e776707abfb4d7c59ecbf3f";
constexpr char kOtherDigest[] = "c3d132b07a5658d4ba01878b73ba7db9879a0120ca9b5330d9600bf9dc84d761";

registry::ApiKeyPolicy Policy() {
  registry::ApiKeyPolicy policy;
  policy.query = "api_key";
  policy.keys = {{kPartnerDigest, "partner-a"}, {kOtherDigest, "partner-b"}};
  return policy;
}

TEST(ApiKeysTest, DigestHelperAgreesWithSha256sum) {
  EXPECT_EQ(HexLower(DigestBytes(Sha256("s3cret-key"))), kPartnerDigest);
}

TEST(ApiKeysTest, LooksKeysUpByTheirDigest) {
  auto keys = ApiKeys::Build(Policy());
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  const std::string* id = keys->Lookup("s3cret-key");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(*id, "partner-a");
  id = keys->Lookup("other key");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(*id, "partner-b");
  EXPECT_EQ(keys->Lookup("s3cret-kez"), nullptr);
  EXPECT_EQ(keys->Lookup("S3CRET-KEY"), nullptr);
  EXPECT_EQ(keys->Lookup(""), nullptr);
  // The digest itself is not a key.
  EXPECT_EQ(keys->Lookup(kPartnerDigest), nullptr);
}

TEST(ApiKeysTest, DigestsInConfigAreCaseInsensitive) {
  registry::ApiKeyPolicy policy;
  std::string upper = kPartnerDigest;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  policy.keys = {{upper, "partner-a"}};
  auto keys = ApiKeys::Build(policy);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_NE(keys->Lookup("s3cret-key"), nullptr);
}


class ApiKeysBuildTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ApiKeysBuildTest, RefusesWhatIsNot64HexDigits) {
  registry::ApiKeyPolicy policy;
  policy.keys = {{kPartnerDigest, "a"}, {kOtherDigest, "b"}, {GetParam(), "c"}};
  auto keys = ApiKeys::Build(policy);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(keys.status().message().rfind("api_key.keys[2].key_sha256: ", 0), 0u)
      << keys.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Digests, ApiKeysBuildTest,
    ::testing::Values("", "817b", std::string(kPartnerDigest) + "00",
                      std::string(kPartnerDigest).substr(0, 63),
                      "g17b823905cc7853f381992575a9041fcdb17fc70e776707abfb4d7c59ecbf3f",
                      " 817b823905cc7853f381992575a9041fcdb17fc70e776707abfb4d7c59ecbf3",
                      // a duplicate, written in the other case
                      "817B823905CC7853F381992575A9041FCDB17FC70E776707ABFB4D7C59ECBF3F"));

TEST(ApiKeysBuildTest, DuplicateNamesTheFirstEntry) {
  registry::ApiKeyPolicy policy;
  policy.keys = {{kPartnerDigest, "a"}, {kOtherDigest, "b"}, {kPartnerDigest, "c"}};
  auto keys = ApiKeys::Build(policy);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("api_key.keys[0]"), std::string::npos);
}

struct PresentedCase {
  std::string name;
  std::string header, query;  // the query as the caller passes it (after '?')
  std::string presented;
};

class ApiKeysPresentedTest : public ::testing::TestWithParam<PresentedCase> {};

TEST_P(ApiKeysPresentedTest, HeaderFirstThenTheDecodedQueryParameter) {
  auto keys = ApiKeys::Build(Policy());
  ASSERT_TRUE(keys.ok());
  const PresentedCase& c = GetParam();
  EXPECT_EQ(keys->Presented(c.header, c.query), c.presented) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Places, ApiKeysPresentedTest,
    ::testing::Values(
        PresentedCase{"header", "s3cret-key", "", "s3cret-key"},
        PresentedCase{"header_trimmed", " \ts3cret-key  ", "", "s3cret-key"},
        PresentedCase{"query", "", "api_key=s3cret-key", "s3cret-key"},
        PresentedCase{"query_decoded", "", "x=1&api_key=other%20key", "other key"},
        PresentedCase{"query_plus_is_space", "", "api_key=other+key", "other key"},
        PresentedCase{"query_leading_question_mark", "", "?api_key=k", "k"},
        PresentedCase{"query_first_wins", "", "api_key=one&api_key=two", "one"},
        PresentedCase{"query_other_names_ignored", "", "api_keyx=1&xapi_key=2", ""},
        // A key in both places: the header's counts, the query's is ignored.
        PresentedCase{"both_header_wins", "s3cret-key", "api_key=other%20key", "s3cret-key"},
        PresentedCase{"blank_header_falls_back", "   ", "api_key=k", "k"},
        PresentedCase{"neither", "", "", ""}, PresentedCase{"empty_value", "", "api_key=", ""}),
    [](const auto& info) { return info.param.name; });

TEST(ApiKeysTest, PlacesNotConfiguredAreNotRead) {
  registry::ApiKeyPolicy policy = Policy();
  policy.header.clear();
  auto keys = ApiKeys::Build(policy);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->Presented("s3cret-key", ""), "");
  EXPECT_EQ(keys->Presented("s3cret-key", "api_key=q"), "q");

  policy = Policy();
  policy.query.clear();
  keys = ApiKeys::Build(policy);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->Presented("", "api_key=q"), "");
}

TEST(ApiKeysTest, ErrorsNeverQuoteKeysOrDigests) {
  registry::ApiKeyPolicy policy;
  policy.keys = {{kPartnerDigest, "a"}, {kPartnerDigest, "b"}};
  auto keys = ApiKeys::Build(policy);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().message().find("817b"), std::string::npos);
  policy.keys = {{"s3cret-key-pasted-by-mistake", "a"}};
  keys = ApiKeys::Build(policy);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().message().find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace portico::policy
