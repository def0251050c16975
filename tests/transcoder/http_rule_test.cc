#include "transcoder/http_rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"
#include "portico/test/v1/test.pb.h"

namespace portico::transcoder {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

const google::protobuf::ServiceDescriptor& Service(const google::protobuf::DescriptorPool& pool) {
  const auto* s = pool.FindServiceByName("portico.test.v1.TestService");
  EXPECT_NE(s, nullptr);
  return *s;
}

// "METHOD path body=... response_body=...", one string per binding.
std::vector<std::string> Render(const std::vector<HttpBinding>& bindings) {
  std::vector<std::string> out;
  for (const auto& b : bindings) {
    std::string line = b.http_method + " " + b.path;
    if (!b.body.empty()) line += " body=" + b.body;
    if (!b.response_body.empty()) line += " response_body=" + b.response_body;
    out.push_back(line);
  }
  return out;
}

struct RuleCase {
  const char* method;
  std::vector<std::string> bindings;
};

void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.method; }

// Every method of tests/protos/portico/test/v1/test.proto.
const std::vector<RuleCase>& Rules() {
  static const std::vector<RuleCase> rules = {
      {"Echo",
       {"POST /v1/echo body=*", "GET /v1/echo/{f_string}",
        "PUT /v1/echo/{f_string}/{f_int32} body=inner"}},
      {"GetItem", {"GET /v1/shelves/{shelf}/items/{item}"}},
      {"GetSpecialItem", {"GET /v1/shelves/{shelf}/items/special"}},
      {"GetByName", {"GET /v1/{name=shelves/*/books/**}"}},
      {"Undelete", {"POST /v1/{name=items/*}:undelete body=inner"}},
      {"UpdateItem", {"PATCH /v1/items/{inner.s} body=*"}},
      {"DeleteItem", {"DELETE /v1/items/{name}"}},
      {"GetInner", {"GET /v1/inner/{name} response_body=inner"}},
      {"Report", {"REPORT /v1/report/{name}"}},
      {"Fail", {"POST /v1/fail body=*"}},
      {"Sleep", {"POST /v1/sleep body=*"}},
      {"Metadata", {"POST /v1/metadata body=*"}},
      {"Plain", {}},
      {"ServerStream", {"POST /v1/stream body=*", "GET /v1/stream/{message}"}},
      {"ClientStream", {"POST /v1/collect body=*"}},
      {"BidiStream", {"POST /v1/bidi body=*"}},
      {"Upload", {"POST /v1/files/{name} body=file"}},
      {"RawEcho", {"POST /v1/raw body=*"}},
      {"Download", {"GET /v1/download/{name}"}},
  };
  return rules;
}

class HttpRuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(HttpRuleTest, GeneratedPool) {
  const auto* method = Service(*google::protobuf::DescriptorPool::generated_pool())
                           .FindMethodByName(GetParam().method);
  ASSERT_NE(method, nullptr);
  EXPECT_THAT(Render(HttpBindingsOf(*method)), ElementsAreArray(GetParam().bindings));
}

// A pool built at run time from the descriptor set protoc wrote (as uploads and reflection
// build theirs) reads the same bindings.
const google::protobuf::DescriptorPool& RuntimePool() {
  static const google::protobuf::DescriptorPool* pool = [] {
    auto* p = new google::protobuf::DescriptorPool();
    std::ifstream in(PORTICO_TEST_DESCRIPTOR_SET, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    google::protobuf::FileDescriptorSet set;
    EXPECT_TRUE(set.ParseFromString(bytes.str())) << PORTICO_TEST_DESCRIPTOR_SET;
    for (const auto& file : set.file()) EXPECT_NE(p->BuildFile(file), nullptr) << file.name();
    return p;
  }();
  return *pool;
}

TEST_P(HttpRuleTest, RuntimePool) {
  const auto* method = Service(RuntimePool()).FindMethodByName(GetParam().method);
  ASSERT_NE(method, nullptr);
  EXPECT_NE(method->file()->pool(), google::protobuf::DescriptorPool::generated_pool());
  EXPECT_THAT(Render(HttpBindingsOf(*method)), ElementsAreArray(GetParam().bindings));
}

INSTANTIATE_TEST_SUITE_P(TestService, HttpRuleTest, ::testing::ValuesIn(Rules()),
                         [](const auto& info) { return std::string(info.param.method); });

TEST(HttpRuleTest, CoversEveryMethod) {
  const auto& service = Service(*google::protobuf::DescriptorPool::generated_pool());
  ASSERT_EQ(static_cast<std::size_t>(service.method_count()), Rules().size());
  for (std::size_t i = 0; i < Rules().size(); ++i) {
    EXPECT_EQ(service.method(static_cast<int>(i))->name(), Rules()[i].method);
  }
}

TEST(HttpRuleTest, FieldsOfAnAdditionalBinding) {
  const auto* echo =
      Service(*google::protobuf::DescriptorPool::generated_pool()).FindMethodByName("Echo");
  ASSERT_NE(echo, nullptr);
  const auto bindings = HttpBindingsOf(*echo);
  ASSERT_EQ(bindings.size(), 3u);
  EXPECT_EQ(bindings[2].http_method, "PUT");
  EXPECT_EQ(bindings[2].path, "/v1/echo/{f_string}/{f_int32}");
  EXPECT_EQ(bindings[2].body, "inner");
  EXPECT_EQ(bindings[2].response_body, "");
  EXPECT_EQ(bindings[1].body, "");  // additional bindings do not inherit the parent's body
}

TEST(HttpRuleTest, MethodWithoutOptionsAtAll) {
  google::protobuf::DescriptorPool pool;
  google::protobuf::FileDescriptorProto file;
  file.set_name("bare.proto");
  file.set_package("bare");
  file.set_syntax("proto3");
  file.add_message_type()->set_name("M");
  auto* service = file.add_service();
  service->set_name("S");
  auto* method = service->add_method();
  method->set_name("Call");
  method->set_input_type(".bare.M");
  method->set_output_type(".bare.M");
  ASSERT_NE(pool.BuildFile(file), nullptr);
  const auto* call = pool.FindMethodByName("bare.S.Call");
  ASSERT_NE(call, nullptr);
  EXPECT_THAT(HttpBindingsOf(*call), IsEmpty());
  const HttpBinding d = DefaultBinding(*call);
  EXPECT_EQ(d.http_method, "POST");
  EXPECT_EQ(d.path, "/bare.S/Call");
  EXPECT_EQ(d.body, "*");
  EXPECT_EQ(d.response_body, "");
}

TEST(HttpRuleTest, DefaultBinding) {
  const auto& service = Service(*google::protobuf::DescriptorPool::generated_pool());
  for (const char* name : {"Echo", "Plain", "BidiStream"}) {
    const HttpBinding d = DefaultBinding(*service.FindMethodByName(name));
    EXPECT_EQ(d.http_method, "POST") << name;
    EXPECT_EQ(d.path, std::string("/portico.test.v1.TestService/") + name);
    EXPECT_EQ(d.body, "*") << name;
    EXPECT_EQ(d.response_body, "") << name;
  }
  EXPECT_THAT(Render({DefaultBinding(*service.FindMethodByName("GetInner"))}),
              ElementsAre("POST /portico.test.v1.TestService/GetInner body=*"));
}

}  // namespace
}  // namespace portico::transcoder

namespace portico::transcoder {
namespace {

// A method whose google.api.http option is set programmatically.
std::vector<std::string> BindingsFor(const google::api::HttpRule& rule) {
  google::protobuf::DescriptorPool pool;
  google::protobuf::FileDescriptorProto file;
  file.set_name("rules.proto");
  file.set_package("rules");
  file.set_syntax("proto3");
  file.add_message_type()->set_name("M");
  auto* method = file.add_service()->add_method();
  file.mutable_service(0)->set_name("S");
  method->set_name("Call");
  method->set_input_type(".rules.M");
  method->set_output_type(".rules.M");
  *method->mutable_options()->MutableExtension(google::api::http) = rule;
  EXPECT_NE(pool.BuildFile(file), nullptr);
  const auto* call = pool.FindMethodByName("rules.S.Call");
  if (call == nullptr) return {"<no method>"};
  return Render(HttpBindingsOf(*call));
}

TEST(HttpRuleTest, RulesWithoutAPatternAreSkipped) {
  google::api::HttpRule rule;
  rule.set_get("/a");
  rule.add_additional_bindings()->set_body("x");  // no pattern
  rule.add_additional_bindings()->set_post("/b");
  EXPECT_THAT(BindingsFor(rule), ElementsAre("GET /a", "POST /b"));

  google::api::HttpRule no_top;
  no_top.set_body("*");
  no_top.add_additional_bindings()->set_delete_("/c/{x}");
  EXPECT_THAT(BindingsFor(no_top), ElementsAre("DELETE /c/{x}"));

  EXPECT_THAT(BindingsFor(google::api::HttpRule()), IsEmpty());
}

TEST(HttpRuleTest, EveryPatternKind) {
  google::api::HttpRule rule;
  rule.set_put("/p");
  rule.set_body("b");
  rule.set_response_body("r");
  rule.add_additional_bindings()->set_patch("/pa");
  auto* custom = rule.add_additional_bindings();
  custom->mutable_custom()->set_kind("OPTIONS");
  custom->mutable_custom()->set_path("/o");
  rule.add_additional_bindings()->set_get("/g");
  rule.add_additional_bindings()->set_delete_("/d");
  rule.add_additional_bindings()->set_post("/po");
  EXPECT_THAT(BindingsFor(rule),
              ElementsAre("PUT /p body=b response_body=r", "PATCH /pa", "OPTIONS /o", "GET /g",
                          "DELETE /d", "POST /po"));
}

}  // namespace
}  // namespace portico::transcoder
