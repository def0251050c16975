#include "registry/etcd_layout.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

constexpr std::string_view kGuardName = "meta/write";
constexpr EntryKind kKinds[] = {EntryKind::kDescriptor, EntryKind::kBackend, EntryKind::kPolicy,
                                EntryKind::kAggregate};

// One JSON value per key: compact (etcd bills by the byte). Strings may hold any bytes
// (secrets, aggregate requests); `replace` only guarantees dump() cannot throw, as in
// FileStore's saves.
std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename T>
const T* FindNamed(const std::vector<T>& items, const std::string& name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

Status NotStored(const EntryRef& entry) {
  return NotFound("the state to store has no " + std::string(EntryKindNoun(entry.kind)) + " \"" +
                  entry.name + "\"");
}

Status Corrupt(const std::string& key, const std::string& what) {
  return Status(Code::kDataLoss, "etcd key \"" + key + "\" is corrupt: " + what);
}

// A JSON entry: parsed with from_json(json, ""), its name checked against the key's.
template <typename T, typename FromJson>
StatusOr<T> DecodeJson(const std::string& key, const EntryRef& entry, const std::string& value,
                       FromJson from_json) {
  const nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Corrupt(key, "the value is not valid JSON");
  StatusOr<T> parsed = from_json(json, "");
  if (!parsed.ok()) return Corrupt(key, parsed.status().message());
  if (parsed->name != entry.name) {
    return Corrupt(key, "it holds " + std::string(EntryKindNoun(entry.kind)) + " \"" +
                            parsed->name + "\", not \"" + entry.name + "\"");
  }
  return parsed;
}

// Every file after the user files it imports (imports of carried files are not in the set);
// otherwise by name. A cycle (only a corrupt store has one) is broken where it is met.
google::protobuf::FileDescriptorSet InDependencyOrder(
    std::map<std::string, google::protobuf::FileDescriptorProto> files) {
  google::protobuf::FileDescriptorSet set;
  std::set<std::string> placed, visiting;
  // Iterative depth-first walk: a crafted chain of imports must not exhaust the stack.
  for (const auto& [root, unused] : files) {
    if (placed.contains(root)) continue;
    std::vector<std::pair<std::string, int>> stack{{root, 0}};
    visiting.insert(root);
    while (!stack.empty()) {
      auto& [name, next] = stack.back();
      const auto& proto = files.at(name);
      if (next < proto.dependency_size()) {
        const std::string& dep = proto.dependency(next++);
        if (files.contains(dep) && !placed.contains(dep) && !visiting.contains(dep)) {
          visiting.insert(dep);
          stack.emplace_back(dep, 0);
        }
        continue;
      }
      placed.insert(name);
      visiting.erase(name);
      *set.add_file() = std::move(files.at(name));
      stack.pop_back();
    }
  }
  return set;
}

}  // namespace

std::string EtcdEntryKey(std::string_view prefix, const EntryRef& entry) {
  std::string key(prefix);
  key += EntryKindName(entry.kind);
  key += '/';
  key += entry.name;
  return key;
}

std::string EtcdGuardKey(std::string_view prefix) {
  return std::string(prefix) + std::string(kGuardName);
}

std::optional<EntryRef> ParseEtcdEntryKey(std::string_view prefix, std::string_view key) {
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  const std::size_t slash = key.find('/');
  if (slash == std::string_view::npos || slash + 1 == key.size()) return std::nullopt;
  const std::string_view word = key.substr(0, slash);
  for (EntryKind kind : kKinds) {
    if (EntryKindName(kind) == word) return EntryRef{kind, std::string(key.substr(slash + 1))};
  }
  return std::nullopt;
}

StatusOr<std::string> EncodeEtcdEntry(const StoredState& state, const EntryRef& entry) {
  switch (entry.kind) {
    case EntryKind::kDescriptor: {
      for (const auto& file : state.descriptors.file()) {
        if (file.name() != entry.name) continue;
        // Checked here because SerializeToString only checks in debug builds of libprotobuf.
        if (!file.IsInitialized()) {
          return InvalidArgument("descriptor \"" + entry.name + "\" is missing required fields: " +
                                 file.InitializationErrorString());
        }
        std::string value;
        if (!file.SerializeToString(&value)) {
          return InvalidArgument("descriptor \"" + entry.name + "\" cannot be serialized");
        }
        return value;
      }
      return NotStored(entry);
    }
    case EntryKind::kBackend: {
      const BackendConfig* backend = FindNamed(state.backends, entry.name);
      if (backend == nullptr) return NotStored(entry);
      if (Status status = ValidateBackend(*backend); !status.ok()) return status;
      return Dump(BackendToJson(*backend));
    }
    case EntryKind::kPolicy: {
      const PolicyConfig* policy = FindNamed(state.policies, entry.name);
      if (policy == nullptr) return NotStored(entry);
      if (Status status = ValidatePolicy(*policy); !status.ok()) return status;
      return Dump(PolicyToJson(*policy, /*redact_secrets=*/false));
    }
    case EntryKind::kAggregate: {
      const AggregateConfig* aggregate = FindNamed(state.aggregates, entry.name);
      if (aggregate == nullptr) return NotStored(entry);
      if (Status status = ValidateAggregate(*aggregate); !status.ok()) return status;
      return Dump(AggregateToJson(*aggregate));
    }
  }
  return NotStored(entry);
}

StatusOr<StoredState> DecodeEtcdState(std::string_view prefix,
                                      const std::map<std::string, EtcdKv>& kvs,
                                      std::int64_t revision) {
  StoredState state;
  state.revision = revision;
  std::map<std::string, google::protobuf::FileDescriptorProto> files;
  // kvs is sorted by key, so each kind comes out sorted by name.
  for (const auto& [key, kv] : kvs) {
    std::optional<EntryRef> entry = ParseEtcdEntryKey(prefix, key);
    if (!entry) continue;
    switch (entry->kind) {
      case EntryKind::kDescriptor: {
        google::protobuf::FileDescriptorProto file;
        if (kv.value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
            !file.ParseFromArray(kv.value.data(), static_cast<int>(kv.value.size()))) {
          return Corrupt(key, "the value is not a valid FileDescriptorProto");
        }
        if (file.name() != entry->name) {
          return Corrupt(key, "it holds file \"" + file.name() + "\", not \"" + entry->name + "\"");
        }
        files.emplace(entry->name, std::move(file));
        break;
      }
      case EntryKind::kBackend: {
        auto parsed = DecodeJson<BackendConfig>(key, *entry, kv.value, BackendFromJson);
        if (!parsed.ok()) return parsed.status();
        state.backends.push_back(std::move(parsed).value());
        break;
      }
      case EntryKind::kPolicy: {
        auto parsed = DecodeJson<PolicyConfig>(key, *entry, kv.value, PolicyFromJson);
        if (!parsed.ok()) return parsed.status();
        state.policies.push_back(std::move(parsed).value());
        break;
      }
      case EntryKind::kAggregate: {
        auto parsed = DecodeJson<AggregateConfig>(key, *entry, kv.value, AggregateFromJson);
        if (!parsed.ok()) return parsed.status();
        state.aggregates.push_back(std::move(parsed).value());
        break;
      }
    }
    state.entry_revisions[*entry] = kv.mod_revision;
  }
  state.descriptors = InDependencyOrder(std::move(files));
  return state;
}

}  // namespace portico::registry
