// `portico store export|import` (gateway/store_command.h): a file store's content moved to a
// real etcd and back, refusals, and documents that are refused before anything is written.
#include "gateway/store_command.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "registry/carried_files.h"
#include "registry/file_store.h"
#include "transcoder/base64.h"
#include "tests/support/etcd_server.h"
#include "tests/support/gateway_fixture.h"

namespace portico::gateway {
namespace {

using nlohmann::json;
using testing::EtcdServer;
using testing::TempDir;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

Result RunStore(const std::vector<std::string>& args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out;
  std::ostringstream err;
  Result r;
  r.code = RunStoreCommand(args, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// test.proto (user files only, as the registry stores them), one backend, policy, aggregate.
registry::StoredState SampleState() {
  registry::StoredState state;
  google::protobuf::FileDescriptorSet set;
  EXPECT_TRUE(set.ParseFromString(testing::TestDescriptorSetBytes()));
  for (const auto& file : set.file()) {
    if (!registry::IsCarriedFile(file.name())) *state.descriptors.add_file() = file;
  }
  state.backends.push_back(*registry::BackendFromJson(
      json::parse(R"({"endpoints": ["127.0.0.1:50051", {"address": "127.0.0.1:50052",
                      "weight": 3}], "services": ["portico.test.v1.TestService"],
                      "timeout": "2s", "lb": "least_request"})"),
      "test"));
  state.policies.push_back(*registry::PolicyFromJson(
      json::parse(R"({"rate_limit": {"rate": 5, "per": "1s", "key": "header:x-tenant"}})"),
      "limited"));
  state.aggregates.push_back(*registry::AggregateFromJson(
      json::parse(R"({"route": "GET /v1/both/{id}", "calls": {
                      "a": {"method": "portico.test.v1.TestService/GetItem",
                            "request": {"id": "{id}"}}}})"),
      "both"));
  return state;
}

class StoreCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::Available()) GTEST_SKIP() << "etcd-server is not installed";
    ASSERT_TRUE(etcd_.Start());
    file_config_ = WriteText(dir_.path() / "file.yaml",
                             "store: {type: file, dir: '" + (dir_.path() / "data").string() +
                                 "'}\n");
    etcd_config_ = WriteText(dir_.path() / "etcd.yaml",
                             "store: {type: etcd, endpoints: ['" + etcd_.endpoint() +
                                 "'], prefix: /migrate/}\n");
  }

  TempDir dir_;
  EtcdServer etcd_;
  std::string file_config_;
  std::string etcd_config_;
};

TEST_F(StoreCommandTest, FileToEtcdAndBackKeepsEveryEntry) {
  const registry::StoredState sample = SampleState();
  registry::FileStore files(dir_.path() / "data");
  ASSERT_TRUE(files.SaveDescriptors(sample.descriptors).ok());
  ASSERT_TRUE(files.SaveBackends(sample.backends).ok());
  ASSERT_TRUE(files.SavePolicies(sample.policies).ok());
  ASSERT_TRUE(files.SaveAggregates(sample.aggregates).ok());

  const std::string exported = (dir_.path() / "from-file.json").string();
  Result r = RunStore({"export", "--config", file_config_, "--out", exported});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string document = testing::ReadFile(exported);
  const json parsed = json::parse(document);
  EXPECT_EQ(parsed["portico_store"], 1);
  EXPECT_EQ(parsed["backends"].size(), 1u);
  EXPECT_EQ(parsed["policies"].size(), 1u);
  EXPECT_EQ(parsed["aggregates"].size(), 1u);
  EXPECT_EQ(parsed, StoreDocument(sample));
  EXPECT_EQ(std::filesystem::status(exported).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  r = RunStore({"import", "--config", etcd_config_, "--in", exported});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("imported 1 descriptor files, 1 backends, 1 policies, 1 aggregates into "
                       "etcd store " + etcd_.endpoint()),
            std::string::npos)
      << r.err;

  // etcd -> JSON (standard output) -> a fresh file store -> JSON: the same document throughout.
  r = RunStore({"export", "--config", etcd_config_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), parsed);
  const std::string fresh_config =
      WriteText(dir_.path() / "fresh.yaml",
                "store: {dir: '" + (dir_.path() / "fresh").string() + "'}\n");
  Result back = RunStore({"import", "--config", fresh_config}, r.out);
  ASSERT_EQ(back.code, 0) << back.err;
  back = RunStore({"export", "--config=" + fresh_config});
  ASSERT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(json::parse(back.out), parsed);
  StatusOr<registry::StoredState> reloaded = registry::FileStore(dir_.path() / "fresh").Load();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_EQ(reloaded->backends, sample.backends);
  EXPECT_EQ(reloaded->policies, sample.policies);
  EXPECT_EQ(reloaded->aggregates, sample.aggregates);
  EXPECT_EQ(reloaded->descriptors.SerializeAsString(), sample.descriptors.SerializeAsString());
}

TEST_F(StoreCommandTest, NonEmptyTargetIsRefusedWithoutForce) {
  const std::string document = StoreDocument(SampleState()).dump();
  ASSERT_EQ(RunStore({"import", "--config", etcd_config_}, document).code, 0);

  registry::StoredState smaller;
  smaller.backends.push_back(SampleState().backends[0]);
  smaller.backends[0].name = "other";
  const std::string replacement = StoreDocument(smaller).dump();
  Result r = RunStore({"import", "--config", etcd_config_}, replacement);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not empty (1 descriptor files, 1 backends, 1 policies, 1 aggregates); "
                       "--force replaces its content"),
            std::string::npos)
      << r.err;
  r = RunStore({"export", "--config", etcd_config_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json::parse(document));  // unchanged

  // --force replaces everything: entries the document lacks are gone (etcd and file stores).
  r = RunStore({"import", "--config", etcd_config_, "--force"}, replacement);
  ASSERT_EQ(r.code, 0) << r.err;
  r = RunStore({"export", "--config", etcd_config_});
  EXPECT_EQ(json::parse(r.out), json::parse(replacement));

  ASSERT_EQ(RunStore({"import", "--config", file_config_}, document).code, 0);
  EXPECT_EQ(RunStore({"import", "--config", file_config_}, replacement).code, 1);
  ASSERT_EQ(RunStore({"import", "--config", file_config_, "--force"}, replacement).code, 0);
  r = RunStore({"export", "--config", file_config_});
  EXPECT_EQ(json::parse(r.out), json::parse(replacement));
}

TEST_F(StoreCommandTest, BadDocumentsAreRefusedNamingWhatIsWrong) {
  json good = StoreDocument(SampleState());
  struct Case {
    json document;
    std::string message;
  };
  std::vector<Case> cases;
  {
    json d = good;
    d["backends"][0]["endpoints"] = json::array({"nowhere"});
    cases.push_back({d, "backends[0]: backend \"test\": "});
  }
  {
    json d = good;
    d["backends"].push_back(d["backends"][0]);
    cases.push_back({d, "backends[1]: backend \"test\" is listed twice"});
  }
  {
    json d = good;
    d["policies"][0]["rate_limit"]["rat"] = 1;
    cases.push_back({d, "policies[0]: "});
  }
  {
    json d = good;
    d["aggregates"][0]["route"] = "FETCH /x";
    cases.push_back({d, "aggregates[0]: aggregate \"both\""});
  }
  {
    // test.proto without the file it imports does not build.
    google::protobuf::FileDescriptorSet set;
    *set.add_file() = SampleState().descriptors.file(0);
    set.mutable_file(0)->add_dependency("missing/dep.proto");
    json d = good;
    d["descriptors"] = transcoder::Base64Encode(set.SerializeAsString());
    cases.push_back({d, "\"descriptors\": "});
  }
  {
    json d = good;
    d["descriptors"] = "not base64!";
    cases.push_back({d, "\"descriptors\": expected a base64 FileDescriptorSet"});
  }
  {
    json d = good;
    d["portico_store"] = 2;
    cases.push_back({d, "\"portico_store\": expected 1"});
  }
  {
    json d = good;
    d["routes"] = json::array();
    cases.push_back({d, "unknown key \"routes\""});
  }
  for (const Case& c : cases) {
    Result r = RunStore({"import", "--config", etcd_config_}, c.document.dump());
    EXPECT_EQ(r.code, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(nothing written)"), std::string::npos) << r.err;
  }
  Result r = RunStore({"import", "--config", etcd_config_}, "{not json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("the document is not valid JSON"), std::string::npos) << r.err;
  // Nothing reached the store.
  r = RunStore({"export", "--config", etcd_config_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), StoreDocument(registry::StoredState{}));
}

TEST(StoreCommandUsageTest, UsageAndStoreErrors) {
  EXPECT_EQ(RunStore({}).code, 2);
  Result r = RunStore({"expor"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command \"expor\""), std::string::npos) << r.err;
  EXPECT_EQ(RunStore({"export", "--force"}).code, 2);
  EXPECT_EQ(RunStore({"import", "--out", "x"}).code, 2);
  EXPECT_EQ(RunStore({"export", "--config"}).code, 2);
  EXPECT_EQ(RunStore({"export", "--config", "/nonexistent/portico.yaml"}).code, 2);

  // etcd that nobody runs: a store error naming the store.
  TempDir dir;
  const std::string config = WriteText(
      dir.path() / "down.yaml", "store: {type: etcd, endpoints: ['127.0.0.1:1'], timeout: 1s}\n");
  r = RunStore({"export", "--config", config});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("etcd store 127.0.0.1:1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace portico::gateway
