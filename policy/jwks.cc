#include "policy/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "policy/jws.h"
#include "transcoder/base64.h"

namespace portico::policy {
namespace {

struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};

// One key's failure: the caller prefixes which key.
struct KeyError {
  std::string message;
};

// A member that must be a base64url string.
bool Member(const nlohmann::json& jwk, const char* name, std::string* out, KeyError* error) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    error->message = std::string("\"") + name + "\" missing or not a string";
    return false;
  }
  if (!DecodeBase64Url(it->get_ref<const std::string&>(), out) || out->empty()) {
    error->message = std::string("\"") + name + "\" is not base64url";
    return false;
  }
  return true;
}

// EVP_PKEY_fromdata over the parameters `bld` holds.
EvpPkeyPtr FromData(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return nullptr;
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) return nullptr;
  return EvpPkeyPtr(key);
}

EvpPkeyPtr RsaKey(const nlohmann::json& jwk, KeyError* error) {
  std::string n, e;
  if (!Member(jwk, "n", &n, error) || !Member(jwk, "e", &e, error)) return nullptr;
  if (e.size() > 8) {  // RFC 7518 6.3.1.2; OpenSSL would accept a huge exponent, slowly
    error->message = "\"e\" is too large";
    return nullptr;
  }
  std::unique_ptr<BIGNUM, BnDeleter> bn_n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()),
                nullptr));
  std::unique_ptr<BIGNUM, BnDeleter> bn_e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()),
                nullptr));
  if (!bn_n || !bn_e) return nullptr;
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    error->message = "RSA modulus of " + std::to_string(bits) + " bits (2048 to 8192 accepted)";
    return nullptr;
  }
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) {
    error->message = "\"e\" is not a valid RSA exponent";
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return nullptr;
  }
  return FromData("RSA", bld.get());
}

EvpPkeyPtr EcKey(const nlohmann::json& jwk, JwkType type, KeyError* error) {
  const char* group = type == JwkType::kEcP256   ? "prime256v1"
                      : type == JwkType::kEcP384 ? "secp384r1"
                                                 : "secp521r1";
  const std::size_t field = type == JwkType::kEcP256 ? 32 : type == JwkType::kEcP384 ? 48 : 66;
  std::string x, y;
  if (!Member(jwk, "x", &x, error) || !Member(jwk, "y", &y, error)) return nullptr;
  if (x.size() != field || y.size() != field) {  // RFC 7518 6.2.1.2: the full field size
    error->message = "\"x\" or \"y\" is not " + std::to_string(field) + " bytes";
    return nullptr;
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC 1 point
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return nullptr;
  }
  EvpPkeyPtr key = FromData("EC", bld.get());
  if (!key) {
    error->message = "the point is not on the curve";
    return nullptr;
  }
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) <= 0) {
    error->message = "the point is not on the curve";
    return nullptr;
  }
  return key;
}

EvpPkeyPtr Ed25519Key(const nlohmann::json& jwk, KeyError* error) {
  std::string x;
  if (!Member(jwk, "x", &x, error)) return nullptr;
  if (x.size() != 32) {
    error->message = "\"x\" is not 32 bytes";
    return nullptr;
  }
  return EvpPkeyPtr(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
}

// The key's type from kty (and crv); false for types this verifier does not know (skipped).
bool TypeOf(const nlohmann::json& jwk, JwkType* type) {
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return false;
  const std::string& name = kty->get_ref<const std::string&>();
  auto crv_it = jwk.find("crv");
  const std::string crv =
      crv_it != jwk.end() && crv_it->is_string() ? crv_it->get<std::string>() : "";
  if (name == "RSA") *type = JwkType::kRsa;
  else if (name == "oct") *type = JwkType::kOct;
  else if (name == "EC" && crv == "P-256") *type = JwkType::kEcP256;
  else if (name == "EC" && crv == "P-384") *type = JwkType::kEcP384;
  else if (name == "EC" && crv == "P-521") *type = JwkType::kEcP521;
  else if (name == "OKP" && crv == "Ed25519") *type = JwkType::kEd25519;
  else return false;
  return true;
}

// Builds one key; false with *error when the JWK is of a known type but unusable.
bool BuildKey(const nlohmann::json& jwk, JwkType type, Jwk* key, KeyError* error) {
  key->type = type;
  switch (type) {
    case JwkType::kRsa:
      key->pkey = RsaKey(jwk, error);
      break;
    case JwkType::kEcP256:
    case JwkType::kEcP384:
    case JwkType::kEcP521:
      key->pkey = EcKey(jwk, type, error);
      break;
    case JwkType::kEd25519:
      key->pkey = Ed25519Key(jwk, error);
      break;
    case JwkType::kOct:
      if (!Member(jwk, "k", &key->secret, error)) return false;
      if (key->secret.size() < kMinOctBytes) {
        error->message = "an HMAC secret shorter than 32 bytes";
        return false;
      }
      return true;
  }
  if (!key->pkey && error->message.empty()) error->message = "OpenSSL refused the key";
  return key->pkey != nullptr;
}

}  // namespace

bool DecodeBase64Url(std::string_view in, std::string* out) {
  for (char c : in) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  std::size_t size = 0;
  if (!transcoder::Base64Measure(in, &size)) return false;
  std::string decoded(size, '\0');
  if (transcoder::Base64DecodeTo(in, decoded.data()) != transcoder::Base64Result::kOk) {
    return false;
  }
  *out = std::move(decoded);
  return true;
}

StatusOr<std::shared_ptr<const JwkSet>> ParseJwks(std::string_view json) {
  if (json.size() > kMaxJwksBytes) return InvalidArgument("JWKS larger than 1 MiB");
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("JWKS is not JSON");
  if (!doc.is_object()) return InvalidArgument("JWKS is not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return InvalidArgument("JWKS has no \"keys\" array");
  }
  if (keys->size() > kMaxJwksKeys) {
    return InvalidArgument("JWKS holds more than " + std::to_string(kMaxJwksKeys) + " keys");
  }
  std::vector<Jwk> out;
  std::size_t index = 0;
  for (const nlohmann::json& jwk : *keys) {
    const std::string where = "JWKS key " + std::to_string(index++);
    if (!jwk.is_object()) return InvalidArgument(where + " is not an object");
    Jwk key;
    for (const char* name : {"kid", "alg", "use"}) {
      auto it = jwk.find(name);
      if (it != jwk.end() && !it->is_string()) {
        return InvalidArgument(where + ": \"" + name + "\" is not a string");
      }
    }
    if (auto kid = jwk.find("kid"); kid != jwk.end()) key.kid = kid->get<std::string>();
    if (auto alg = jwk.find("alg"); alg != jwk.end()) key.alg = alg->get<std::string>();
    if (auto use = jwk.find("use"); use != jwk.end() && use->get_ref<const std::string&>() != "sig") {
      continue;  // an encryption key: not for signatures
    }
    JwkType type;
    if (!TypeOf(jwk, &type)) continue;  // a type or curve this verifier does not know
    KeyError error;
    if (!BuildKey(jwk, type, &key, &error)) {
      const std::string kid = key.kid.empty() ? "" : " (kid " + BoundedQuote(key.kid) + ")";
      return InvalidArgument(where + kid + ": " + error.message);
    }
    out.push_back(std::move(key));
  }
  if (out.empty()) return InvalidArgument("JWKS holds no usable key");
  return std::shared_ptr<const JwkSet>(std::make_shared<JwkSet>(std::move(out)));
}

}  // namespace portico::policy
