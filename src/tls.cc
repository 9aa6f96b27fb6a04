#include "tls.h"

#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <strings.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gannet {

struct TlsContext::Pair {
  std::vector<CRYPTO_BUFFER*> chain;
  EVP_PKEY* key = nullptr;
  bool ecdsa = false;
  std::vector<std::string> names;  // DNS SANs, else the CN
  ~Pair() {
    for (auto* b : chain) CRYPTO_BUFFER_free(b);
    EVP_PKEY_free(key);
  }
  bool matches(const char* host) const {
    for (auto& n : names) {
      if (strcasecmp(n.c_str(), host) == 0) return true;
      if (n.size() > 2 && n[0] == '*' && n[1] == '.') {
        const char* dot = strchr(host, '.');
        if (dot && strcasecmp(dot, n.c_str() + 1) == 0) return true;
      }
    }
    return false;
  }
};

std::string tls_error_text() {
  std::string out;
  while (uint32_t e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

static int pair_index() {
  static int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

static void collect_names(X509* x, std::vector<std::string>& names) {
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (size_t i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = gn->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
  }
  if (sans) GENERAL_NAMES_free(sans);
  if (!names.empty()) return;
  char cn[256];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0) names.emplace_back(cn);
}

static std::unique_ptr<TlsContext::Pair> load_pair(const std::string& cert, const std::string& key, std::string& err) {
  auto pair = std::make_unique<TlsContext::Pair>();
  FILE* f = fopen(cert.c_str(), "r");
  if (!f) { err = "cannot load certificate \"" + cert + "\": " + strerror(errno); return nullptr; }
  X509* leaf = nullptr;
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
    uint8_t* der = nullptr;
    int len = i2d_X509(x, &der);
    if (len > 0) pair->chain.push_back(CRYPTO_BUFFER_new(der, len, nullptr));
    OPENSSL_free(der);
    if (!leaf) leaf = x; else X509_free(x);
  }
  fclose(f);
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (!leaf) { err = "cannot load certificate \"" + cert + "\": no PEM certificate in it"; return nullptr; }

  f = fopen(key.c_str(), "r");
  if (!f) { X509_free(leaf); err = "cannot load certificate key \"" + key + "\": " + strerror(errno); return nullptr; }
  pair->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  if (!pair->key) { X509_free(leaf); err = "cannot load certificate key \"" + key + "\": " + tls_error_text(); return nullptr; }
  if (!X509_check_private_key(leaf, pair->key)) {
    X509_free(leaf);
    err = "certificate \"" + cert + "\" and key \"" + key + "\" do not match";
    ERR_clear_error();
    return nullptr;
  }
  pair->ecdsa = EVP_PKEY_id(pair->key) == EVP_PKEY_EC;
  collect_names(leaf, pair->names);
  X509_free(leaf);
  return pair;
}

// Does the extension list hold a u16 entry for which pred is true?
template <class Pred>
static bool any_u16(const uint8_t* data, size_t len, bool one_byte_prefix, Pred pred) {
  CBS ext, list;
  CBS_init(&ext, data, len);
  bool ok = one_byte_prefix ? CBS_get_u8_length_prefixed(&ext, &list) : CBS_get_u16_length_prefixed(&ext, &list);
  uint16_t v;
  while (ok && CBS_get_u16(&list, &v))
    if (pred(v)) return true;
  return false;
}

// Can the client verify an ECDSA certificate? It must list an ECDSA
// signature algorithm (RFC 8446 4.2.3), and either speak TLS 1.3 or offer an
// ECDHE-ECDSA cipher suite for TLS 1.2.
static bool client_takes_ecdsa(const SSL_CLIENT_HELLO* hello) {
  const uint8_t* data;
  size_t len;
  if (!SSL_early_callback_ctx_extension_get(hello, TLSEXT_TYPE_signature_algorithms, &data, &len) ||
      !any_u16(data, len, false, [](uint16_t alg) { return (alg & 0xff) == 0x03; }))  // ecdsa_*_sha*
    return false;
  if (SSL_early_callback_ctx_extension_get(hello, TLSEXT_TYPE_supported_versions, &data, &len) &&
      any_u16(data, len, true, [](uint16_t v) { return v == TLS1_3_VERSION; }) &&
      SSL_get_max_proto_version(hello->ssl) >= TLS1_3_VERSION)
    return true;
  CBS suites;
  CBS_init(&suites, hello->cipher_suites, hello->cipher_suites_len);
  uint16_t id;
  while (CBS_get_u16(&suites, &id)) {
    const SSL_CIPHER* c = SSL_get_cipher_by_value(id);
    if (c && SSL_CIPHER_get_auth_nid(c) == NID_auth_ecdsa) return true;
  }
  return false;
}

// Picks the pair for this handshake: the SNI name first, then a key the
// client can verify, preferring ECDSA when it can.
int TlsContext::select_certificate(const void* p) {
  auto* hello = static_cast<const SSL_CLIENT_HELLO*>(p);
  SSL* ssl = hello->ssl;
  auto* self = static_cast<TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pair_index()));
  const char* host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  bool ecdsa_ok = client_takes_ecdsa(hello);
  const Pair* best = nullptr;
  int best_score = -1;
  for (auto& pr : self->pairs_) {
    bool usable = !pr->ecdsa || ecdsa_ok;
    int score = (host && pr->matches(host) ? 4 : 0) + (usable ? 2 : 0) + (pr->ecdsa == ecdsa_ok ? 1 : 0);
    if (score > best_score) { best = pr.get(); best_score = score; }
  }
  if (!SSL_set_chain_and_key(ssl, best->chain.data(), best->chain.size(), best->key, nullptr))
    return ssl_select_cert_error;
  return ssl_select_cert_success;
}

static ssl_select_cert_result_t on_client_hello(const SSL_CLIENT_HELLO* hello) {
  return static_cast<ssl_select_cert_result_t>(TlsContext::select_certificate(hello));
}

std::shared_ptr<TlsContext> TlsContext::create(const TlsSettings& ts, std::string& err) {
  auto tc = std::shared_ptr<TlsContext>(new TlsContext);
  for (size_t i = 0; i < ts.certificates.size(); i++) {
    auto pair = load_pair(ts.certificates[i], ts.keys[i], err);
    if (!pair) return nullptr;
    tc->pairs_.push_back(std::move(pair));
  }
  tc->ctx_ = SSL_CTX_new(TLS_server_method());
  if (!tc->ctx_) { err = "SSL_CTX_new() failed"; return nullptr; }
  SSL_CTX* ctx = tc->ctx_;
  bool v12 = false, v13 = false;
  for (auto& p : ts.protocols) { v12 |= p == "TLSv1.2"; v13 |= p == "TLSv1.3"; }
  SSL_CTX_set_min_proto_version(ctx, v12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!SSL_CTX_set_strict_cipher_list(ctx, ts.ciphers.c_str())) {
    err = "invalid \"ssl_ciphers\" \"" + ts.ciphers + "\": " + tls_error_text();
    return nullptr;
  }
  SSL_CTX_set_ex_data(ctx, pair_index(), tc.get());
  SSL_CTX_set_select_certificate_cb(ctx, on_client_hello);
  static const uint8_t sid_ctx[] = "gannet";
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  uint32_t secs = static_cast<uint32_t>(ts.session_timeout_ms / 1000);
  SSL_CTX_set_timeout(ctx, secs);
  SSL_CTX_set_session_psk_dhe_timeout(ctx, secs);
  if (!ts.session_tickets) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  } else {
    // Set here, in the master, so every forked worker holds the same key
    // and a ticket from one worker resumes on another. BoringSSL would
    // otherwise make one lazily in each worker.
    uint8_t keys[48];
    RAND_bytes(keys, sizeof keys);
    SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof keys);
  }
  return tc;
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

BIO* new_transport_bio(TlsTransport* transport) {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "gannet transport");
    BIO_meth_set_create(m, [](BIO* b) { BIO_set_init(b, 1); return 1; });
    BIO_meth_set_read(m, [](BIO* b, char* out, int len) {
      BIO_clear_retry_flags(b);
      int n = static_cast<TlsTransport*>(BIO_get_data(b))->bio_read(out, len);
      if (n == 0) { BIO_set_retry_read(b); return -1; }
      return n;
    });
    BIO_meth_set_write(m, [](BIO* b, const char* data, int len) {
      BIO_clear_retry_flags(b);
      static_cast<TlsTransport*>(BIO_get_data(b))->bio_write(data, len);
      return len;
    });
    BIO_meth_set_ctrl(m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
    return m;
  }();
  BIO* bio = BIO_new(method);
  BIO_set_data(bio, transport);
  return bio;
}

namespace {

SSL_CTX* new_client_context(int verify_mode) {
  SSL_CTX* c = SSL_CTX_new(TLS_method());
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_verify(c, verify_mode, nullptr);
  return c;
}

}  // namespace

SSL_CTX* client_tls_context() {
  static SSL_CTX* ctx = new_client_context(SSL_VERIFY_NONE);
  return ctx;
}

std::shared_ptr<SSL_CTX> verifying_client_context(const std::string& ca_file, std::string& err) {
  std::shared_ptr<SSL_CTX> c(new_client_context(SSL_VERIFY_PEER), SSL_CTX_free);
  if (SSL_CTX_load_verify_locations(c.get(), ca_file.c_str(), nullptr) != 1) {
    err = "cannot load the CA certificates in \"" + ca_file + "\" (" + tls_error_text() + ")";
    return nullptr;
  }
  return c;
}

void verify_peer_name(SSL* ssl, const std::string& name) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  in6_addr a6;
  in_addr a4;
  bool ip = inet_pton(AF_INET, name.c_str(), &a4) == 1 || inet_pton(AF_INET6, name.c_str(), &a6) == 1;
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    X509_VERIFY_PARAM_set1_host(param, name.data(), name.size());
  }
}

SSL* TlsContext::new_server_ssl() const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  SSL_set_accept_state(ssl);
  // A server never renegotiates: drop the handshake's config once done
  // (about 0.7 KiB of each idle TLS connection).
  SSL_set_shed_handshake_config(ssl, 1);
  return ssl;
}

}  // namespace gannet
