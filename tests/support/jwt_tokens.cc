#include "tests/support/jwt_tokens.h"

#include <cstdio>
#include <cstdlib>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "transcoder/base64.h"

namespace portico::testing {
namespace {

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "jwt_tokens: OpenSSL failed: %s\n", what);
  std::abort();
}

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) {
  Require(key != nullptr, "key generation");
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::string Family(const std::string& alg) { return alg.substr(0, 2); }

std::size_t EcField(const std::string& alg) {
  return alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
}

const EVP_MD* Digest(const std::string& alg) {
  if (alg == "EdDSA") return nullptr;
  const std::string bits = alg.substr(2);
  return bits == "256" ? EVP_sha256() : bits == "384" ? EVP_sha384() : EVP_sha512();
}

std::string BnBytes(EVP_PKEY* key, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  Require(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  std::string out(static_cast<std::size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
  Require(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()),
                       static_cast<int>(out.size())) >= 0,
          "BN_bn2binpad");
  BN_free(bn);
  return out;
}

std::string PemOf(EVP_PKEY* key, bool private_key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Require(bio != nullptr &&
              (private_key ? PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr,
                                                      nullptr)
                           : PEM_write_bio_PUBKEY(bio, key)) == 1,
          "PEM write");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

void FillPublic(TestKey* key) {
  const std::string family = Family(key->alg);
  EVP_PKEY* pkey = key->private_key.get();
  nlohmann::json jwk;
  if (family == "HS") {
    jwk = {{"kty", "oct"}, {"k", Base64UrlEncode(key->secret)}};
  } else if (family == "RS" || family == "PS") {
    jwk = {{"kty", "RSA"},
           {"n", Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_RSA_N, 0))},
           {"e", Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_RSA_E, 0))}};
  } else if (family == "ES") {
    const int field = static_cast<int>(EcField(key->alg));
    const char* crv = field == 32 ? "P-256" : field == 48 ? "P-384" : "P-521";
    jwk = {{"kty", "EC"},
           {"crv", crv},
           {"x", Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_EC_PUB_X, field))},
           {"y", Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, field))}};
  } else {
    std::string x(32, '\0');
    std::size_t size = x.size();
    Require(EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(x.data()),
                                        &size) == 1,
            "raw public key");
    jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(x)}};
  }
  if (!key->kid.empty()) jwk["kid"] = key->kid;
  key->jwk = std::move(jwk);
  key->public_pem = pkey ? PemOf(pkey, false) : "";
}

std::string RawEcdsa(const std::string& der, std::size_t field) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  Require(sig != nullptr, "d2i_ECDSA_SIG");
  std::string out(2 * field, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  Require(BN_bn2binpad(ECDSA_SIG_get0_r(sig), bytes, static_cast<int>(field)) > 0 &&
              BN_bn2binpad(ECDSA_SIG_get0_s(sig), bytes + field, static_cast<int>(field)) > 0,
          "ECDSA r||s");
  ECDSA_SIG_free(sig);
  return out;
}

std::string Hmac(const std::string& alg, std::string_view secret, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  Require(HMAC(Digest(alg), secret.data(), static_cast<int>(secret.size()),
               reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
               &size) != nullptr,
          "HMAC");
  return std::string(reinterpret_cast<const char*>(mac), size);
}

std::string Sign(const TestKey& key, std::string_view input) {
  if (Family(key.alg) == "HS") return Hmac(key.alg, key.secret, input);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  Require(EVP_DigestSignInit(ctx, &pctx, Digest(key.alg), nullptr, key.private_key.get()) == 1,
          "DigestSignInit");
  if (Family(key.alg) == "PS") {
    Require(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1,
            "PSS");
  }
  std::size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  Require(EVP_DigestSign(ctx, nullptr, &size, data, input.size()) == 1, "DigestSign size");
  std::string sig(size, '\0');
  Require(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &size, data,
                         input.size()) == 1,
          "DigestSign");
  sig.resize(size);
  EVP_MD_CTX_free(ctx);
  return Family(key.alg) == "ES" ? RawEcdsa(sig, EcField(key.alg)) : sig;
}

std::string SigningInput(const std::string& alg, const std::string& kid, nlohmann::json header,
                         const nlohmann::json& payload) {
  if (!header.contains("alg")) header["alg"] = alg;
  if (!kid.empty() && !header.contains("kid")) header["kid"] = kid;
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out = transcoder::Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

TestKey MakeKey(const std::string& alg, const std::string& kid, int rsa_bits, bool with_alg) {
  TestKey key;
  key.alg = alg;
  key.kid = kid;
  const std::string family = Family(alg);
  if (family == "HS") {
    key.secret.resize(64);
    Require(RAND_bytes(reinterpret_cast<unsigned char*>(key.secret.data()), 64) == 1, "RAND");
  } else if (family == "RS" || family == "PS") {
    key.private_key = Own(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                            static_cast<std::size_t>(rsa_bits)));
  } else if (family == "ES") {
    const std::size_t field = EcField(alg);
    key.private_key = Own(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC",
                                            field == 32   ? "P-256"
                                            : field == 48 ? "P-384"
                                                          : "P-521"));
  } else {
    key.private_key = Own(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  }
  FillPublic(&key);
  if (with_alg) key.jwk["alg"] = alg;
  return key;
}

TestKey WithAlg(const TestKey& key, const std::string& alg) {
  TestKey out = key;
  out.alg = alg;
  if (out.jwk.contains("alg")) out.jwk["alg"] = alg;
  return out;
}

std::string SignJwt(const TestKey& key, nlohmann::json header, const nlohmann::json& payload) {
  const std::string input = SigningInput(key.alg, key.kid, std::move(header), payload);
  return input + "." + Base64UrlEncode(Sign(key, input));
}

std::string SignHmacJwt(const std::string& alg, std::string_view secret, nlohmann::json header,
                        const nlohmann::json& payload) {
  const std::string input = SigningInput(alg, "", std::move(header), payload);
  return input + "." + Base64UrlEncode(Hmac(alg, secret, input));
}

nlohmann::json JwksOf(const std::vector<const TestKey*>& keys) {
  nlohmann::json list = nlohmann::json::array();
  for (const TestKey* key : keys) list.push_back(key->jwk);
  return {{"keys", list}};
}

TestCert MakeSelfSignedCert(const std::string& subject_alt_name) {
  std::shared_ptr<EVP_PKEY> key = Own(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  X509* cert = X509_new();
  Require(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  Require(ASN1_TIME_set_string(X509_getm_notBefore(cert), "20000101000000Z") == 1 &&
              ASN1_TIME_set_string(X509_getm_notAfter(cert), "21000101000000Z") == 1,
          "validity");
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Portico JWKS test"), -1,
                             -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"},
                            std::pair{NID_subject_alt_name, subject_alt_name.c_str()},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    Require(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, value);
    X509_EXTENSION_free(ext);
  }
  Require(X509_sign(cert, key.get(), EVP_sha256()) > 0, "X509_sign");
  BIO* bio = BIO_new(BIO_s_mem());
  Require(PEM_write_bio_X509(bio, cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  TestCert out{std::string(data, static_cast<std::size_t>(size)), PemOf(key.get(), true)};
  BIO_free(bio);
  X509_free(cert);
  return out;
}

}  // namespace portico::testing
