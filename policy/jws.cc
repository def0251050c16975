#include "policy/jws.h"

#include <array>
#include <cstdint>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

namespace portico::policy {
namespace {

struct AlgInfo {
  std::string_view name;
  JwsAlg alg;
};
constexpr std::array<AlgInfo, 13> kAlgs{{
    {"RS256", JwsAlg::kRS256}, {"RS384", JwsAlg::kRS384}, {"RS512", JwsAlg::kRS512},
    {"PS256", JwsAlg::kPS256}, {"PS384", JwsAlg::kPS384}, {"PS512", JwsAlg::kPS512},
    {"ES256", JwsAlg::kES256}, {"ES384", JwsAlg::kES384}, {"ES512", JwsAlg::kES512},
    {"HS256", JwsAlg::kHS256}, {"HS384", JwsAlg::kHS384}, {"HS512", JwsAlg::kHS512},
    {"EdDSA", JwsAlg::kEdDSA},
}};

// Fetched once: OpenSSL 3 looks a legacy EVP_sha256() up in the provider at every init.
const EVP_MD* Fetched(const char* name, const EVP_MD* fallback) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);  // kept for the process's life
  return md != nullptr ? md : fallback;
}

const EVP_MD* Digest(JwsAlg alg) {
  static const EVP_MD* const sha256 = Fetched("SHA256", EVP_sha256());
  static const EVP_MD* const sha384 = Fetched("SHA384", EVP_sha384());
  static const EVP_MD* const sha512 = Fetched("SHA512", EVP_sha512());
  switch (alg) {
    case JwsAlg::kRS256: case JwsAlg::kPS256: case JwsAlg::kES256: case JwsAlg::kHS256:
      return sha256;
    case JwsAlg::kRS384: case JwsAlg::kPS384: case JwsAlg::kES384: case JwsAlg::kHS384:
      return sha384;
    case JwsAlg::kRS512: case JwsAlg::kPS512: case JwsAlg::kES512: case JwsAlg::kHS512:
      return sha512;
    case JwsAlg::kEdDSA:
      return nullptr;
  }
  return nullptr;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

bool HmacMatches(const EVP_MD* md, const std::string& secret, std::string_view input,
                 std::string_view signature) {
  const auto md_size = static_cast<std::size_t>(EVP_MD_get_size(md));
  if (secret.size() < md_size || signature.size() != md_size) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(md, secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_size) == nullptr ||
      mac_size != md_size) {
    return false;
  }
  return CRYPTO_memcmp(mac, signature.data(), md_size) == 0;
}

// JWS's fixed-size r||s as the DER ECDSA-Sig-Value EVP expects; "" when it is not exactly
// 2 * field bytes.
std::string EcdsaDer(std::string_view raw, std::size_t field) {
  if (raw.size() != 2 * field) return "";
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(field), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + field, static_cast<int>(field), nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    return "";
  }
  unsigned char* der = nullptr;
  const int size = i2d_ECDSA_SIG(sig.get(), &der);
  if (size <= 0) return "";
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::optional<JwsAlg> ParseJwsAlg(std::string_view name) {
  for (const AlgInfo& info : kAlgs) {
    if (info.name == name) return info.alg;
  }
  return std::nullopt;
}

std::string_view JwsAlgName(JwsAlg alg) {
  for (const AlgInfo& info : kAlgs) {
    if (info.alg == alg) return info.name;
  }
  return "?";
}

bool AlgFitsKey(JwsAlg alg, const Jwk& key) {
  if (!key.alg.empty() && key.alg != JwsAlgName(alg)) return false;
  switch (alg) {
    case JwsAlg::kRS256: case JwsAlg::kRS384: case JwsAlg::kRS512:
    case JwsAlg::kPS256: case JwsAlg::kPS384: case JwsAlg::kPS512:
      return key.type == JwkType::kRsa;
    case JwsAlg::kES256:
      return key.type == JwkType::kEcP256;
    case JwsAlg::kES384:
      return key.type == JwkType::kEcP384;
    case JwsAlg::kES512:
      return key.type == JwkType::kEcP521;
    case JwsAlg::kHS256: case JwsAlg::kHS384: case JwsAlg::kHS512:
      return key.type == JwkType::kOct;
    case JwsAlg::kEdDSA:
      return key.type == JwkType::kEd25519;
  }
  return false;
}

bool VerifyJwsSignature(JwsAlg alg, const Jwk& key, std::string_view signing_input,
                        std::string_view signature) {
  if (!AlgFitsKey(alg, key)) return false;  // never an HMAC over a public key, and so on
  const EVP_MD* md = Digest(alg);
  if (key.type == JwkType::kOct) return HmacMatches(md, key.secret, signing_input, signature);
  if (!key.pkey) return false;

  std::string der;
  if (key.type == JwkType::kEcP256 || key.type == JwkType::kEcP384 ||
      key.type == JwkType::kEcP521) {
    const std::size_t field =
        key.type == JwkType::kEcP256 ? 32 : key.type == JwkType::kEcP384 ? 48 : 66;
    der = EcdsaDer(signature, field);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey.get()) <= 0) {
    return false;
  }
  if (alg == JwsAlg::kPS256 || alg == JwsAlg::kPS384 || alg == JwsAlg::kPS512) {
    // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0) {
      return false;
    }
  }
  // One shot: EdDSA allows nothing else, and the others gain nothing from streaming.
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

std::string BoundedQuote(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const char c = text[i];
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  if (text.size() > kMax) out += "...";
  out += '"';
  return out;
}

}  // namespace portico::policy
