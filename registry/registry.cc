#include "registry/registry.h"

#include <set>

#include "registry/carried_files.h"

namespace portico::registry {

Registry::Registry(Store* store, BackendTransportFactory factory)
    : store_(store), transports_(std::move(factory)) {
  auto empty = std::make_shared<Snapshot>();
  empty->catalog = Catalog::Build({}).value();
  empty->backends = std::make_shared<BackendTable>();
  current_.store(std::move(empty));
}

Status Registry::Init(const FileList& config_files,
                      const std::vector<BackendConfig>& config_backends,
                      std::vector<std::string>* overridden) {
  std::lock_guard lock(mu_);
  Files files;
  Backends backends;
  for (const auto& f : config_files) {
    if (!IsCarriedFile(f.name())) files[f.name()] = FileEntry{f, false};
  }
  for (const auto& b : config_backends) backends[b.name] = BackendEntry{b, false};
  if (store_ != nullptr) {
    auto state = store_->Load();
    if (!state.ok()) return state.status();
    for (const auto& f : state->descriptors.file()) files[f.name()] = FileEntry{f, true};
    for (const auto& b : state->backends) {
      if (overridden != nullptr && backends.count(b.name)) overridden->push_back(b.name);
      backends[b.name] = BackendEntry{b, true};
    }
  }
  return Commit(std::move(files), std::move(backends), true, true, /*persist=*/false);
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
  Status s = Commit(std::move(next), backends_, true, false);
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
  return Commit(std::move(next), backends_, true, false);
}

Status Registry::PutBackend(BackendConfig config) {
  Status v = ValidateBackend(config);
  if (!v.ok()) return v;
  std::lock_guard lock(mu_);
  Backends next = backends_;
  const std::string name = config.name;  // before the move: `=` evaluates its right side first
  next[name] = BackendEntry{std::move(config), true};
  return Commit(files_, std::move(next), false, true);
}

Status Registry::RemoveBackend(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!backends_.count(name)) return NotFound("no backend \"" + name + "\"");
  Backends next = backends_;
  next.erase(name);
  return Commit(files_, std::move(next), false, true);
}

Status Registry::Commit(Files files, Backends backends, bool files_changed, bool backends_changed,
                        bool persist) {
  auto snapshot = std::make_shared<Snapshot>();
  const auto previous = current_.load();
  snapshot->generation = previous->generation + 1;
  if (files_changed) {
    FileList list;
    for (const auto& [name, entry] : files) list.push_back(entry.proto);
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
  snapshot->backends = std::move(*table);

  if (store_ != nullptr && persist && files_changed) {
    google::protobuf::FileDescriptorSet set;
    for (const auto& [name, entry] : files) {
      if (entry.persisted) *set.add_file() = entry.proto;
    }
    Status s = store_->SaveDescriptors(set);
    if (!s.ok()) return s;
  }
  if (store_ != nullptr && persist && backends_changed) {
    std::vector<BackendConfig> persisted;
    for (const auto& [name, entry] : backends) {
      if (entry.persisted) persisted.push_back(entry.config);
    }
    Status s = store_->SaveBackends(persisted);
    if (!s.ok()) return s;
  }
  files_ = std::move(files);
  backends_ = std::move(backends);
  transports_.Retain(*snapshot->backends);
  current_.store(std::move(snapshot));
  return OkStatus();
}

}  // namespace portico::registry
