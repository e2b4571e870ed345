// OpenSSL for HTTPClient's https:// (the agent's TLS to its servers). The helpers wrap what
// OpenSSL defines as macros, which Swift does not import.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static inline int cimdb_ssl_set_sni(SSL *ssl, const char *host) { return (int)SSL_set_tlsext_host_name(ssl, host); }

static inline int cimdb_ssl_ctx_set_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }

// Checks the peer's certificate against `host`: its IP address SAN when `host` is an address,
// else its DNS names.
static inline int cimdb_ssl_expect_host(SSL *ssl, const char *host, int is_ip) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) : X509_VERIFY_PARAM_set1_host(param, host, 0);
}

// A certificate given as the trust anchor may be the server's own (self-signed, not a CA).
static inline void cimdb_ssl_ctx_allow_partial_chain(SSL_CTX *ctx) {
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
}
