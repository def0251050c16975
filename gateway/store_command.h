// `portico store export|import` (DESIGN section 13, migration): moves what a store holds
// (descriptors, backends, policies, aggregates) between stores through one JSON document:
//   {"portico_store": 1, "descriptors": "<base64 FileDescriptorSet>", "backends": [...],
//    "policies": [...], "aggregates": [...]}
// entries in the admin API's shapes (BackendToJson, PolicyToJson with secrets in the clear,
// AggregateToJson), so the document is as secret as the store (written with mode 0600).
//   portico store export [--config FILE] [--out FILE]          the configured store -> JSON
//   portico store import [--config FILE] [--in FILE] [--force] JSON -> the configured store
// Import checks the whole document first (every entry as the admin API would, the descriptor
// set builds a catalog) and writes nothing unless all of it is valid; it refuses a store that
// holds anything unless --force (then the store's content is replaced). A file store is
// written with Store::Apply (every kind rewritten), etcd with EtcdStore::ReplaceAll (one Txn).
// Exit codes: 0 done, 1 store error (unreachable, unreadable, not empty without --force),
// 2 usage, config or document error (nothing written).
//
// Thread safety: the functions keep no state; RunStoreCommand blocks on the store.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/store.h"

namespace portico::gateway {

// The usage lines of `portico store` (part of --help).
std::string StoreUsageText();

// Runs `portico store <args>` (args: argv after "store"). Messages go to `err`; export without
// --out writes the document to `out`; import without --in reads `in`. Returns the exit code.
int RunStoreCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                    std::ostream& err);

// The document of a state (revisions are the store's own and are left out).
nlohmann::json StoreDocument(const registry::StoredState& state);
// A document back to a state: InvalidArgument naming what is wrong ("backends[1]: backend
// \"x\": ...", "descriptors: ...") for a document that is not one, an invalid entry, two
// entries of one name, or descriptors that do not build. Never throws.
StatusOr<registry::StoredState> ParseStoreDocument(std::string_view text);

}  // namespace portico::gateway
