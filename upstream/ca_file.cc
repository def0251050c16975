#include "upstream/ca_file.h"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "registry/backend_config.h"

namespace portico::upstream {
namespace {

constexpr std::size_t kMaxCaFileBytes = 16 << 20;

// How many certificates OpenSSL reads from `pem` (stopping at the first that does not parse).
int CountPemCertificates(const std::string& pem) {
  struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
  };
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return 0;
  int count = 0;
  while (X509* cert = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr)) {
    X509_free(cert);
    ++count;
  }
  ERR_clear_error();  // the end of the input is reported as an error too
  return count;
}

}  // namespace

StatusOr<std::string> ReadCaFile(const std::string& path) {
  const std::string what = "TLS CA file " + registry::QuoteValue(path);
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  // stdio rather than ifstream: an ifstream "reads" a directory as an empty file.
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    const int error = errno;
    return Unavailable("cannot read " + what + ": " + std::generic_category().message(error));
  }
  std::string text;
  char buffer[16 * 1024];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    text.append(buffer, n);
    // A CA bundle is kilobytes; this stops /dev/zero and the like from eating the memory.
    if (text.size() > kMaxCaFileBytes) {
      return Unavailable(what + " is larger than " + std::to_string(kMaxCaFileBytes >> 20) +
                         " MiB");
    }
  }
  if (std::ferror(file.get())) {
    const int error = errno;
    return Unavailable("cannot read " + what + ": " + std::generic_category().message(error));
  }
  if (CountPemCertificates(text) == 0) {
    return Unavailable(what + " holds no valid PEM certificate");
  }
  return text;
}

}  // namespace portico::upstream
