#include "registry/descriptor_compiler.h"

#include "registry/carried_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace portico::registry {
namespace {

namespace pb = google::protobuf;

class ErrorList final : public pb::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column, const std::string& message) override {
    std::string e = file;
    if (line >= 0) e += ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1);
    e += ": " + message;
    if (!text_.empty()) text_ += '\n';
    text_ += e;
  }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class MemorySourceTree final : public pb::compiler::SourceTree {
 public:
  explicit MemorySourceTree(const std::map<std::string, std::string>* files) : files_(files) {}
  pb::io::ZeroCopyInputStream* Open(const std::string& filename) override {
    auto it = files_->find(filename);
    if (it == files_->end()) return nullptr;
    return new pb::io::ArrayInputStream(it->second.data(), static_cast<int>(it->second.size()));
  }
  std::string GetLastErrorMessage() override { return "File not found."; }

 private:
  const std::map<std::string, std::string>* files_;
};

std::unique_ptr<pb::SimpleDescriptorDatabase> DatabaseOf(const FileList& known,
                                                         const std::set<std::string>& skip) {
  auto db = std::make_unique<pb::SimpleDescriptorDatabase>();
  for (const auto& f : known) {
    if (!skip.count(f.name())) db->Add(f);
  }
  return db;
}

pb::FileDescriptorProto Copy(const pb::FileDescriptor& file) {
  pb::FileDescriptorProto proto;
  file.CopyTo(&proto);
  file.CopyJsonNameTo(&proto);
  // The comments: /admin/openapi.json and the console show them as descriptions.
  file.CopySourceCodeInfoTo(&proto);
  return proto;
}

void CollectNew(const pb::FileDescriptor* file, const std::set<std::string>& known,
                std::set<std::string>* seen, FileList* out) {
  if (known.count(file->name()) || !seen->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) CollectNew(file->dependency(i), known, seen, out);
  out->push_back(Copy(*file));
}

}  // namespace

StatusOr<FileList> CompileSources(const std::map<std::string, std::string>& sources,
                                  const FileList& known) {
  std::set<std::string> names;
  for (const auto& [name, text] : sources) names.insert(name);
  auto fallback = DatabaseOf(known, names);
  MemorySourceTree tree(&sources);
  pb::compiler::SourceTreeDescriptorDatabase source_db(&tree, fallback.get());
  ErrorList errors;
  source_db.RecordErrorsTo(&errors);
  pb::DescriptorPool pool(&source_db, source_db.GetValidationErrorCollector());

  FileList out;
  for (const auto& [name, text] : sources) {
    const pb::FileDescriptor* file = pool.FindFileByName(name);
    if (file != nullptr) out.push_back(Copy(*file));
  }
  if (!errors.empty() || out.size() != sources.size()) {
    return InvalidArgument(errors.empty() ? "compilation failed" : errors.text());
  }
  return out;
}

StatusOr<FileList> CompileProtoFile(const std::string& path,
                                    const std::vector<std::string>& import_paths,
                                    const FileList& known) {
  namespace fs = std::filesystem;
  pb::compiler::DiskSourceTree tree;
  if (import_paths.empty()) {
    tree.MapPath("", fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string());
  }
  for (const auto& dir : import_paths) tree.MapPath("", dir);
  std::string virtual_name, shadowing;
  if (tree.DiskFileToVirtualFile(path, &virtual_name, &shadowing) !=
      pb::compiler::DiskSourceTree::SUCCESS) {
    return InvalidArgument(path + ": not found under the import paths (or unreadable)");
  }
  auto fallback = DatabaseOf(known, {});
  pb::compiler::SourceTreeDescriptorDatabase source_db(&tree, fallback.get());
  ErrorList errors;
  source_db.RecordErrorsTo(&errors);
  pb::DescriptorPool pool(&source_db, source_db.GetValidationErrorCollector());
  const pb::FileDescriptor* file = pool.FindFileByName(virtual_name);
  if (file == nullptr || !errors.empty()) {
    return InvalidArgument(errors.empty() ? path + ": compilation failed" : errors.text());
  }
  std::set<std::string> known_names;
  for (const auto& f : known) known_names.insert(f.name());
  std::set<std::string> seen;
  FileList out;
  CollectNew(file, known_names, &seen, &out);
  return out;
}

StatusOr<FileList> ParseDescriptorSet(const std::string& bytes) {
  pb::FileDescriptorSet set;
  if (bytes.empty() || !set.ParseFromString(bytes)) {
    return InvalidArgument("body is not a binary google.protobuf.FileDescriptorSet");
  }
  FileList out;
  for (auto& f : *set.mutable_file()) {
    if (f.name().empty()) return InvalidArgument("descriptor set holds a file without a name");
    out.push_back(std::move(f));
  }
  if (out.empty()) return InvalidArgument("descriptor set holds no files");
  return out;
}

StatusOr<FileList> ReadDescriptorSetFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto files = ParseDescriptorSet(bytes);
  if (!files.ok()) return InvalidArgument(path + ": " + files.status().message());
  return files;
}

}  // namespace portico::registry
