// http/openapi_admin.h: one build per snapshot (same snapshot: the same document object, no
// rebuild), a new build when the catalog or generation changes, safe from many threads.
#include "http/openapi_admin.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/carried_files.h"

namespace portico::http {
namespace {

std::shared_ptr<const registry::Catalog> CatalogOf(const std::string& source) {
  auto files = registry::CompileSources({{"c.proto", source}}, registry::CarriedFiles());
  EXPECT_TRUE(files.ok()) << files.status().message();
  auto catalog = registry::Catalog::Build(files.ok() ? *files : registry::FileList{});
  EXPECT_TRUE(catalog.ok());
  return catalog.ok() ? *catalog : nullptr;
}

registry::Snapshot SnapshotOf(std::shared_ptr<const registry::Catalog> catalog,
                              std::uint64_t generation) {
  registry::Snapshot s;
  s.catalog = std::move(catalog);
  s.generation = generation;
  return s;
}

constexpr char kOne[] = "syntax = \"proto3\"; package one.v1; message M { string a = 1; }\n"
                        "service S { rpc Get(M) returns (M); }\n";
constexpr char kTwo[] = "syntax = \"proto3\"; package two.v1; message M { string a = 1; }\n"
                        "service T { rpc Put(M) returns (M); }\n";

TEST(OpenApiCacheTest, SameSnapshotIsServedWithoutRebuilding) {
  OpenApiCache cache;
  auto snapshot = SnapshotOf(CatalogOf(kOne), 3);
  auto first = cache.Document(snapshot);
  auto second = cache.Document(snapshot);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(cache.builds(), 1u);
  Response reply = cache.Reply(snapshot);
  EXPECT_EQ(reply.result_int(), 200u);
  EXPECT_EQ(reply[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(reply.body(), *first);
  EXPECT_EQ(cache.builds(), 1u);
  auto doc = nlohmann::json::parse(*first);
  EXPECT_EQ(doc["info"]["version"], "3");
  EXPECT_TRUE(doc["paths"].contains("/one.v1.S/Get"));
}

TEST(OpenApiCacheTest, NewCatalogOrGenerationRebuilds) {
  OpenApiCache cache;
  auto one = CatalogOf(kOne);
  auto first = cache.Document(SnapshotOf(one, 1));
  // An upload: a new catalog and generation.
  auto second = cache.Document(SnapshotOf(CatalogOf(kTwo), 2));
  EXPECT_EQ(cache.builds(), 2u);
  EXPECT_NE(*first, *second);
  EXPECT_TRUE(nlohmann::json::parse(*second)["paths"].contains("/two.v1.T/Put"));
  // A backend change: same catalog, new generation (info.version changes).
  auto third = cache.Document(SnapshotOf(one, 3));
  EXPECT_EQ(cache.builds(), 3u);
  EXPECT_EQ(nlohmann::json::parse(*third)["info"]["version"], "3");
  EXPECT_EQ(cache.Document(SnapshotOf(one, 3)).get(), third.get());
  EXPECT_EQ(cache.builds(), 3u);
}

TEST(OpenApiCacheTest, ConcurrentReadersGetOneDocument) {
  OpenApiCache cache;
  auto snapshot = SnapshotOf(CatalogOf(kOne), 1);
  const std::string expected = *cache.Document(snapshot);
  std::vector<std::thread> threads;
  std::atomic<int> same{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) same += *cache.Document(snapshot) == expected ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(same.load(), 200);
  EXPECT_EQ(cache.builds(), 1u);
}

}  // namespace
}  // namespace portico::http
