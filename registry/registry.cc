#include "registry/registry.h"

#include <set>

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
  Files files;
  Backends backends;
  Policies policies;
  Aggregates aggregates;
  for (const auto& f : config_files) {
    if (!IsCarriedFile(f.name())) files[f.name()] = FileEntry{f, false};
  }
  for (const auto& b : config_backends) backends[b.name] = BackendEntry{b, false};
  for (const auto& p : config_policies) {
    if (Status s = ValidatePolicy(p); !s.ok()) return s;
    policies[p.name] = PolicyEntry{p, false};
  }
  for (const auto& a : config_aggregates) {
    if (Status s = ValidateAggregate(a); !s.ok()) return s;
    aggregates[a.name] = AggregateEntry{a, false};
  }
  if (store_ != nullptr) {
    auto state = store_->Load();
    if (!state.ok()) return state.status();
    for (const auto& f : state->descriptors.file()) files[f.name()] = FileEntry{f, true};
    for (const auto& b : state->backends) {
      if (overridden != nullptr && backends.count(b.name)) {
        overridden->push_back(describe ? "backend " + QuoteValue(b.name) : b.name);
      }
      backends[b.name] = BackendEntry{b, true};
    }
    for (const auto& p : state->policies) {
      if (overridden != nullptr && policies.count(p.name)) {
        overridden->push_back("policy " + QuoteValue(p.name));
      }
      policies[p.name] = PolicyEntry{p, true};
    }
    for (const auto& a : state->aggregates) {
      if (overridden != nullptr && aggregates.count(a.name)) {
        overridden->push_back("aggregate " + QuoteValue(a.name));
      }
      aggregates[a.name] = AggregateEntry{a, true};
    }
  }
  return Commit(std::move(files), std::move(backends), std::move(policies), std::move(aggregates),
                Changed{true, true, true, true}, /*persist=*/false);
}

FileList Registry::KnownFilesLocked() const {
  FileList known = CarriedFiles();
  for (const auto& [name, entry] : files_) known.push_back(entry.proto);
  return known;
}

StatusOr<UploadResult> Registry::RegisterFiles(FileList files) {
  std::lock_guard lock(mu_);
  Files next = files_;
  UploadResult result;
  for (auto& f : files) {
    if (IsCarriedFile(f.name())) continue;
    result.files.push_back(f.name());
    const std::string name = f.name();  // before the move: `=` evaluates its right side first
    next[name] = FileEntry{std::move(f), true};
  }
  if (result.files.empty()) return InvalidArgument("no files to register (only carried files)");
  Status s = Commit(std::move(next), backends_, policies_, aggregates_, Changed{.files = true});
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
  if (!files_.count(name)) return NotFound("no registered file \"" + name + "\"");
  for (const auto& [other, entry] : files_) {
    for (const auto& dep : entry.proto.dependency()) {
      if (dep == name) {
        return FailedPrecondition("\"" + name + "\" is imported by \"" + other + "\"");
      }
    }
  }
  Files next = files_;
  next.erase(name);
  return Commit(std::move(next), backends_, policies_, aggregates_, Changed{.files = true});
}

Status Registry::PutBackend(BackendConfig config) {
  Status v = ValidateBackend(config);
  if (!v.ok()) return v;
  std::lock_guard lock(mu_);
  Backends next = backends_;
  const std::string name = config.name;  // before the move: `=` evaluates its right side first
  next[name] = BackendEntry{std::move(config), true};
  return Commit(files_, std::move(next), policies_, aggregates_, Changed{.backends = true});
}

Status Registry::RemoveBackend(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!backends_.count(name)) return NotFound("no backend \"" + name + "\"");
  Backends next = backends_;
  next.erase(name);
  return Commit(files_, std::move(next), policies_, aggregates_, Changed{.backends = true});
}

Status Registry::PutPolicy(PolicyConfig config) {
  if (Status v = ValidatePolicy(config); !v.ok()) return v;
  std::lock_guard lock(mu_);
  Policies next = policies_;
  const std::string name = config.name;  // before the move: `=` evaluates its right side first
  next[name] = PolicyEntry{std::move(config), true};
  return Commit(files_, backends_, std::move(next), aggregates_, Changed{.policies = true});
}

Status Registry::RemovePolicy(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!policies_.count(name)) return NotFound("no policy " + QuoteValue(name));
  Policies next = policies_;
  next.erase(name);
  return Commit(files_, backends_, std::move(next), aggregates_, Changed{.policies = true});
}

Status Registry::PutAggregate(AggregateConfig config) {
  if (Status v = ValidateAggregate(config); !v.ok()) return v;
  std::lock_guard lock(mu_);
  Aggregates next = aggregates_;
  const std::string name = config.name;  // before the move: `=` evaluates its right side first
  next[name] = AggregateEntry{std::move(config), true};
  return Commit(files_, backends_, policies_, std::move(next), Changed{.aggregates = true});
}

Status Registry::RemoveAggregate(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!aggregates_.count(name)) return NotFound("no aggregate " + QuoteValue(name));
  Aggregates next = aggregates_;
  next.erase(name);
  return Commit(files_, backends_, policies_, std::move(next), Changed{.aggregates = true});
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
  Status s = Commit(files_, backends_, policies_, aggregates_, Changed{}, /*persist=*/false, &next);
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

Status Registry::Commit(Files files, Backends backends, Policies policies,
                        Aggregates aggregates, Changed changed, bool persist,
                        Reflections* reflected) {
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

  if (store_ != nullptr && persist && files_changed) {
    google::protobuf::FileDescriptorSet set;
    for (const auto& [name, entry] : files) {
      if (entry.persisted) *set.add_file() = entry.proto;
    }
    Status s = store_->SaveDescriptors(set);
    if (!s.ok()) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
  }
  if (store_ != nullptr && persist && backends_changed) {
    std::vector<BackendConfig> persisted;
    for (const auto& [name, entry] : backends) {
      if (entry.persisted) persisted.push_back(entry.config);
    }
    Status s = store_->SaveBackends(persisted);
    if (!s.ok()) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
  }
  if (store_ != nullptr && persist && changed.policies) {
    std::vector<PolicyConfig> persisted;
    for (const auto& [name, entry] : policies) {
      if (entry.persisted) persisted.push_back(entry.config);
    }
    Status s = store_->SavePolicies(persisted);
    if (!s.ok()) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
  }
  if (store_ != nullptr && persist && changed.aggregates) {
    std::vector<AggregateConfig> persisted;
    for (const auto& [name, entry] : aggregates) {
      if (entry.persisted) persisted.push_back(entry.config);
    }
    Status s = store_->SaveAggregates(persisted);
    if (!s.ok()) return s;
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

}  // namespace portico::registry
