// TLS contexts built from ssl_* directives. Several certificate pairs (RSA,
// ECDSA) may be configured; each handshake picks one by SNI and key type.
#pragma once

#include <memory>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace gannet {

struct TlsSettings {
  std::vector<std::string> certificates;  // PEM chain files
  std::vector<std::string> keys;          // matching PEM keys
  std::vector<std::string> protocols;     // TLSv1.2, TLSv1.3
  std::string ciphers;                    // TLS 1.2 cipher list
  bool session_tickets = true;
  uint64_t session_timeout_ms = 300'000;
};

class TlsContext {
 public:
  // Reads every file now, so a bad certificate is a config error.
  static std::shared_ptr<TlsContext> create(const TlsSettings&, std::string& err);
  ~TlsContext();
  SSL* new_server_ssl() const;  // nullptr on allocation failure
  SSL_CTX* ctx() const { return ctx_; }
  struct Pair;
  static int select_certificate(const void* client_hello);  // BoringSSL's early callback

 private:
  SSL_CTX* ctx_ = nullptr;
  std::vector<std::unique_ptr<Pair>> pairs_;
};

// The owner of a TLS stream's bytes (a server connection, an outbound SMTP
// client): TLS records are read from and written to its own buffers.
class TlsTransport {
 public:
  virtual int bio_read(char* out, int len) = 0;  // 0 when nothing is buffered
  virtual void bio_write(const char* data, int len) = 0;

 protected:
  ~TlsTransport() = default;
};

// A BIO over a transport: no buffer of its own, so TLS adds no memory
// between reads.
BIO* new_transport_bio(TlsTransport* transport);

// The client context for outbound SMTP: opportunistic TLS, as most MTAs do
// (a certificate that does not verify is still better than plaintext).
SSL_CTX* client_tls_context();
// A client context that verifies the server's chain against the CA
// certificates in ca_file (PEM); the name to check is set per connection
// (verify_peer_name). Null, with err set, if ca_file holds none.
std::shared_ptr<SSL_CTX> verifying_client_context(const std::string& ca_file, std::string& err);
// Sends name as SNI and makes the handshake fail unless the certificate is
// for it (a DNS name, or an IP address given as one).
void verify_peer_name(SSL* ssl, const std::string& name);

// The OpenSSL error queue as text, then cleared.
std::string tls_error_text();

}  // namespace gannet
