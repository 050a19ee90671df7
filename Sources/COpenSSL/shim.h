/* The system OpenSSL 3 (libssl-dev), plus inline wrappers for the parts of its
   API that are macros and so are not visible from Swift. */
#ifndef BANTIN_COPENSSL_SHIM_H
#define BANTIN_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bn.h>
#include <openssl/rand.h>

static inline int bantin_ssl_ctx_set_min_proto(SSL_CTX *ctx, int version) {
  return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int bantin_ssl_ctx_set_max_proto(SSL_CTX *ctx, int version) {
  return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long bantin_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) {
  return SSL_CTX_set_mode(ctx, mode);
}
static inline int bantin_ssl_set_sni(SSL *ssl, const char *name) {
  return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline EVP_PKEY *bantin_generate_p256_key(void) {
  return EVP_EC_gen("P-256");
}
static inline void bantin_x509v3_ctx_init(X509V3_CTX *ctx, X509 *issuer, X509 *subject) {
  X509V3_set_ctx_nodb(ctx);
  X509V3_set_ctx(ctx, issuer, subject, NULL, NULL, 0);
}
static inline void bantin_openssl_free(void *p) { OPENSSL_free(p); }

/* Subject alternative names of a certificate, as "DNS:name" / "IP:addr" strings
   written into out (NUL-separated); returns the number written. */
static inline int bantin_x509_copy_sans(X509 *cert, char *out, size_t capacity) {
  GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
  if (names == NULL) return 0;
  int written = 0;
  size_t used = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
    const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
    char entry[300];
    int n = 0;
    if (name->type == GEN_DNS) {
      n = snprintf(entry, sizeof entry, "DNS:%.*s", ASN1_STRING_length(name->d.dNSName),
                   (const char *)ASN1_STRING_get0_data(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      const unsigned char *ip = ASN1_STRING_get0_data(name->d.iPAddress);
      int len = ASN1_STRING_length(name->d.iPAddress);
      if (len == 4) n = snprintf(entry, sizeof entry, "IP:%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
      else continue;
    } else {
      continue;
    }
    if (n <= 0 || used + (size_t)n + 1 > capacity) break;
    memcpy(out + used, entry, (size_t)n + 1);
    used += (size_t)n + 1;
    written++;
  }
  GENERAL_NAMES_free(names);
  return written;
}
#endif
