#include "gateway/store_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "gateway/config.h"
#include "gateway/store_open.h"
#include "registry/carried_files.h"
#include "registry/catalog.h"
#include "registry/etcd_store.h"
#include "registry/file_store.h"
#include "transcoder/base64.h"

namespace portico::gateway {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitStore = 1;
constexpr int kExitUsage = 2;

Status Invalid(const std::string& what) { return Status(Code::kInvalidArgument, what); }

// Each entry of `list` through from_json (which validates it, as the admin API does), names
// unique; errors name the entry as "<key>[i]".
template <typename T, typename FromJson>
Status ParseList(const nlohmann::json& document, const std::string& key, std::string_view noun,
                 FromJson from_json, std::vector<T>* out) {
  const auto list = document.find(key);
  if (list == document.end()) return Status();
  if (!list->is_array()) return Invalid("\"" + key + "\": expected an array");
  std::set<std::string> names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string where = key + "[" + std::to_string(i) + "]";
    const nlohmann::json& item = (*list)[i];
    if (!item.is_object()) return Invalid(where + ": expected an object");
    StatusOr<T> parsed = from_json(item, "");
    if (!parsed.ok()) return Invalid(where + ": " + parsed.status().message());
    if (!names.insert(parsed->name).second) {
      return Invalid(where + ": " + std::string(noun) + " \"" + parsed->name + "\" is listed twice");
    }
    out->push_back(std::move(parsed).value());
  }
  return Status();
}

bool Empty(const registry::StoredState& state) {
  return state.descriptors.file_size() == 0 && state.backends.empty() && state.policies.empty() &&
         state.aggregates.empty();
}

std::string Counts(const registry::StoredState& state) {
  return std::to_string(state.descriptors.file_size()) + " descriptor files, " +
         std::to_string(state.backends.size()) + " backends, " +
         std::to_string(state.policies.size()) + " policies, " +
         std::to_string(state.aggregates.size()) + " aggregates";
}

std::vector<registry::EntryRef> Entries(const registry::StoredState& state) {
  std::vector<registry::EntryRef> entries;
  for (const auto& file : state.descriptors.file()) {
    entries.push_back({registry::EntryKind::kDescriptor, file.name()});
  }
  for (const auto& b : state.backends) entries.push_back({registry::EntryKind::kBackend, b.name});
  for (const auto& p : state.policies) entries.push_back({registry::EntryKind::kPolicy, p.name});
  for (const auto& a : state.aggregates) {
    entries.push_back({registry::EntryKind::kAggregate, a.name});
  }
  return entries;
}

struct Options {
  std::string command;  // "export" or "import"
  std::string config_path;
  std::string file;  // --out (export) or --in (import); "" = stdout/stdin
  bool force = false;
};

// Throws ConfigError for a usage error.
Options ParseArgs(const std::vector<std::string>& args) {
  Options options;
  if (args.empty()) throw ConfigError("store: expected \"export\" or \"import\" (see --help)");
  options.command = args[0];
  if (options.command != "export" && options.command != "import") {
    throw ConfigError("store: unknown command \"" + options.command +
                      "\": expected \"export\" or \"import\" (see --help)");
  }
  const std::string file_flag = options.command == "export" ? "--out" : "--in";
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const std::size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--force" && options.command == "import" && !value) {
      options.force = true;
      continue;
    }
    if (flag != "--config" && flag != file_flag) {
      throw ConfigError("store " + options.command + ": unknown argument \"" + args[i] +
                        "\" (see --help)");
    }
    if (!value) {
      if (i + 1 >= args.size()) throw ConfigError(flag + " needs a value");
      value = args[++i];
    }
    if (value->empty()) throw ConfigError(flag + " must not be empty");
    (flag == "--config" ? options.config_path : options.file) = *value;
  }
  return options;
}

// The document with mode 0600 (it holds policy secrets), replacing the file.
Status WriteDocument(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kInternal, path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string error = std::strerror(errno);
      ::close(fd);
      return Status(Code::kInternal, path + ": " + error);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return Status(Code::kInternal, path + ": " + std::strerror(errno));
  return Status();
}

// The configured store, opened; for etcd its transports run on `loop`.
struct OpenedStore {
  std::unique_ptr<StoreLoop> loop;         // destroyed last: the store's transports use it
  std::unique_ptr<registry::Store> store;
  registry::EtcdStore* etcd = nullptr;  // store, when it is etcd
};

OpenedStore OpenStore(const Config& config) {
  OpenedStore opened;
  if (config.store.type == "etcd") {
    opened.loop = std::make_unique<StoreLoop>();
    auto etcd = MakeEtcdStore(config.store, opened.loop->loop());
    opened.etcd = etcd.get();
    opened.store = std::move(etcd);
  } else {
    opened.store = std::make_unique<registry::FileStore>(config.store.dir);
  }
  return opened;
}

int Export(const Options& options, const Config& config, std::ostream& out, std::ostream& err) {
  OpenedStore opened = OpenStore(config);
  StatusOr<registry::StoredState> state = opened.store->Load();
  if (!state.ok()) {
    err << "portico: store export: " << opened.store->Describe() << ": "
        << state.status().message() << "\n";
    return kExitStore;
  }
  const std::string text = StoreDocument(*state).dump(2) + "\n";
  if (options.file.empty()) {
    out << text << std::flush;
  } else if (Status s = WriteDocument(options.file, text); !s.ok()) {
    err << "portico: store export: " << s.message() << "\n";
    return kExitStore;
  }
  err << "portico: exported " << Counts(*state) << " from " << opened.store->Describe()
      << (options.file.empty() ? "" : " to " + options.file) << "\n";
  return kExitOk;
}

int Import(const Options& options, const Config& config, std::istream& in, std::ostream& err) {
  std::string text;
  if (options.file.empty()) {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    std::ifstream file(options.file, std::ios::binary);
    if (!file) {
      err << "portico: store import: cannot read " << options.file << ": "
          << std::strerror(errno) << "\n";
      return kExitUsage;
    }
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  const std::string source = options.file.empty() ? "standard input" : options.file;
  StatusOr<registry::StoredState> state = ParseStoreDocument(text);
  if (!state.ok()) {
    err << "portico: store import: " << source << ": " << state.status().message()
        << " (nothing written)\n";
    return kExitUsage;
  }
  OpenedStore opened = OpenStore(config);
  const std::string name = opened.store->Describe();
  StatusOr<registry::StoredState> target = opened.store->Load();
  if (!target.ok()) {
    err << "portico: store import: " << name << ": " << target.status().message() << "\n";
    return kExitStore;
  }
  if (!Empty(*target) && !options.force) {
    err << "portico: store import: " << name << " is not empty (" << Counts(*target)
        << "); --force replaces its content\n";
    return kExitStore;
  }
  Status written;
  if (opened.etcd != nullptr) {
    written = opened.etcd->ReplaceAll(*state).status();
  } else {
    registry::StoreChange change;
    change.next = &*state;
    change.written = Entries(*state);  // every kind is rewritten
    const std::vector<registry::EntryRef> now = Entries(*state);
    const std::set<registry::EntryRef> kept(now.begin(), now.end());
    for (const registry::EntryRef& entry : Entries(*target)) {
      if (!kept.contains(entry)) change.removed.push_back(entry);
    }
    change.base_revision = target->revision;
    written = opened.store->Apply(change, nullptr).status();
  }
  if (!written.ok()) {
    err << "portico: store import: " << name << ": " << written.message() << "\n";
    return kExitStore;
  }
  err << "portico: imported " << Counts(*state) << " into " << name << "\n";
  return kExitOk;
}

}  // namespace

std::string StoreUsageText() {
  return "       portico store export [--config FILE] [--out FILE]\n"
         "       portico store import [--config FILE] [--in FILE] [--force]\n";
}

nlohmann::json StoreDocument(const registry::StoredState& state) {
  nlohmann::json document = nlohmann::json::object();
  document["portico_store"] = 1;
  std::string descriptors;
  state.descriptors.SerializeToString(&descriptors);
  document["descriptors"] = transcoder::Base64Encode(descriptors);
  nlohmann::json backends = nlohmann::json::array();
  for (const auto& b : state.backends) backends.push_back(registry::BackendToJson(b));
  nlohmann::json policies = nlohmann::json::array();
  for (const auto& p : state.policies) {
    policies.push_back(registry::PolicyToJson(p, /*redact_secrets=*/false));
  }
  nlohmann::json aggregates = nlohmann::json::array();
  for (const auto& a : state.aggregates) aggregates.push_back(registry::AggregateToJson(a));
  document["backends"] = std::move(backends);
  document["policies"] = std::move(policies);
  document["aggregates"] = std::move(aggregates);
  return document;
}

StatusOr<registry::StoredState> ParseStoreDocument(std::string_view text) {
  const nlohmann::json document =
      nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Invalid("the document is not valid JSON");
  if (!document.is_object()) return Invalid("expected a JSON object");
  for (const auto& [key, value] : document.items()) {
    if (key != "portico_store" && key != "descriptors" && key != "backends" &&
        key != "policies" && key != "aggregates") {
      return Invalid("unknown key \"" + key + "\"");
    }
  }
  const auto version = document.find("portico_store");
  if (version == document.end() || !version->is_number_integer() || *version != 1) {
    return Invalid("\"portico_store\": expected 1 (a document written by portico store export)");
  }
  registry::StoredState state;
  if (const auto descriptors = document.find("descriptors"); descriptors != document.end()) {
    std::string bytes;
    if (!descriptors->is_string() ||
        !transcoder::Base64Decode(descriptors->get_ref<const std::string&>(), &bytes)) {
      return Invalid("\"descriptors\": expected a base64 FileDescriptorSet");
    }
    google::protobuf::FileDescriptorSet set;
    if (!set.ParseFromString(bytes)) {
      return Invalid("\"descriptors\": not a FileDescriptorSet");
    }
    registry::FileList files;
    std::set<std::string> names;
    for (auto& file : *set.mutable_file()) {
      if (registry::IsCarriedFile(file.name())) continue;  // Portico's own copies are used
      if (!names.insert(file.name()).second) {
        return Invalid("\"descriptors\": file \"" + file.name() + "\" is listed twice");
      }
      files.push_back(file);
      *state.descriptors.add_file() = std::move(file);
    }
    // The set must build on its own, as the registry will build it.
    if (auto catalog = registry::Catalog::Build(files); !catalog.ok()) {
      return Invalid("\"descriptors\": " + catalog.status().message());
    }
  }
  Status s = ParseList(document, "backends", "backend", registry::BackendFromJson, &state.backends);
  if (s.ok()) s = ParseList(document, "policies", "policy", registry::PolicyFromJson, &state.policies);
  if (s.ok()) {
    s = ParseList(document, "aggregates", "aggregate", registry::AggregateFromJson,
                  &state.aggregates);
  }
  if (!s.ok()) return s;
  return state;
}

int RunStoreCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                    std::ostream& err) {
  try {
    const Options options = ParseArgs(args);
    const Config config =
        options.config_path.empty() ? Config{} : LoadConfigFile(options.config_path);
    return options.command == "export" ? Export(options, config, out, err)
                                       : Import(options, config, in, err);
  } catch (const ConfigError& e) {
    err << "portico: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "portico: store: " << e.what() << "\n";
    return kExitStore;
  }
}

}  // namespace portico::gateway
