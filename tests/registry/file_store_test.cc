#include "registry/file_store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portico::registry {
namespace {

namespace fs = std::filesystem;

// The documented on-disk format, computed independently of file_store.cc.
std::uint64_t Fnv1a64(const std::string& data) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string Frame(const std::string& payload) {
  char sum[17];
  std::snprintf(sum, sizeof(sum), "%016llx", static_cast<unsigned long long>(Fnv1a64(payload)));
  return "portico-store v1 " + std::to_string(payload.size()) + " " + sum + "\n" + payload;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

google::protobuf::FileDescriptorSet SampleDescriptors() {
  google::protobuf::FileDescriptorSet set;
  google::protobuf::FileDescriptorProto* base = set.add_file();
  base->set_name("chat/v1/types.proto");
  base->set_package("chat.v1");
  base->set_syntax("proto3");
  google::protobuf::DescriptorProto* message = base->add_message_type();
  message->set_name("Line");
  google::protobuf::FieldDescriptorProto* field = message->add_field();
  field->set_name("text");
  field->set_number(1);
  field->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  field->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  google::protobuf::FileDescriptorProto* chat = set.add_file();
  chat->set_name("chat/v1/chat.proto");
  chat->set_package("chat.v1");
  chat->set_syntax("proto3");
  chat->add_dependency("chat/v1/types.proto");
  google::protobuf::ServiceDescriptorProto* service = chat->add_service();
  service->set_name("Chat");
  google::protobuf::MethodDescriptorProto* method = service->add_method();
  method->set_name("Join");
  method->set_input_type(".chat.v1.Line");
  method->set_output_type(".chat.v1.Line");
  method->set_client_streaming(true);
  method->set_server_streaming(true);
  return set;
}

std::vector<BackendConfig> SampleBackends() {
  return {BackendConfig{"chat",
                        {"127.0.0.1:50051", "[::1]:50052"},
                        {"chat.v1.Chat"},
                        std::chrono::milliseconds(1500)},
          BackendConfig{"greeter",
                        {"localhost:50061"},
                        {"helloworld.Greeter", "a.B"},
                        std::chrono::milliseconds(30000)}};
}

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            ("portico_file_store_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = root_ / "a" / "b" / "data";
  }
  void TearDown() override { fs::remove_all(root_); }

  // Saves both samples into dir_ and returns the store.
  FileStore SavedStore() {
    FileStore store(dir_);
    EXPECT_TRUE(store.SaveDescriptors(SampleDescriptors()).ok());
    EXPECT_TRUE(store.SaveBackends(SampleBackends()).ok());
    return store;
  }

  void ExpectDataLoss(std::string_view file, std::string_view what) {
    StatusOr<StoredState> state = FileStore(dir_).Load();
    ASSERT_FALSE(state.ok());
    EXPECT_EQ(state.status().code(), Code::kDataLoss);
    const std::string& message = state.status().message();
    EXPECT_NE(message.find((dir_ / file).string()), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(FileStoreTest, MissingDirectoryIsEmpty) {
  StatusOr<StoredState> state = FileStore(dir_).Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->descriptors.file_size(), 0);
  EXPECT_TRUE(state->backends.empty());
  EXPECT_FALSE(fs::exists(dir_)) << "Load must not create the directory";
}

TEST_F(FileStoreTest, EmptyDirectoryIsEmpty) {
  fs::create_directories(dir_);
  StatusOr<StoredState> state = FileStore(dir_).Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->descriptors.file_size(), 0);
  EXPECT_TRUE(state->backends.empty());
}

TEST_F(FileStoreTest, RoundTrip) {
  FileStore store = SavedStore();
  EXPECT_TRUE(fs::is_directory(dir_));
  StatusOr<StoredState> state = FileStore(dir_).Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->descriptors.SerializeAsString(), SampleDescriptors().SerializeAsString());
  EXPECT_EQ(state->backends, SampleBackends());
  // Only the two files; no temporaries left behind.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"backends.json", "descriptors.pb"}));
}

TEST_F(FileStoreTest, OnDiskFormatIsTheDocumentedOne) {
  SavedStore();
  const std::string descriptors = ReadFile(dir_ / "descriptors.pb");
  EXPECT_EQ(descriptors, Frame(SampleDescriptors().SerializeAsString()));
  const std::string backends = ReadFile(dir_ / "backends.json");
  const std::size_t newline = backends.find('\n');
  ASSERT_NE(newline, std::string::npos);
  EXPECT_EQ(backends, Frame(backends.substr(newline + 1)));
  EXPECT_NE(backends.find("\"chat.v1.Chat\""), std::string::npos);
  EXPECT_NE(backends.find("\"1500ms\""), std::string::npos);
}

TEST_F(FileStoreTest, SaveReplacesEachFileIndependently) {
  FileStore store = SavedStore();
  std::vector<BackendConfig> one = {SampleBackends()[1]};
  ASSERT_TRUE(store.SaveBackends(one).ok());
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->backends, one);
  EXPECT_EQ(state->descriptors.file_size(), 2);

  ASSERT_TRUE(store.SaveDescriptors({}).ok());
  ASSERT_TRUE(store.SaveBackends({}).ok());
  state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->descriptors.file_size(), 0);
  EXPECT_TRUE(state->backends.empty());
}

TEST_F(FileStoreTest, OnlyOneFilePresent) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SaveBackends(SampleBackends()).ok());
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->descriptors.file_size(), 0);
  EXPECT_EQ(state->backends, SampleBackends());
}

TEST_F(FileStoreTest, TruncatedFileIsDataLoss) {
  SavedStore();
  const fs::path path = dir_ / "descriptors.pb";
  const std::string data = ReadFile(path);
  WriteFile(path, data.substr(0, data.size() - 3));
  ExpectDataLoss("descriptors.pb", "torn write");
  // Truncated inside the header.
  WriteFile(path, data.substr(0, 10));
  ExpectDataLoss("descriptors.pb", "bad header");
  // Truncated to nothing.
  WriteFile(path, "");
  ExpectDataLoss("descriptors.pb", "the file is empty");
}

TEST_F(FileStoreTest, TrailingBytesAreDataLoss) {
  SavedStore();
  const fs::path path = dir_ / "backends.json";
  WriteFile(path, ReadFile(path) + "x");
  ExpectDataLoss("backends.json", "size mismatch");
}

TEST_F(FileStoreTest, FlippedByteIsDataLoss) {
  SavedStore();
  for (const char* file : {"descriptors.pb", "backends.json"}) {
    const fs::path path = dir_ / file;
    const std::string original = ReadFile(path);
    std::string data = original;
    data[data.size() - 5] = static_cast<char>(data[data.size() - 5] ^ 0x01);
    WriteFile(path, data);
    ExpectDataLoss(file, "checksum mismatch");
    WriteFile(path, original);
  }
  EXPECT_TRUE(FileStore(dir_).Load().ok());
}

TEST_F(FileStoreTest, GarbageHeaderIsDataLoss) {
  SavedStore();
  const fs::path path = dir_ / "backends.json";
  const std::string original = ReadFile(path);
  const std::string payload = original.substr(original.find('\n') + 1);
  const std::string sum = original.substr(original.find('\n') - 16, 16);
  const std::string size = std::to_string(payload.size());
  for (const std::string& header : std::vector<std::string>{
           std::string("hello world\n"), "portico-store v1\n", "portico-store v1 " + size + "\n",
           "portico-store v1 " + size + " " + sum + " extra\n",
           "portico-store  v1 " + size + " " + sum + "\n",
           "portico-store v1 -" + size + " " + sum + "\n",
           "portico-store v1 " + size + "x " + sum + "\n",
           "portico-store v1 " + size + " " + sum.substr(1) + "\n",
           "portico-store v1 " + size + " zz" + sum.substr(2) + "\n",
           "portico-store v1 99999999999999999999999 " + sum + "\n",
           "portico-storage v1 " + size + " " + sum + "\n"}) {
    WriteFile(path, header + payload);
    ExpectDataLoss("backends.json", "bad header");
  }
  WriteFile(path, "portico-store v2 " + size + " " + sum + "\n" + payload);
  ExpectDataLoss("backends.json", "unsupported version \"v2\"");
  // A whole file of garbage with no newline at all.
  WriteFile(path, std::string(4096, 'x'));
  ExpectDataLoss("backends.json", "bad header");
  // Random bytes.
  std::mt19937 random(42);
  std::string noise(1000, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  WriteFile(path, noise);
  ExpectDataLoss("backends.json", "");
}

TEST_F(FileStoreTest, PayloadThatDoesNotParseIsDataLoss) {
  fs::create_directories(dir_);
  WriteFile(dir_ / "descriptors.pb", Frame("\xff\xff\xff"));
  ExpectDataLoss("descriptors.pb", "not a valid FileDescriptorSet");
  fs::remove(dir_ / "descriptors.pb");

  WriteFile(dir_ / "backends.json", Frame("{not json"));
  ExpectDataLoss("backends.json", "not valid JSON");
  WriteFile(dir_ / "backends.json", Frame("[]"));
  ExpectDataLoss("backends.json", "expected {\"backends\": [...]}");
  WriteFile(dir_ / "backends.json", Frame(R"({"backends": [], "extra": 1})"));
  ExpectDataLoss("backends.json", "expected {\"backends\": [...]}");
  WriteFile(dir_ / "backends.json", Frame(R"({"backends": [{"name": "x", "endpoint": []}]})"));
  ExpectDataLoss("backends.json", "backend \"x\": unknown key \"endpoint\"");
  WriteFile(dir_ / "backends.json",
            Frame(R"({"backends": [{"name": "x", "endpoints": ["h:1"], "services": ["a.B"]},
                                   {"name": "x", "endpoints": ["h:2"], "services": ["a.C"]}]})"));
  ExpectDataLoss("backends.json", "backend \"x\" is listed twice");
  WriteFile(dir_ / "backends.json",
            Frame(R"({"backends": [{"endpoints": ["h:1"], "services": ["a.B"]}]})"));
  ExpectDataLoss("backends.json", "backend name must not be empty");
}

TEST_F(FileStoreTest, LoadDoesNotModifyCorruptFiles) {
  SavedStore();
  const fs::path path = dir_ / "descriptors.pb";
  const std::string torn = ReadFile(path).substr(0, 40);
  WriteFile(path, torn);
  EXPECT_FALSE(FileStore(dir_).Load().ok());
  EXPECT_EQ(ReadFile(path), torn);
}

TEST_F(FileStoreTest, LeftoverTempFilesAreIgnoredThenRemoved) {
  FileStore store = SavedStore();
  WriteFile(dir_ / "descriptors.pb.tmp", "half a wri");
  WriteFile(dir_ / "backends.json.tmp", Frame("{\"backends\": []}"));
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->backends, SampleBackends());
  EXPECT_TRUE(fs::exists(dir_ / "descriptors.pb.tmp")) << "Load must not modify files";

  // A temp file with no real file beside it is ignored too.
  fs::remove(dir_ / "descriptors.pb");
  state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->descriptors.file_size(), 0);

  ASSERT_TRUE(store.SaveBackends(SampleBackends()).ok());
  EXPECT_FALSE(fs::exists(dir_ / "descriptors.pb.tmp"));
  EXPECT_FALSE(fs::exists(dir_ / "backends.json.tmp"));
}

TEST_F(FileStoreTest, DirectoryIsARegularFile) {
  fs::create_directories(dir_.parent_path());
  WriteFile(dir_, "not a directory");
  FileStore store(dir_);
  Status status = store.SaveBackends(SampleBackends());
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(dir_.string()), std::string::npos) << status.message();
  status = store.SaveDescriptors(SampleDescriptors());
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(ReadFile(dir_), "not a directory");
  // Load cannot tell "empty" here; it must fail rather than report an empty store.
  StatusOr<StoredState> state = store.Load();
  EXPECT_FALSE(state.ok());
}

TEST_F(FileStoreTest, FailedSaveLeavesOldContentIntact) {
  FileStore store = SavedStore();
  const std::string old_descriptors = ReadFile(dir_ / "descriptors.pb");
  const std::string old_backends = ReadFile(dir_ / "backends.json");
  // A directory where the temporary file must go makes the write fail, even as root.
  fs::create_directories(dir_ / "descriptors.pb.tmp" / "sub");
  fs::create_directories(dir_ / "backends.json.tmp" / "sub");

  google::protobuf::FileDescriptorSet other;
  other.add_file()->set_name("other.proto");
  Status status = store.SaveDescriptors(other);
  EXPECT_EQ(status.code(), Code::kInternal);
  EXPECT_NE(status.message().find("descriptors.pb.tmp"), std::string::npos) << status.message();
  status = store.SaveBackends({});
  EXPECT_EQ(status.code(), Code::kInternal);

  EXPECT_EQ(ReadFile(dir_ / "descriptors.pb"), old_descriptors);
  EXPECT_EQ(ReadFile(dir_ / "backends.json"), old_backends);
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->backends, SampleBackends());
  EXPECT_EQ(state->descriptors.file_size(), 2);
}

TEST_F(FileStoreTest, InvalidBackendsAreRejectedBeforeWriting) {
  FileStore store = SavedStore();
  const std::string old_backends = ReadFile(dir_ / "backends.json");
  std::vector<BackendConfig> bad = SampleBackends();
  bad[1].endpoints.clear();
  Status status = store.SaveBackends(bad);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(status.message(), "backend \"greeter\": \"endpoints\" must not be empty");

  std::vector<BackendConfig> twice = SampleBackends();
  twice[1].name = "chat";
  status = store.SaveBackends(twice);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(status.message(), "backend \"chat\" is listed twice");
  EXPECT_EQ(ReadFile(dir_ / "backends.json"), old_backends);
}

TEST_F(FileStoreTest, UnserializableDescriptorsAreRejected) {
  FileStore store(dir_);
  google::protobuf::FileDescriptorSet set;
  // NamePart's fields are `required` in descriptor.proto; leaving them unset cannot serialize.
  set.add_file()->mutable_options()->add_uninterpreted_option()->add_name();
  Status status = store.SaveDescriptors(set);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "descriptors.pb"));
}

TEST_F(FileStoreTest, RelativeDirectory) {
  const fs::path old_cwd = fs::current_path();
  fs::current_path(root_);
  FileStore store("rel/data");
  const Status saved = store.SaveBackends(SampleBackends());
  StatusOr<StoredState> state = store.Load();
  fs::current_path(old_cwd);  // before any assertion can return early
  EXPECT_TRUE(saved.ok()) << saved.message();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->backends, SampleBackends());
  EXPECT_TRUE(fs::exists(root_ / "rel" / "data" / "backends.json"));
}

std::vector<PolicyConfig> SamplePolicies() {
  PolicyConfig limit;
  limit.name = "limit";
  limit.rate_limit.emplace().rate = 2.5;
  PolicyConfig signed_requests;
  signed_requests.name = "signed";
  signed_requests.hmac.emplace().keys = {{"k1", "s3cret"}};
  return {limit, signed_requests};
}

TEST_F(FileStoreTest, PoliciesRoundTripWithSecretsInAnOwnerOnlyFile) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SavePolicies(SamplePolicies()).ok());
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->policies, SamplePolicies());
  EXPECT_TRUE(state->backends.empty());
  const std::string text = ReadFile(dir_ / "policies.json");
  EXPECT_NE(text.find("\"secret\": \"s3cret\""), std::string::npos) << text;
  const fs::perms perms = fs::status(dir_ / "policies.json").permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
  // Saving again replaces; an empty list is an empty state.
  ASSERT_TRUE(store.SavePolicies({}).ok());
  EXPECT_TRUE(store.Load()->policies.empty());
}

TEST_F(FileStoreTest, MissingPoliciesFileIsNoPolicies) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SaveBackends(SampleBackends()).ok());
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->policies.empty());
}

TEST_F(FileStoreTest, CorruptPoliciesAreDataLoss) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SavePolicies(SamplePolicies()).ok());
  std::string text = ReadFile(dir_ / "policies.json");
  text.back() = 'x';
  WriteFile(dir_ / "policies.json", text);
  EXPECT_EQ(store.Load().status().code(), Code::kDataLoss);
  for (const std::string payload :
       {"[]", "{\"policies\": {}}", "{\"policies\": [{\"name\": \"p\"}]}",
        "{\"policies\": [{\"name\": \"p\", \"cache\": {}}, {\"name\": \"p\", \"cache\": {}}]}"}) {
    WriteFile(dir_ / "policies.json", Frame(payload));
    StatusOr<StoredState> state = store.Load();
    EXPECT_EQ(state.status().code(), Code::kDataLoss) << payload;
    EXPECT_NE(state.status().message().find("policies.json"), std::string::npos);
  }
}

TEST_F(FileStoreTest, InvalidPoliciesAreRejectedBeforeWriting) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SavePolicies(SamplePolicies()).ok());
  const std::string old = ReadFile(dir_ / "policies.json");
  std::vector<PolicyConfig> bad = SamplePolicies();
  bad[0].rate_limit->rate = 0;
  EXPECT_EQ(store.SavePolicies(bad).code(), Code::kInvalidArgument);
  std::vector<PolicyConfig> twice = SamplePolicies();
  twice[1].name = "limit";
  Status status = store.SavePolicies(twice);
  EXPECT_EQ(status.message(), "policy \"limit\" is listed twice");
  EXPECT_EQ(ReadFile(dir_ / "policies.json"), old);
}

std::vector<AggregateConfig> SampleAggregates() {
  AggregateConfig dashboard;
  dashboard.name = "dashboard";
  dashboard.path = "/v1/dashboard/{user_id}";
  dashboard.calls.resize(2);
  dashboard.calls[0].name = "recs";
  dashboard.calls[0].method = "recs.v1.Recs/ForUser";
  dashboard.calls[0].request = {{"name", "{user.name}"}, {"limit", 5}};
  dashboard.calls[0].cache_ttl = std::chrono::seconds(10);
  dashboard.calls[1].name = "user";
  dashboard.calls[1].method = "users.v1.Users/GetUser";
  AggregateConfig other = dashboard;
  other.name = "other";
  other.on_error = "fail";
  return {dashboard, other};
}

TEST_F(FileStoreTest, AggregatesRoundTrip) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SaveAggregates(SampleAggregates()).ok());
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->aggregates, SampleAggregates());
  EXPECT_TRUE(state->policies.empty());
  ASSERT_TRUE(store.SaveAggregates({}).ok());
  EXPECT_TRUE(store.Load()->aggregates.empty());
}

TEST_F(FileStoreTest, MissingAggregatesFileIsNoAggregates) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SavePolicies(SamplePolicies()).ok());
  StatusOr<StoredState> state = store.Load();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->aggregates.empty());
}

TEST_F(FileStoreTest, CorruptAggregatesAreDataLoss) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SaveAggregates(SampleAggregates()).ok());
  std::string text = ReadFile(dir_ / "aggregates.json");
  text.back() = 'x';
  WriteFile(dir_ / "aggregates.json", text);
  EXPECT_EQ(store.Load().status().code(), Code::kDataLoss);
  for (const std::string payload :
       {"[]", "{\"aggregates\": {}}", "{\"aggregates\": [{\"name\": \"a\"}]}",
        "{\"aggregates\": [], \"x\": 1}"}) {
    WriteFile(dir_ / "aggregates.json", Frame(payload));
    StatusOr<StoredState> state = store.Load();
    EXPECT_EQ(state.status().code(), Code::kDataLoss) << payload;
    EXPECT_NE(state.status().message().find("aggregates.json"), std::string::npos);
  }
}

TEST_F(FileStoreTest, InvalidAggregatesAreRejectedBeforeWriting) {
  FileStore store(dir_);
  ASSERT_TRUE(store.SaveAggregates(SampleAggregates()).ok());
  const std::string old = ReadFile(dir_ / "aggregates.json");
  std::vector<AggregateConfig> bad = SampleAggregates();
  bad[0].on_error = "maybe";
  EXPECT_EQ(store.SaveAggregates(bad).code(), Code::kInvalidArgument);
  std::vector<AggregateConfig> twice = SampleAggregates();
  twice[1].name = "dashboard";
  EXPECT_EQ(store.SaveAggregates(twice).message(), "aggregate \"dashboard\" is listed twice");
  EXPECT_EQ(ReadFile(dir_ / "aggregates.json"), old);
}

}  // namespace
}  // namespace portico::registry
