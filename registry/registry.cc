#include "registry/registry.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "registry/carried_files.h"
#include "registry/event_log.h"

namespace portico::registry {
namespace {

// The reflected files that join the catalog, each with the backend it comes from: not the
// carried ones, not those registered files (uploads, the config file) already name, and of
// two backends offering one name, the first by backend name.
template <typename Files, typename Reflections>
std::map<std::string, std::pair<std::string, const google::protobuf::FileDescriptorProto*>>
EffectiveReflectedFiles(const Files& files, const Reflections& reflected) {
  std::map<std::string, std::pair<std::string, const google::protobuf::FileDescriptorProto*>> out;
  for (const auto& [backend, set] : reflected) {
    for (const auto& f : set->files) {
      if (IsCarriedFile(f.name()) || files.count(f.name())) continue;
      out.emplace(f.name(), std::make_pair(backend, &f));
    }
  }
  return out;
}

// The table plus the reflected services of reflection backends that declare none; a service
// another backend already serves (declared, or reflected by a backend earlier by name) stays
// with that one.
template <typename Reflections>
std::shared_ptr<const BackendTable> WithReflectedServices(
    std::shared_ptr<const BackendTable> table, const Reflections& reflected) {
  std::shared_ptr<BackendTable> copy;
  for (const auto& [name, set] : reflected) {
    auto backend = table->by_name.find(name);
    if (backend == table->by_name.end() || !backend->second->config().services.empty()) continue;
    for (const auto& service : set->services) {
      if (table->by_service.count(service) || (copy && copy->by_service.count(service))) continue;
      if (!copy) copy = std::make_shared<BackendTable>(*table);
      copy->by_service.emplace(service, backend->second);
    }
  }
  if (!copy) return table;
  return copy;
}

}  // namespace

Registry::Registry(Store* store, BackendTransportFactory factory, PolicyIndexBuilder policy_builder)
    : store_(store), transports_(std::move(factory)), policy_builder_(std::move(policy_builder)) {
  auto empty = std::make_shared<Snapshot>();
  empty->catalog = Catalog::Build({}).value();
  empty->backends = std::make_shared<BackendTable>();
  empty->policy_configs = std::make_shared<const std::vector<PolicyConfig>>();
  empty->stored_policies = std::make_shared<const std::set<std::string, std::less<>>>();
  empty->aggregate_configs = std::make_shared<const std::vector<AggregateConfig>>();
  empty->stored_aggregates = std::make_shared<const std::set<std::string, std::less<>>>();
  current_.store(std::move(empty));
}

Status Registry::Init(const FileList& config_files,
                      const std::vector<BackendConfig>& config_backends,
                      std::vector<std::string>* overridden) {
  std::lock_guard lock(mu_);
  return InitLocked(config_files, config_backends, {}, {}, overridden, /*describe=*/false);
}

Status Registry::Init(const FileList& config_files,
                      const std::vector<BackendConfig>& config_backends,
                      const std::vector<PolicyConfig>& config_policies,
                      std::vector<std::string>* overridden) {
  std::lock_guard lock(mu_);
  return InitLocked(config_files, config_backends, config_policies, {}, overridden,
                    /*describe=*/true);
}

Status Registry::Init(const FileList& config_files,
                      const std::vector<BackendConfig>& config_backends,
                      const std::vector<PolicyConfig>& config_policies,
                      const std::vector<AggregateConfig>& config_aggregates,
                      std::vector<std::string>* overridden) {
  std::lock_guard lock(mu_);
  return InitLocked(config_files, config_backends, config_policies, config_aggregates,
                    overridden, /*describe=*/true);
}

Status Registry::InitLocked(const FileList& config_files,
                            const std::vector<BackendConfig>& config_backends,
                            const std::vector<PolicyConfig>& config_policies,
                            const std::vector<AggregateConfig>& config_aggregates,
                            std::vector<std::string>* overridden, bool describe) {
  for (const auto& p : config_policies) {
    if (Status s = ValidatePolicy(p); !s.ok()) return s;
  }
  for (const auto& a : config_aggregates) {
    if (Status s = ValidateAggregate(a); !s.ok()) return s;
  }
  config_ = ConfigEntries{config_files, config_backends, config_policies, config_aggregates, {}};
  StoredState stored;
  if (store_ != nullptr) {
    auto state = store_->Load();
    if (!state.ok()) return state.status();
    stored = std::move(*state);
  }
  if (overridden != nullptr) {
    std::set<std::string> config_backend_names, config_policy_names, config_aggregate_names;
    for (const auto& b : config_backends) config_backend_names.insert(b.name);
    for (const auto& p : config_policies) config_policy_names.insert(p.name);
    for (const auto& a : config_aggregates) config_aggregate_names.insert(a.name);
    for (const auto& b : stored.backends) {
      if (config_backend_names.count(b.name)) {
        overridden->push_back(describe ? "backend " + QuoteValue(b.name) : b.name);
      }
    }
    for (const auto& p : stored.policies) {
      if (config_policy_names.count(p.name)) overridden->push_back("policy " + QuoteValue(p.name));
    }
    for (const auto& a : stored.aggregates) {
      if (config_aggregate_names.count(a.name)) {
        overridden->push_back("aggregate " + QuoteValue(a.name));
      }
    }
  }
  return ApplyStoredLocked(std::move(stored));
}

Status Registry::ApplyStoredLocked(StoredState state) {
  const auto previous = current_.load();
  if (state.revision != 0 && previous->store_revision != 0 &&
      state.revision <= previous->store_revision) {
    return OkStatus();  // already in force (this replica's own write, or an older read)
  }
  State next;
  auto kept = [&](EntryKind kind, const std::string& name) {
    return !config_.removed.count(EntryRef{kind, name});
  };
  for (const auto& f : config_.files) {
    if (!IsCarriedFile(f.name()) && kept(EntryKind::kDescriptor, f.name())) {
      next.files[f.name()] = FileEntry{f, false};
    }
  }
  for (const auto& b : config_.backends) {
    if (kept(EntryKind::kBackend, b.name)) next.backends[b.name] = BackendEntry{b, false};
  }
  for (const auto& p : config_.policies) {
    if (kept(EntryKind::kPolicy, p.name)) next.policies[p.name] = PolicyEntry{p, false};
  }
  for (const auto& a : config_.aggregates) {
    if (kept(EntryKind::kAggregate, a.name)) next.aggregates[a.name] = AggregateEntry{a, false};
  }
  for (const auto& f : state.descriptors.file()) {
    if (!IsCarriedFile(f.name())) next.files[f.name()] = FileEntry{f, true};
  }
  for (const auto& b : state.backends) next.backends[b.name] = BackendEntry{b, true};
  for (const auto& p : state.policies) next.policies[p.name] = PolicyEntry{p, true};
  for (const auto& a : state.aggregates) next.aggregates[a.name] = AggregateEntry{a, true};

  // The catalog is the costly part: rebuilt only when some file differs.
  Changed changed{.files = false, .backends = true, .policies = true, .aggregates = true};
  if (previous->generation == 0 || next.files.size() != files_.size()) {
    changed.files = true;
  } else {
    for (const auto& [name, entry] : next.files) {
      auto old = files_.find(name);
      if (old == files_.end() ||
          old->second.proto.SerializeAsString() != entry.proto.SerializeAsString()) {
        changed.files = true;
        break;
      }
    }
  }
  CommitOptions options;
  options.persist = false;
  options.loaded = &state;
  return Commit(std::move(next), changed, options);
}

Status Registry::ApplyStored(StoredState state) {
  std::lock_guard lock(mu_);
  return ApplyStoredLocked(std::move(state));
}

FileList Registry::KnownFilesLocked() const {
  FileList known = CarriedFiles();
  for (const auto& [name, entry] : files_) known.push_back(entry.proto);
  return known;
}

Registry::State Registry::CopyStateLocked() const {
  return State{files_, backends_, policies_, aggregates_, {}, {}};
}

Status Registry::WriteLocked(const Mutation& mutate) {
  // A lost race is retried on the store's newer content; other replicas' writes do not fail
  // this one. Bounded, so a store that keeps changing cannot hold the admin thread for ever.
  constexpr int kMaxAttempts = 50;
  if (store_ != nullptr) {
    // Writes that committed before this one arrived are its base, even where this replica's
    // watch has not delivered them yet: only a write committing in between is a race (409).
    StatusOr<std::int64_t> latest = store_->LastWriteRevision();
    if (!latest.ok()) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      return latest.status();
    }
    if (*latest > store_revision_) {
      StatusOr<StoredState> fresh = store_->Load();
      if (!fresh.ok()) {
        store_errors_.fetch_add(1, std::memory_order_relaxed);
        return fresh.status();
      }
      const std::int64_t fresh_revision = fresh->revision;
      if (Status applied = ApplyStoredLocked(std::move(*fresh)); !applied.ok()) {
        return Status(Code::kAborted, "the store (revision " + std::to_string(fresh_revision) +
                                          ") holds content that does not validate here: " +
                                          applied.message());
      }
    }
  }
  for (int attempt = 1;; ++attempt) {
    State next = CopyStateLocked();
    if (Status s = mutate(next); !s.ok()) return s;
    std::vector<EntryRef> touched = next.written;
    touched.insert(touched.end(), next.removed.begin(), next.removed.end());
    Changed changed;
    for (const EntryRef& entry : touched) {
      switch (entry.kind) {
        case EntryKind::kDescriptor: changed.files = true; break;
        case EntryKind::kBackend: changed.backends = true; break;
        case EntryKind::kPolicy: changed.policies = true; break;
        case EntryKind::kAggregate: changed.aggregates = true; break;
      }
    }
    std::map<EntryRef, std::int64_t> before;
    for (const EntryRef& entry : touched) {
      auto it = entry_revisions_.find(entry);
      before[entry] = it == entry_revisions_.end() ? 0 : it->second;
    }
    StoredState fresh;
    bool lost = false;
    CommitOptions options;
    options.fresh = &fresh;
    options.lost = &lost;
    Status s = Commit(std::move(next), changed, options);
    if (!lost) return s;
    store_conflicts_.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t fresh_revision = fresh.revision;
    if (Status applied = ApplyStoredLocked(std::move(fresh)); !applied.ok()) {
      return Status(Code::kAborted,
                    "another replica changed the store (revision " +
                        std::to_string(fresh_revision) +
                        ") and its content does not validate here: " + applied.message());
    }
    for (const EntryRef& entry : touched) {
      auto it = entry_revisions_.find(entry);
      const std::int64_t now = it == entry_revisions_.end() ? 0 : it->second;
      if (now != before[entry]) {
        return Status(Code::kAborted,
                      std::string(EntryKindNoun(entry.kind)) + " " + QuoteValue(entry.name) +
                          " was changed by another replica (store revision " +
                          std::to_string(now) + "); read it again and retry");
      }
    }
    if (attempt >= kMaxAttempts) {
      return Status(Code::kAborted, "the store kept changing under this write (" +
                                        std::to_string(attempt) + " attempts); retry");
    }
    // Replicas that keep colliding take turns: a random pause, growing with each attempt
    // (at most 64 ms; admin writes only, and this replica's writes queue behind it anyway).
    static thread_local std::minstd_rand jitter{std::random_device{}()};
    const int cap_ms = 1 << std::min(attempt, 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(0, cap_ms)(jitter)));
  }
}

StatusOr<UploadResult> Registry::RegisterFiles(FileList files) {
  std::lock_guard lock(mu_);
  UploadResult result;
  for (const auto& f : files) {
    if (!IsCarriedFile(f.name())) result.files.push_back(f.name());
  }
  if (result.files.empty()) return InvalidArgument("no files to register (only carried files)");
  Status s = WriteLocked([&](State& next) {
    for (const auto& f : files) {
      if (IsCarriedFile(f.name())) continue;
      next.files[f.name()] = FileEntry{f, true};
      next.written.push_back({EntryKind::kDescriptor, f.name()});
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  const auto& catalog = *current_.load()->catalog;
  for (const auto& name : result.files) {
    for (auto& svc : catalog.ServicesOf(name)) result.services.push_back(std::move(svc));
  }
  return result;
}

StatusOr<UploadResult> Registry::RegisterSources(const std::map<std::string, std::string>& sources) {
  if (sources.empty()) return InvalidArgument("no files to register");
  FileList compiled;
  {
    std::lock_guard lock(mu_);
    auto out = CompileSources(sources, KnownFilesLocked());
    if (!out.ok()) return out.status();
    compiled = std::move(*out);
  }
  // A concurrent upload between the two locks is harmless: RegisterFiles validates the whole
  // set again against what is registered then.
  return RegisterFiles(std::move(compiled));
}

Status Registry::RemoveFile(const std::string& name) {
  std::lock_guard lock(mu_);
  Status s = WriteLocked([&](State& next) {
    auto entry = next.files.find(name);
    if (entry == next.files.end()) return NotFound("no registered file \"" + name + "\"");
    for (const auto& [other, e] : next.files) {
      for (const auto& dep : e.proto.dependency()) {
        if (dep == name) {
          return FailedPrecondition("\"" + name + "\" is imported by \"" + other + "\"");
        }
      }
    }
    if (entry->second.persisted) next.removed.push_back({EntryKind::kDescriptor, name});
    next.files.erase(entry);
    return OkStatus();
  });
  // A config file's entry removed here stays removed when the store's content is merged
  // in again (ApplyStored), until a restart reads the config file again.
  if (s.ok()) config_.removed.insert(EntryRef{EntryKind::kDescriptor, name});
  return s;
}

Status Registry::PutBackend(BackendConfig config) {
  Status v = ValidateBackend(config);
  if (!v.ok()) return v;
  std::lock_guard lock(mu_);
  return WriteLocked([&](State& next) {
    next.backends[config.name] = BackendEntry{config, true};
    next.written.push_back({EntryKind::kBackend, config.name});
    return OkStatus();
  });
}

Status Registry::RemoveBackend(const std::string& name) {
  std::lock_guard lock(mu_);
  Status s = WriteLocked([&](State& next) {
    auto entry = next.backends.find(name);
    if (entry == next.backends.end()) return NotFound("no backend \"" + name + "\"");
    if (entry->second.persisted) next.removed.push_back({EntryKind::kBackend, name});
    next.backends.erase(entry);
    return OkStatus();
  });
  // A config file's entry removed here stays removed when the store's content is merged
  // in again (ApplyStored), until a restart reads the config file again.
  if (s.ok()) config_.removed.insert(EntryRef{EntryKind::kBackend, name});
  return s;
}

Status Registry::PutPolicy(PolicyConfig config) {
  if (Status v = ValidatePolicy(config); !v.ok()) return v;
  std::lock_guard lock(mu_);
  return WriteLocked([&](State& next) {
    next.policies[config.name] = PolicyEntry{config, true};
    next.written.push_back({EntryKind::kPolicy, config.name});
    return OkStatus();
  });
}

Status Registry::RemovePolicy(const std::string& name) {
  std::lock_guard lock(mu_);
  Status s = WriteLocked([&](State& next) {
    auto entry = next.policies.find(name);
    if (entry == next.policies.end()) return NotFound("no policy " + QuoteValue(name));
    if (entry->second.persisted) next.removed.push_back({EntryKind::kPolicy, name});
    next.policies.erase(entry);
    return OkStatus();
  });
  // A config file's entry removed here stays removed when the store's content is merged
  // in again (ApplyStored), until a restart reads the config file again.
  if (s.ok()) config_.removed.insert(EntryRef{EntryKind::kPolicy, name});
  return s;
}

Status Registry::PutAggregate(AggregateConfig config) {
  if (Status v = ValidateAggregate(config); !v.ok()) return v;
  std::lock_guard lock(mu_);
  return WriteLocked([&](State& next) {
    next.aggregates[config.name] = AggregateEntry{config, true};
    next.written.push_back({EntryKind::kAggregate, config.name});
    return OkStatus();
  });
}

Status Registry::RemoveAggregate(const std::string& name) {
  std::lock_guard lock(mu_);
  Status s = WriteLocked([&](State& next) {
    auto entry = next.aggregates.find(name);
    if (entry == next.aggregates.end()) return NotFound("no aggregate " + QuoteValue(name));
    if (entry->second.persisted) next.removed.push_back({EntryKind::kAggregate, name});
    next.aggregates.erase(entry);
    return OkStatus();
  });
  // A config file's entry removed here stays removed when the store's content is merged
  // in again (ApplyStored), until a restart reads the config file again.
  if (s.ok()) config_.removed.insert(EntryRef{EntryKind::kAggregate, name});
  return s;
}

StatusOr<UploadResult> Registry::SetReflected(const std::string& backend, FileList files,
                                              std::vector<std::string> services) {
  std::lock_guard lock(mu_);
  auto entry = backends_.find(backend);
  if (entry == backends_.end()) return NotFound("no backend \"" + backend + "\"");
  if (!entry->second.config.reflection) {
    return FailedPrecondition("backend \"" + backend + "\" does not use reflection");
  }
  Reflections next = reflected_;
  next[backend] = std::make_shared<const ReflectedSet>(
      ReflectedSet{std::move(files), std::move(services)});
  CommitOptions options;
  options.persist = false;
  options.reflected = &next;
  Status s = Commit(CopyStateLocked(), Changed{}, options);
  if (!s.ok()) return s;
  UploadResult result;
  for (const auto& [name, from] : EffectiveReflectedFiles(files_, reflected_)) {
    if (from.first == backend) result.files.push_back(name);
  }
  for (const auto& [service, serving] : current_.load()->backends->by_service) {
    if (serving->config().name == backend) result.services.push_back(service);
  }
  return result;
}

Status Registry::Commit(State next, Changed changed, const CommitOptions& options) {
  Files& files = next.files;
  Backends& backends = next.backends;
  Policies& policies = next.policies;
  Aggregates& aggregates = next.aggregates;
  Reflections* reflected = options.reflected;
  const bool files_changed = changed.files;
  const bool backends_changed = changed.backends;
  Reflections next_reflected = reflected != nullptr ? std::move(*reflected) : reflected_;
  bool reflected_changed = reflected != nullptr;
  for (auto it = next_reflected.begin(); it != next_reflected.end();) {
    auto b = backends.find(it->first);
    if (b == backends.end() || !b->second.config.reflection) {
      it = next_reflected.erase(it);
      reflected_changed = true;
    } else {
      ++it;
    }
  }
  auto snapshot = std::make_shared<Snapshot>();
  const auto previous = current_.load();
  snapshot->generation = previous->generation + 1;
  if (files_changed || reflected_changed) {
    FileList list;
    for (const auto& [name, entry] : files) list.push_back(entry.proto);
    for (const auto& [name, from] : EffectiveReflectedFiles(files, next_reflected)) {
      list.push_back(*from.second);
    }
    auto catalog = Catalog::Build(list);
    if (!catalog.ok()) return catalog.status();
    snapshot->catalog = std::move(*catalog);
  } else {
    snapshot->catalog = previous->catalog;  // descriptors unchanged: share the pool
  }
  std::vector<BackendConfig> configs;
  std::set<std::string, std::less<>> stored;
  for (const auto& [name, entry] : backends) {
    configs.push_back(entry.config);
    if (entry.persisted) stored.insert(name);
  }
  auto table = BuildBackendTable(configs, &transports_, std::move(stored));
  if (!table.ok()) return table.status();
  snapshot->backends = WithReflectedServices(std::move(*table), next_reflected);

  auto aggregate_configs = std::make_shared<std::vector<AggregateConfig>>();
  auto stored_aggregates = std::make_shared<std::set<std::string, std::less<>>>();
  for (const auto& [name, entry] : aggregates) {
    aggregate_configs->push_back(entry.config);
    if (entry.persisted) stored_aggregates->insert(name);
  }
  // The aggregate plans (methods exist, refs resolve, no cycles, no route taken twice) follow
  // the catalog: every change builds them again, and their failure fails the change.
  if (!aggregate_configs->empty()) {
    auto plans = BuildAggregateTable(*snapshot->catalog, *aggregate_configs);
    if (!plans.ok()) return plans.status();
    snapshot->aggregates = std::move(*plans);
  }
  snapshot->aggregate_configs = std::move(aggregate_configs);
  snapshot->stored_aggregates = std::move(stored_aggregates);

  auto policy_configs = std::make_shared<std::vector<PolicyConfig>>();
  auto stored_policies = std::make_shared<std::set<std::string, std::less<>>>();
  for (const auto& [name, entry] : policies) {
    policy_configs->push_back(entry.config);
    if (entry.persisted) stored_policies->insert(name);
  }
  // Routes, backends and aggregates decide what a policy covers, so every change compiles
  // them again.
  if (policy_builder_) {
    auto index = policy_builder_(*snapshot->catalog, *snapshot->backends, *policy_configs,
                                 snapshot->aggregates.get());
    if (!index.ok()) return index.status();
    snapshot->policies = std::move(*index);
  }
  snapshot->policy_configs = std::move(policy_configs);
  snapshot->stored_policies = std::move(stored_policies);

  std::int64_t store_revision = previous->store_revision;
  if (options.loaded != nullptr) {
    store_revision = options.loaded->revision;
  } else if (store_ != nullptr && options.persist &&
             (!next.written.empty() || !next.removed.empty())) {
    StatusOr<std::int64_t> written = PersistLocked(next, options.fresh);
    if (!written.ok()) {
      if (written.status().code() == Code::kAborted && options.lost != nullptr) {
        *options.lost = true;
      } else {
        store_errors_.fetch_add(1, std::memory_order_relaxed);
      }
      return written.status();
    }
    if (*written != 0) store_revision = *written;
  }
  snapshot->store_revision = store_revision;
  if (options.loaded != nullptr) {
    store_revision_ = options.loaded->revision;
    entry_revisions_ = options.loaded->entry_revisions;
  } else if (store_revision != store_revision_) {
    // This replica's own write: its entries carry the write's revision.
    store_revision_ = store_revision;
    for (const EntryRef& entry : next.written) entry_revisions_[entry] = store_revision;
    for (const EntryRef& entry : next.removed) entry_revisions_.erase(entry);
  }
  files_ = std::move(files);
  backends_ = std::move(backends);
  policies_ = std::move(policies);
  aggregates_ = std::move(aggregates);
  reflected_ = std::move(next_reflected);
  transports_.Retain(*snapshot->backends);
  // What the data plane serves from now on (every admin change, reflection refresh and
  // policy reload ends here).
  LogEvent(LogLevel::kInfo, "snapshot_published")
      .Add("generation", snapshot->generation)
      .Add("routes", snapshot->catalog->routes().size())
      .Add("policies", snapshot->policy_configs->size())
      .Add("policies_changed", changed.policies)
      .Add("backends_changed", backends_changed)
      .Add("descriptors_changed", files_changed);
  current_.store(std::move(snapshot));
  return OkStatus();
}

StatusOr<std::int64_t> Registry::PersistLocked(const State& next, StoredState* fresh) {
  StoredState persisted;
  for (const auto& [name, entry] : next.files) {
    if (entry.persisted) *persisted.descriptors.add_file() = entry.proto;
  }
  for (const auto& [name, entry] : next.backends) {
    if (entry.persisted) persisted.backends.push_back(entry.config);
  }
  for (const auto& [name, entry] : next.policies) {
    if (entry.persisted) persisted.policies.push_back(entry.config);
  }
  for (const auto& [name, entry] : next.aggregates) {
    if (entry.persisted) persisted.aggregates.push_back(entry.config);
  }
  persisted.revision = store_revision_;
  persisted.entry_revisions = entry_revisions_;
  StoreChange change;
  change.next = &persisted;
  change.written = next.written;
  change.removed = next.removed;
  change.base_revision = store_revision_;
  return store_->Apply(change, fresh);
}

}  // namespace portico::registry
