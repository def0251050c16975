#include "registry/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

constexpr std::string_view kMagic = "portico-store";
constexpr std::string_view kVersion = "v1";
constexpr std::size_t kMaxHeaderLength = 128;

std::uint64_t Fnv1a64(std::string_view data) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string Hex64(std::uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[value & 0xf];
    value >>= 4;
  }
  return out;
}

std::string ErrnoText(int error) { return std::generic_category().message(error); }

Status IoError(std::string_view what, const std::filesystem::path& path, int error) {
  return Internal(std::string(what) + " \"" + path.string() + "\": " + ErrnoText(error));
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the error: on some file systems close() is where a failed
  // write-back shows up.
  int Close() {
    const int fd = std::exchange(fd_, -1);
    return ::close(fd) == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

int OpenRetrying(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

Status FsyncDirectory(const std::filesystem::path& dir) {
  UniqueFd fd(OpenRetrying(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return IoError("cannot fsync directory", dir, errno);
  return OkStatus();
}

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return OkStatus();
}

// The whole file, or nullopt when it does not exist.
StatusOr<std::optional<std::string>> ReadWholeFile(const std::filesystem::path& path) {
  UniqueFd fd(OpenRetrying(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return IoError("cannot open", path, errno);
  }
  struct stat info;
  if (::fstat(fd.get(), &info) != 0) return IoError("cannot stat", path, errno);
  if (!S_ISREG(info.st_mode)) return Internal("\"" + path.string() + "\" is not a regular file");
  std::string data;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path, errno);
    }
    if (n == 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return std::optional<std::string>(std::move(data));
}

Status Corrupt(const std::filesystem::path& path, const std::string& what) {
  return Status(Code::kDataLoss, "store file \"" + path.string() + "\" is corrupt: " + what);
}

// Checks the header line and returns the payload after it.
StatusOr<std::string_view> Unframe(std::string_view data, const std::filesystem::path& path) {
  const std::size_t newline = data.substr(0, kMaxHeaderLength).find('\n');
  if (newline == std::string_view::npos) {
    return Corrupt(path, data.empty() ? "bad header: the file is empty"
                                      : "bad header: no \"portico-store\" header line");
  }
  const std::string_view header = data.substr(0, newline);
  std::string_view fields[4];
  std::size_t count = 0;
  for (std::size_t start = 0; start <= header.size();) {
    std::size_t end = header.find(' ', start);
    if (end == std::string_view::npos) end = header.size();
    if (count == 4) {
      count = 5;  // too many fields
      break;
    }
    fields[count++] = header.substr(start, end - start);
    start = end + 1;
  }
  if (count != 4 || fields[0] != kMagic) {
    return Corrupt(path, "bad header: expected \"portico-store v1 <size> <checksum>\"");
  }
  if (fields[1] != kVersion) {
    return Corrupt(path, "bad header: unsupported version \"" + std::string(fields[1]) + "\"");
  }
  std::uint64_t size = 0;
  const std::string_view size_text = fields[2];
  auto [size_end, size_error] =
      std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  if (size_text.empty() || size_error != std::errc() ||
      size_end != size_text.data() + size_text.size()) {
    return Corrupt(path, "bad header: invalid payload size \"" + std::string(size_text) + "\"");
  }
  std::uint64_t checksum = 0;
  const std::string_view sum_text = fields[3];
  auto [sum_end, sum_error] =
      std::from_chars(sum_text.data(), sum_text.data() + sum_text.size(), checksum, 16);
  if (sum_text.size() != 16 || sum_error != std::errc() ||
      sum_end != sum_text.data() + sum_text.size()) {
    return Corrupt(path, "bad header: invalid checksum \"" + std::string(sum_text) + "\"");
  }
  const std::string_view payload = data.substr(newline + 1);
  if (payload.size() < size) {
    return Corrupt(path, "torn write: the header says " + std::to_string(size) +
                             " payload bytes, the file has " + std::to_string(payload.size()));
  }
  if (payload.size() > size) {
    return Corrupt(path, "size mismatch: the header says " + std::to_string(size) +
                             " payload bytes, the file has " + std::to_string(payload.size()));
  }
  const std::uint64_t actual = Fnv1a64(payload);
  if (actual != checksum) {
    return Corrupt(path, "checksum mismatch: the header says " + std::string(sum_text) +
                             ", the payload hashes to " + Hex64(actual));
  }
  return payload;
}

StatusOr<std::vector<BackendConfig>> ParseBackends(std::string_view payload,
                                                   const std::filesystem::path& path) {
  const nlohmann::json json = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Corrupt(path, "the payload is not valid JSON");
  const auto list = json.is_object() ? json.find("backends") : json.end();
  if (!json.is_object() || json.size() != 1 || list == json.end() || !list->is_array()) {
    return Corrupt(path, "expected {\"backends\": [...]}");
  }
  std::vector<BackendConfig> backends;
  std::set<std::string> names;
  for (const nlohmann::json& item : *list) {
    StatusOr<BackendConfig> backend = BackendFromJson(item, "");
    if (!backend.ok()) return Corrupt(path, backend.status().message());
    if (!names.insert(backend->name).second) {
      return Corrupt(path, "backend \"" + backend->name + "\" is listed twice");
    }
    backends.push_back(std::move(backend).value());
  }
  return backends;
}

// {"<list_key>": [...]} of items read by from_json(item, ""), names unique (policies and
// aggregates; `what` names one in messages).
template <typename T, typename FromJson>
StatusOr<std::vector<T>> ParseNamedList(std::string_view payload,
                                        const std::filesystem::path& path,
                                        const std::string& list_key, std::string_view what,
                                        FromJson from_json) {
  const nlohmann::json json = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Corrupt(path, "the payload is not valid JSON");
  const auto list = json.is_object() ? json.find(list_key) : json.end();
  if (!json.is_object() || json.size() != 1 || list == json.end() || !list->is_array()) {
    return Corrupt(path, "expected {\"" + list_key + "\": [...]}");
  }
  std::vector<T> items;
  std::set<std::string> names;
  for (const nlohmann::json& item : *list) {
    StatusOr<T> parsed = from_json(item, "");
    if (!parsed.ok()) return Corrupt(path, parsed.status().message());
    if (!names.insert(parsed->name).second) {
      return Corrupt(path, std::string(what) + " \"" + parsed->name + "\" is listed twice");
    }
    items.push_back(std::move(parsed).value());
  }
  return items;
}

StatusOr<std::vector<PolicyConfig>> ParsePolicies(std::string_view payload,
                                                  const std::filesystem::path& path) {
  return ParseNamedList<PolicyConfig>(payload, path, "policies", "policy", PolicyFromJson);
}

StatusOr<std::vector<AggregateConfig>> ParseAggregates(std::string_view payload,
                                                       const std::filesystem::path& path) {
  return ParseNamedList<AggregateConfig>(payload, path, "aggregates", "aggregate",
                                         AggregateFromJson);
}

// Creates `dir` and any missing parents, then fsyncs the parent of every directory created so
// that the new entries survive a crash too.
Status CreateDirectories(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return OkStatus();
  std::vector<std::filesystem::path> missing;
  for (std::filesystem::path p = dir; !p.empty() && !std::filesystem::exists(p, ec);
       p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Internal("cannot create directory \"" + dir.string() + "\": " + ec.message());
  }
  for (const std::filesystem::path& created : missing) {
    std::filesystem::path parent = created.parent_path();
    if (parent.empty()) parent = ".";
    if (Status status = FsyncDirectory(parent); !status.ok()) return status;
  }
  return OkStatus();
}

}  // namespace

FileStore::FileStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

StatusOr<StoredState> FileStore::Load() {
  StoredState state;

  const std::filesystem::path descriptors_path = dir_ / kDescriptorsFile;
  StatusOr<std::optional<std::string>> descriptors = ReadWholeFile(descriptors_path);
  if (!descriptors.ok()) return descriptors.status();
  if (descriptors->has_value()) {
    StatusOr<std::string_view> payload = Unframe(**descriptors, descriptors_path);
    if (!payload.ok()) return payload.status();
    // Protobuf's parser takes an int size; a larger payload is not something we wrote.
    if (payload->size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        !state.descriptors.ParseFromArray(payload->data(), static_cast<int>(payload->size()))) {
      return Corrupt(descriptors_path, "the payload is not a valid FileDescriptorSet");
    }
  }

  const std::filesystem::path backends_path = dir_ / kBackendsFile;
  StatusOr<std::optional<std::string>> backends = ReadWholeFile(backends_path);
  if (!backends.ok()) return backends.status();
  if (backends->has_value()) {
    StatusOr<std::string_view> payload = Unframe(**backends, backends_path);
    if (!payload.ok()) return payload.status();
    StatusOr<std::vector<BackendConfig>> parsed = ParseBackends(*payload, backends_path);
    if (!parsed.ok()) return parsed.status();
    state.backends = std::move(parsed).value();
  }

  const std::filesystem::path policies_path = dir_ / kPoliciesFile;
  StatusOr<std::optional<std::string>> policies = ReadWholeFile(policies_path);
  if (!policies.ok()) return policies.status();
  if (policies->has_value()) {
    StatusOr<std::string_view> payload = Unframe(**policies, policies_path);
    if (!payload.ok()) return payload.status();
    StatusOr<std::vector<PolicyConfig>> parsed = ParsePolicies(*payload, policies_path);
    if (!parsed.ok()) return parsed.status();
    state.policies = std::move(parsed).value();
  }

  const std::filesystem::path aggregates_path = dir_ / kAggregatesFile;
  StatusOr<std::optional<std::string>> aggregates = ReadWholeFile(aggregates_path);
  if (!aggregates.ok()) return aggregates.status();
  if (aggregates->has_value()) {
    StatusOr<std::string_view> payload = Unframe(**aggregates, aggregates_path);
    if (!payload.ok()) return payload.status();
    StatusOr<std::vector<AggregateConfig>> parsed = ParseAggregates(*payload, aggregates_path);
    if (!parsed.ok()) return parsed.status();
    state.aggregates = std::move(parsed).value();
  }
  return state;
}

StatusOr<std::int64_t> FileStore::Apply(const StoreChange& change, StoredState* /*fresh*/) {
  std::set<EntryKind> kinds;
  for (const EntryRef& entry : change.written) kinds.insert(entry.kind);
  for (const EntryRef& entry : change.removed) kinds.insert(entry.kind);
  const StoredState& next = *change.next;
  for (EntryKind kind : kinds) {
    Status status;
    switch (kind) {
      case EntryKind::kDescriptor: status = SaveDescriptors(next.descriptors); break;
      case EntryKind::kBackend: status = SaveBackends(next.backends); break;
      case EntryKind::kPolicy: status = SavePolicies(next.policies); break;
      case EntryKind::kAggregate: status = SaveAggregates(next.aggregates); break;
    }
    if (!status.ok()) return status;
  }
  return std::int64_t{0};
}

std::string FileStore::Describe() const { return "file store \"" + dir_.string() + "\""; }

Status FileStore::SaveDescriptors(const google::protobuf::FileDescriptorSet& files) {
  // Checked here because SerializeToString only checks in debug builds of libprotobuf, and a
  // set saved without its required fields would not parse on the next Load.
  if (!files.IsInitialized()) {
    return InvalidArgument("the descriptor set is missing required fields: " +
                           files.InitializationErrorString());
  }
  std::string payload;
  if (!files.SerializeToString(&payload)) {
    return InvalidArgument("the descriptor set cannot be serialized");
  }
  return WriteAtomically(kDescriptorsFile, payload);
}

Status FileStore::SaveBackends(const std::vector<BackendConfig>& backends) {
  nlohmann::json list = nlohmann::json::array();
  std::set<std::string_view> names;
  for (const BackendConfig& backend : backends) {
    if (Status status = ValidateBackend(backend); !status.ok()) return status;
    if (!names.insert(backend.name).second) {
      return InvalidArgument("backend \"" + backend.name + "\" is listed twice");
    }
    list.push_back(BackendToJson(backend));
  }
  const nlohmann::json document = {{"backends", std::move(list)}};
  // Validated backends are ASCII; `replace` only guarantees dump() cannot throw.
  const std::string payload =
      document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return WriteAtomically(kBackendsFile, payload);
}

Status FileStore::SavePolicies(const std::vector<PolicyConfig>& policies) {
  nlohmann::json list = nlohmann::json::array();
  std::set<std::string_view> names;
  for (const PolicyConfig& policy : policies) {
    if (Status status = ValidatePolicy(policy); !status.ok()) return status;
    if (!names.insert(policy.name).second) {
      return InvalidArgument("policy \"" + policy.name + "\" is listed twice");
    }
    list.push_back(PolicyToJson(policy, /*redact_secrets=*/false));
  }
  const nlohmann::json document = {{"policies", std::move(list)}};
  // Secrets may be any bytes; `replace` only guarantees dump() cannot throw.
  const std::string payload =
      document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // HMAC secrets are in the clear: readable by the gateway's user only.
  return WriteAtomically(kPoliciesFile, payload, 0600);
}

Status FileStore::SaveAggregates(const std::vector<AggregateConfig>& aggregates) {
  nlohmann::json list = nlohmann::json::array();
  std::set<std::string_view> names;
  for (const AggregateConfig& aggregate : aggregates) {
    if (Status status = ValidateAggregate(aggregate); !status.ok()) return status;
    if (!names.insert(aggregate.name).second) {
      return InvalidArgument("aggregate \"" + aggregate.name + "\" is listed twice");
    }
    list.push_back(AggregateToJson(aggregate));
  }
  const nlohmann::json document = {{"aggregates", std::move(list)}};
  // Requests may hold any strings; `replace` only guarantees dump() cannot throw.
  const std::string payload =
      document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return WriteAtomically(kAggregatesFile, payload);
}

Status FileStore::WriteAtomically(std::string_view file_name, std::string_view payload,
                                  mode_t mode) {
  if (Status status = CreateDirectories(dir_); !status.ok()) return status;

  // A crash may have left either temporary behind; this save is the "next save" that removes
  // them. Failure here is not fatal: the open below reports a real problem.
  for (std::string_view name :
       {kDescriptorsFile, kBackendsFile, kPoliciesFile, kAggregatesFile}) {
    const std::filesystem::path leftover = dir_ / (std::string(name) + ".tmp");
    ::unlink(leftover.c_str());
  }

  const std::filesystem::path target = dir_ / file_name;
  // Created afresh (any leftover was unlinked above), so `mode` (less the umask) is its mode.
  const std::filesystem::path temp = dir_ / (std::string(file_name) + ".tmp");
  const std::string header = std::string(kMagic) + " " + std::string(kVersion) + " " +
                             std::to_string(payload.size()) + " " + Hex64(Fnv1a64(payload)) + "\n";
  Status status = [&]() -> Status {
    UniqueFd fd(OpenRetrying(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (fd.get() < 0) return IoError("cannot create", temp, errno);
    if (Status s = WriteAll(fd.get(), header, temp); !s.ok()) return s;
    if (Status s = WriteAll(fd.get(), payload, temp); !s.ok()) return s;
    if (::fsync(fd.get()) != 0) return IoError("cannot fsync", temp, errno);
    if (const int error = fd.Close(); error != 0) return IoError("cannot close", temp, error);
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      return IoError("cannot rename temporary file over", target, errno);
    }
    return OkStatus();
  }();
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  // Without this the rename itself may be lost in a crash, bringing the old file back.
  return FsyncDirectory(dir_);
}

}  // namespace portico::registry
