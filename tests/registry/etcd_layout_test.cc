// The etcd store's layout (registry/etcd_layout.h) without etcd: keys, values, and decoding
// what a Range or a watch hands over, corrupt values included.
#include "registry/etcd_layout.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

google::protobuf::FileDescriptorProto File(const std::string& name,
                                           std::vector<std::string> imports = {}) {
  google::protobuf::FileDescriptorProto file;
  file.set_name(name);
  file.set_package("acme.v1");
  for (const auto& dep : imports) file.add_dependency(dep);
  return file;
}

BackendConfig Backend(const std::string& name) {
  BackendConfig backend;
  backend.name = name;
  backend.endpoints = {"127.0.0.1:50051"};
  backend.services = {"acme.v1.Orders"};
  return backend;
}

TEST(EtcdLayoutTest, KeysAreThePrefixTheKindAndTheName) {
  EXPECT_EQ(EtcdEntryKey("/portico/", {EntryKind::kDescriptor, "acme/v1/orders.proto"}),
            "/portico/descriptors/acme/v1/orders.proto");
  EXPECT_EQ(EtcdEntryKey("/p/", {EntryKind::kBackend, "orders"}), "/p/backends/orders");
  EXPECT_EQ(EtcdEntryKey("/p/", {EntryKind::kPolicy, "jwt"}), "/p/policies/jwt");
  EXPECT_EQ(EtcdEntryKey("/p/", {EntryKind::kAggregate, "dash"}), "/p/aggregates/dash");
  EXPECT_EQ(EtcdGuardKey("/p/"), "/p/meta/write");
}

TEST(EtcdLayoutTest, ParsesKeysAtTheFirstSlashAfterThePrefix) {
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/descriptors/acme/v1/orders.proto"),
            (EntryRef{EntryKind::kDescriptor, "acme/v1/orders.proto"}));
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/backends/orders"),
            (EntryRef{EntryKind::kBackend, "orders"}));
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/policies/x"), (EntryRef{EntryKind::kPolicy, "x"}));
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/aggregates/y"), (EntryRef{EntryKind::kAggregate, "y"}));
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/meta/write"), std::nullopt);  // the guard
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/routes/x"), std::nullopt);    // a newer word
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/q/backends/x"), std::nullopt);  // another prefix
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/backends/"), std::nullopt);   // no name
  EXPECT_EQ(ParseEtcdEntryKey("/p/", "/p/backends"), std::nullopt);
  for (EntryKind kind :
       {EntryKind::kDescriptor, EntryKind::kBackend, EntryKind::kPolicy, EntryKind::kAggregate}) {
    const EntryRef entry{kind, "a/b"};
    EXPECT_EQ(ParseEtcdEntryKey("/portico/", EtcdEntryKey("/portico/", entry)), entry);
  }
}

TEST(EtcdLayoutTest, EncodesEachKindAndDecodesItBack) {
  StoredState state;
  *state.descriptors.add_file() = File("acme/v1/types.proto");
  state.backends = {Backend("orders")};
  auto policy = PolicyFromJson(
      nlohmann::json::parse(R"({"hmac": {"keys": [{"id": "k", "secret": "s3cret"}]}})"), "sig");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  state.policies = {*policy};
  auto aggregate = AggregateFromJson(
      nlohmann::json::parse(R"({"route": "GET /v1/d", "calls": {"a": {"method": "acme.v1.A/B"}}})"),
      "dash");
  ASSERT_TRUE(aggregate.ok()) << aggregate.status().message();
  state.aggregates = {*aggregate};

  std::map<std::string, EtcdKv> kvs;
  std::int64_t revision = 10;
  for (const EntryRef& entry :
       {EntryRef{EntryKind::kDescriptor, "acme/v1/types.proto"},
        EntryRef{EntryKind::kBackend, "orders"}, EntryRef{EntryKind::kPolicy, "sig"},
        EntryRef{EntryKind::kAggregate, "dash"}}) {
    auto value = EncodeEtcdEntry(state, entry);
    ASSERT_TRUE(value.ok()) << value.status().message();
    kvs[EtcdEntryKey("/p/", entry)] = {*value, ++revision};
  }
  // Secrets in the clear; the JSON is the admin API's.
  EXPECT_NE(kvs["/p/policies/sig"].value.find("s3cret"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(kvs["/p/backends/orders"].value),
            BackendToJson(state.backends[0]));
  kvs["/p/meta/write"] = {"portico", 20};
  kvs["/p/future/thing"] = {"ignored", 21};

  auto decoded = DecodeEtcdState("/p/", kvs, 30);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->revision, 30);
  ASSERT_EQ(decoded->descriptors.file_size(), 1);
  EXPECT_EQ(decoded->descriptors.file(0).SerializeAsString(),
            state.descriptors.file(0).SerializeAsString());
  EXPECT_EQ(decoded->backends, state.backends);
  EXPECT_EQ(decoded->policies, state.policies);
  EXPECT_EQ(decoded->aggregates, state.aggregates);
  EXPECT_EQ(decoded->entry_revisions,
            (std::map<EntryRef, std::int64_t>{{{EntryKind::kDescriptor, "acme/v1/types.proto"}, 11},
                                              {{EntryKind::kBackend, "orders"}, 12},
                                              {{EntryKind::kPolicy, "sig"}, 13},
                                              {{EntryKind::kAggregate, "dash"}, 14}}));
}

TEST(EtcdLayoutTest, EncodeSaysWhatIsMissingOrInvalid) {
  StoredState state;
  auto missing = EncodeEtcdEntry(state, {EntryKind::kBackend, "nope"});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("backend \"nope\""), std::string::npos);
  state.backends = {Backend("bad name!")};
  auto invalid = EncodeEtcdEntry(state, {EntryKind::kBackend, "bad name!"});
  EXPECT_EQ(invalid.status().code(), Code::kInvalidArgument);
}

TEST(EtcdLayoutTest, DescriptorsComeInDependencyOrder) {
  std::map<std::string, EtcdKv> kvs;
  const auto put = [&](const google::protobuf::FileDescriptorProto& file) {
    kvs["/p/descriptors/" + file.name()] = {file.SerializeAsString(), 5};
  };
  // By name: a, b, c, d; imports: a <- c <- b (b imports c, c imports a), d imports a carried
  // file that is not in the store.
  put(File("a.proto"));
  put(File("b.proto", {"c.proto"}));
  put(File("c.proto", {"a.proto"}));
  put(File("d.proto", {"google/protobuf/empty.proto"}));
  auto state = DecodeEtcdState("/p/", kvs, 5);
  ASSERT_TRUE(state.ok()) << state.status().message();
  std::vector<std::string> names;
  for (const auto& file : state->descriptors.file()) names.push_back(file.name());
  EXPECT_EQ(names, (std::vector<std::string>{"a.proto", "c.proto", "b.proto", "d.proto"}));

  // A cycle (only a corrupt store holds one) still gives every file once.
  kvs.clear();
  put(File("x.proto", {"y.proto"}));
  put(File("y.proto", {"x.proto"}));
  state = DecodeEtcdState("/p/", kvs, 5);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->descriptors.file_size(), 2);
}

void ExpectDataLoss(const std::map<std::string, EtcdKv>& kvs, const std::string& key,
                    const std::string& what) {
  auto state = DecodeEtcdState("/p/", kvs, 1);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), Code::kDataLoss);
  EXPECT_NE(state.status().message().find("\"" + key + "\""), std::string::npos)
      << state.status().message();
  EXPECT_NE(state.status().message().find(what), std::string::npos) << state.status().message();
}

TEST(EtcdLayoutTest, ACorruptValueIsDataLossNamingTheKey) {
  ExpectDataLoss({{"/p/backends/a", {"{not json", 1}}}, "/p/backends/a", "not valid JSON");
  ExpectDataLoss({{"/p/backends/a", {R"({"endpoints": ["nohost"]})", 1}}}, "/p/backends/a",
                 "corrupt");
  ExpectDataLoss({{"/p/backends/a", {BackendToJson(Backend("b")).dump(), 1}}}, "/p/backends/a",
                 "holds backend \"b\", not \"a\"");
  ExpectDataLoss({{"/p/policies/a", {"[]", 1}}}, "/p/policies/a", "corrupt");
  ExpectDataLoss({{"/p/aggregates/a", {"null", 1}}}, "/p/aggregates/a", "corrupt");
  ExpectDataLoss({{"/p/descriptors/a.proto", {"\xff\xff\xff", 1}}}, "/p/descriptors/a.proto",
                 "not a valid FileDescriptorProto");
  ExpectDataLoss({{"/p/descriptors/a.proto", {File("b.proto").SerializeAsString(), 1}}},
                 "/p/descriptors/a.proto", "holds file \"b.proto\", not \"a.proto\"");
}

}  // namespace
}  // namespace portico::registry
