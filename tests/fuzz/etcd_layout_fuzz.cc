// What etcd holds under the store's prefix -> registry/etcd_layout.h DecodeEtcdState (a
// watch hands it over, so it is network input). Input: records "key\tvalue" separated by
// "\n--\n", read under the prefix "/p/" at increasing mod revisions. Nothing may crash or
// throw; a decoded state holds each entry's revision and only entries whose keys were given,
// and encoding an entry back gives a value that decodes to the same state.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "registry/etcd_layout.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portico::registry;
  std::string_view rest = portico::fuzz::AsView(data, size);
  constexpr std::string_view kSeparator = "\n--\n";
  std::map<std::string, EtcdKv> kvs;
  std::int64_t revision = 0;
  while (true) {
    const std::size_t end = rest.find(kSeparator);
    const std::string_view record = rest.substr(0, end);
    const std::size_t tab = record.find('\t');
    if (tab != std::string_view::npos) {
      kvs[std::string(record.substr(0, tab))] = {std::string(record.substr(tab + 1)), ++revision};
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + kSeparator.size());
  }
  auto state = DecodeEtcdState("/p/", kvs, revision);
  if (!state.ok()) {
    FUZZ_CHECK(state.status().code() == portico::Code::kDataLoss, "not DataLoss");
    return 0;
  }
  FUZZ_CHECK(state->revision == revision, "revision");
  std::map<std::string, EtcdKv> again;
  for (const auto& [entry, entry_revision] : state->entry_revisions) {
    const std::string key = EtcdEntryKey("/p/", entry);
    FUZZ_CHECK(kvs.contains(key) && kvs.at(key).mod_revision == entry_revision,
               "an entry not from its key");
    auto value = EncodeEtcdEntry(*state, entry);
    FUZZ_CHECK(value.ok(), "a decoded entry does not encode");
    again[key] = {*value, entry_revision};
  }
  FUZZ_CHECK(static_cast<std::size_t>(
                 state->descriptors.file_size() +
                 static_cast<int>(state->backends.size() + state->policies.size() +
                                  state->aggregates.size())) == state->entry_revisions.size(),
             "entries and revisions disagree");
  auto round = DecodeEtcdState("/p/", again, revision);
  FUZZ_CHECK(round.ok(), "re-encoded entries do not decode");
  FUZZ_CHECK(round->backends == state->backends && round->policies == state->policies &&
                 round->aggregates == state->aggregates &&
                 round->descriptors.file_size() == state->descriptors.file_size(),
             "re-encoded entries decode differently");
  return 0;
}
