#include "registry/catalog.h"

#include <functional>
#include <set>

#include "registry/carried_files.h"
#include "transcoder/http_rule.h"

namespace portico::registry {
namespace {

namespace pb = google::protobuf;

class PoolErrors final : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const pb::Message*, ErrorLocation, const std::string& message) override {
    if (!text.empty()) text += '\n';
    text += filename + ": " + (element_name.empty() ? "" : element_name + ": ") + message;
  }
  std::string text;
};

// Two routes conflict when method, segments and verb agree, whatever the variable names (the
// PathMatcher's rule); this key names that shape.
std::string RouteShape(std::string_view http_method, const transcoder::HttpTemplate& t) {
  std::string shape(http_method);
  shape += ' ';
  for (const auto& segment : t.segments) {
    using Kind = transcoder::HttpTemplate::Segment::Kind;
    shape += '/';
    shape += segment.kind == Kind::kLiteral    ? "=" + segment.literal
             : segment.kind == Kind::kWildcard ? std::string("*")
                                               : std::string("**");
  }
  return shape + ":" + t.verb;
}

}  // namespace

StatusOr<std::shared_ptr<const Catalog>> Catalog::Build(const FileList& files) {
  std::shared_ptr<Catalog> c(new Catalog());
  c->files_ = files;
  c->pool_ = std::make_unique<pb::DescriptorPool>();

  // Build in dependency order so the pool needs no fallback database (and no lock on lookups).
  std::map<std::string, const pb::FileDescriptorProto*> by_name;
  for (const auto& f : CarriedFiles()) by_name[f.name()] = &f;
  for (const auto& f : files) {
    if (IsCarriedFile(f.name())) {
      return InvalidArgument(f.name() + ": Portico carries this file; it cannot be replaced");
    }
    if (!by_name.emplace(f.name(), &f).second) {
      return InvalidArgument(f.name() + ": registered twice");
    }
  }
  std::set<std::string> built, visiting;
  Status status;
  std::function<bool(const std::string&, const std::string&)> build =
      [&](const std::string& name, const std::string& importer) -> bool {
    if (built.count(name)) return true;
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      status = InvalidArgument(importer + ": imports \"" + name + "\", which is not registered");
      return false;
    }
    if (!visiting.insert(name).second) {
      status = InvalidArgument(name + ": import cycle");
      return false;
    }
    for (const auto& dep : it->second->dependency()) {
      if (!build(dep, name)) return false;
    }
    PoolErrors errors;
    if (c->pool_->BuildFileCollectingErrors(*it->second, &errors) == nullptr) {
      status = InvalidArgument(errors.text.empty() ? name + ": invalid" : errors.text);
      return false;
    }
    built.insert(name);
    return true;
  };
  for (const auto& [name, proto] : by_name) {
    if (!build(name, name)) return status;
  }
  c->codec_ = std::make_unique<transcoder::JsonCodec>(c->pool_.get());

  // Methods, then routes: annotated bindings first, then the default POST /pkg.Svc/Method.
  for (const auto& f : files) {
    const pb::FileDescriptor* file = c->pool_->FindFileByName(f.name());
    for (int s = 0; s < file->service_count(); ++s) {
      const pb::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const pb::MethodDescriptor* method = service->method(m);
        MethodInfo info{method, "/" + service->full_name() + "/" + method->name(),
                        method->client_streaming(), method->server_streaming()};
        // Field tables for the fast JSON path, built with the snapshot, off the data path.
        c->codec_->Prepare(*method->input_type());
        c->codec_->Prepare(*method->output_type());
        c->has_client_streaming_ = c->has_client_streaming_ || info.client_streaming;
        c->methods_.emplace(info.path, info);
      }
    }
  }
  // Every bad rule and every conflict is reported (one per line), not only the first.
  transcoder::PathMatcher::Builder builder;
  std::map<std::string, std::string> owners;  // route shape -> "GET /v1/{id} of pkg.Svc.M"
  std::vector<std::string> errors;
  for (const auto& [path, info] : c->methods_) {
    auto bindings = transcoder::HttpBindingsOf(*info.descriptor);
    bindings.push_back(transcoder::DefaultBinding(*info.descriptor));
    for (const auto& binding : bindings) {
      const std::string what = binding.http_method + " " + binding.path + " of " +
                               info.descriptor->full_name();
      auto plan = transcoder::RoutePlan::Create(*info.descriptor, binding);
      if (!plan.ok()) {
        errors.push_back(plan.status().message());
        continue;
      }
      const std::string shape = RouteShape(binding.http_method, plan->path_template());
      if (auto owner = owners.find(shape); owner != owners.end()) {
        errors.push_back(info.descriptor->full_name() + ": route " + what +
                         " conflicts with route " + owner->second);
        continue;
      }
      std::string error;
      if (!builder.Add(binding.http_method, plan->path_template(), c->routes_.size(), &error)) {
        errors.push_back(info.descriptor->full_name() + ": route " + what + ": " + error);
        continue;
      }
      owners.emplace(shape, what);
      c->routes_.push_back(Route{&info, std::move(*plan)});
    }
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return InvalidArgument(std::move(message));
  }
  c->matcher_ = std::move(builder).Build();
  return std::shared_ptr<const Catalog>(std::move(c));
}

const MethodInfo* Catalog::FindMethod(std::string_view path) const {
  auto it = methods_.find(path);
  return it == methods_.end() ? nullptr : &it->second;
}

std::vector<std::string> Catalog::Services() const {
  std::set<std::string> out;
  for (const auto& [path, info] : methods_) out.insert(info.descriptor->service()->full_name());
  return {out.begin(), out.end()};
}

std::vector<std::string> Catalog::ServicesOf(const std::string& name) const {
  std::vector<std::string> out;
  const pb::FileDescriptor* file = pool_->FindFileByName(name);
  if (file == nullptr) return out;
  for (int s = 0; s < file->service_count(); ++s) out.push_back(file->service(s)->full_name());
  return out;
}

}  // namespace portico::registry
