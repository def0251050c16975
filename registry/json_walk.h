// The primitive readers shared by the walkers of a backend's and a policy's declaration
// (backend_walk.cc, policy_walk.cc): one JSON value of a known key into a C++ value, recording
// the first problem, worded alike for both, in an error struct. Internal to registry/.
//
// JsonWalker<ErrorT> is stateless apart from the error pointer it does not own (which must
// outlive it); it is not thread-safe per object (it writes *error), cheap to make one per walk.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/backend_checks.h"
#include "registry/backend_config.h"
#include "transcoder/status.h"

namespace portico::registry {

// ErrorT is {Kind kind; std::string key; std::string message;} whose Kind has kNotAnObject,
// kUnknownKey, kWrongType, kInvalidValue and kNameMismatch (BackendWalkError, PolicyWalkError).
template <typename ErrorT>
class JsonWalker {
 public:
  using Json = nlohmann::json;
  using Kind = typename ErrorT::Kind;

  explicit JsonWalker(ErrorT* error) : error_(error) {}

  bool Fail(Kind kind, std::string key, std::string message = "") {
    *error_ = ErrorT{kind, std::move(key), std::move(message)};
    return false;
  }
  bool WrongType(std::string key, std::string_view expected) {
    return Fail(Kind::kWrongType, std::move(key), std::string(expected));
  }
  bool Invalid(std::string key, const Status& status) {
    return Fail(Kind::kInvalidValue, std::move(key), status.message());
  }

  // The declaration itself must be an object; its "name", if any, must be `*name` (or becomes
  // it when empty). Read first, so that every later message names the declaration.
  bool Name(const Json& json, std::string* name) {
    if (!json.is_object()) return Fail(Kind::kNotAnObject, "");
    auto it = json.find("name");
    if (it == json.end()) return true;
    if (!it->is_string()) return WrongType("name", "a string");
    const std::string& json_name = it->template get_ref<const std::string&>();
    if (name->empty()) {
      *name = json_name;
    } else if (json_name != *name) {
      return Fail(Kind::kNameMismatch, "name", json_name);
    }
    return true;
  }

  bool String(const Json& value, const std::string& key, std::string* out) {
    if (!value.is_string()) return WrongType(key, "a string");
    *out = value.template get_ref<const std::string&>();
    return true;
  }

  // `lower`: each item lower-cased (header names and metadata keys).
  bool Strings(const Json& value, const std::string& key, std::vector<std::string>* out,
               bool lower = false) {
    if (!value.is_array()) return WrongType(key, "an array of strings");
    out->clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::string item;
      if (!String(value[i], Element(key, i), &item)) return false;
      out->push_back(lower ? Lower(std::move(item)) : std::move(item));
    }
    return true;
  }

  bool Bool(const Json& value, const std::string& key, bool* out) {
    if (!value.is_boolean()) return WrongType(key, "true or false");
    *out = value.template get<bool>();
    return true;
  }

  bool Duration(const Json& value, const std::string& key, std::chrono::milliseconds* out) {
    if (!value.is_string()) return WrongType(key, kDurationType);
    StatusOr<std::chrono::milliseconds> duration =
        ParseDuration(value.template get_ref<const std::string&>());
    if (!duration.ok()) return Invalid(key, duration.status());
    *out = *duration;
    return true;
  }

  // T is an unsigned type holding all of `range`.
  template <typename T>
  bool Uint(const Json& value, const std::string& key, backend_checks::UintRange range, T* out) {
    if (!value.is_number_integer()) {
      return WrongType(key, "an integer " + backend_checks::RangeText(range));
    }
    const bool negative = !value.is_number_unsigned() && value.template get<std::int64_t>() < 0;
    const std::uint64_t number = negative ? 0 : value.template get<std::uint64_t>();
    if (negative || !backend_checks::InRange(number, range)) {
      return Invalid(key, backend_checks::OutOfRange(range, value.dump()));
    }
    *out = static_cast<T>(number);
    return true;
  }

  // Calls visit(name, value, "key.name") for each key of the object `value`; a name not in
  // `known` is an unknown key; a value not an object is `expected`.
  template <typename Visit>
  bool Object(const Json& value, const std::string& key, std::string_view expected,
              std::initializer_list<std::string_view> known, Visit visit) {
    if (!value.is_object()) return WrongType(key, expected);
    for (const auto& [name, item] : value.items()) {
      const std::string path = key + "." + name;
      bool is_known = false;
      for (std::string_view k : known) is_known = is_known || k == name;
      if (!is_known) return Fail(Kind::kUnknownKey, path);
      if (!visit(name, item, path)) return false;
    }
    return true;
  }
  template <typename Visit>
  bool Object(const Json& value, const std::string& key,
              std::initializer_list<std::string_view> known, Visit visit) {
    return Object(value, key, "an object", known, std::move(visit));
  }

  static std::string Element(const std::string& key, std::size_t index) {
    return key + "[" + std::to_string(index) + "]";
  }

  // Header names and metadata keys are case-insensitive on the wire and stored lower-case.
  static std::string Lower(std::string text) {
    for (char& c : text) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return text;
  }

 private:
  // What a duration key of the wrong type should have been, in the admin API's JSON terms.
  static constexpr std::string_view kDurationType = "a duration string such as \"30s\"";

  ErrorT* error_;
};

}  // namespace portico::registry
