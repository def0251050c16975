#include "registry/store.h"

namespace portico::registry {

std::string_view EntryKindName(EntryKind kind) {
  switch (kind) {
    case EntryKind::kDescriptor: return "descriptors";
    case EntryKind::kBackend: return "backends";
    case EntryKind::kPolicy: return "policies";
    case EntryKind::kAggregate: return "aggregates";
  }
  return "entries";
}

std::string_view EntryKindNoun(EntryKind kind) {
  switch (kind) {
    case EntryKind::kDescriptor: return "descriptor";
    case EntryKind::kBackend: return "backend";
    case EntryKind::kPolicy: return "policy";
    case EntryKind::kAggregate: return "aggregate";
  }
  return "entry";
}

}  // namespace portico::registry
