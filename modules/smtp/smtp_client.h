// One outbound SMTP transaction (RFC 5321 client side): connect to the
// given addresses in turn, EHLO, STARTTLS when offered, MAIL, RCPT per
// recipient, DATA, QUIT. Reports one reply per recipient.
#pragma once

#include <openssl/base.h>
#include <sys/socket.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tls.h"

namespace gannet::smtp {

struct ClientReply {
  int code = 0;  // 0: no answer (connection failed or lost)
  std::string text;
  bool dsn = false;  // accepted by a server that took our DSN parameters: notices are its job now
  bool permanent() const { return code >= 500; }
  bool ok() const { return code >= 200 && code < 300; }
};

struct ClientJob {
  std::vector<sockaddr_storage> addresses;  // tried in order until one answers
  std::string helo;
  std::string sender;
  std::vector<std::string> recipients;
  std::shared_ptr<const std::string> message;  // CRLF lines, not dot-stuffed
  // DSN parameters (RFC 3461 5.2), sent only to a server that offers DSN:
  // " RET=HDRS ENVID=x" for MAIL, " NOTIFY=... ORCPT=..." per recipient.
  std::string dsn_mail;
  std::vector<std::string> dsn_rcpt;  // parallel to recipients; may be shorter
  // The sender gave SMTPUTF8 (RFC 6531): the header fields may hold UTF-8.
  // Such a message, or a non-ASCII address, goes only to a server that
  // offers SMTPUTF8; elsewhere its recipients fail with 553 5.6.7 (3.4).
  bool smtputf8 = false;
  // uv_now() in ms at which the whole attempt gives up, whatever step it is
  // at and however many addresses are left (0: never); see QueueRunner.
  uint64_t deadline = 0;
  // AUTH PLAIN with these after STARTTLS (smtp_relayhost_auth); a server
  // that offers no TLS or no AUTH PLAIN gets no password and the attempt
  // fails, to be retried. Empty: no AUTH.
  std::string auth_user, auth_password;
  // Set: STARTTLS is required, with this context, and the certificate must
  // be for tls_name (smtp_relayhost_tls_verify).
  std::shared_ptr<SSL_CTX> tls_verify;
  std::string tls_name;
  bool implicit_tls = false;  // TLS from the first byte (port 465), no STARTTLS
};

class SmtpClient final : public TlsTransport {
 public:
  using Done = std::function<void(std::vector<ClientReply> per_recipient)>;
  // Runs the job; done is called once, on the loop. The client frees itself.
  static void start(uv_loop_t* loop, ClientJob job, Done done, uint64_t timeout_ms = 300'000);

  int bio_read(char* out, int len) override;
  void bio_write(const char* data, int len) override;

 private:
  enum class Step { connect, greeting, ehlo, helo, starttls, tls_ehlo, auth, mail, rcpt, data, body, quit };
  SmtpClient(uv_loop_t* loop, ClientJob job, Done done, uint64_t timeout_ms);
  ~SmtpClient();
  void try_next_address();
  void on_reply(int code, const std::string& text, const std::vector<std::string>& lines);
  void send(const std::string& s);
  void send_ehlo();
  void after_ehlo();
  void start_tls();
  void send_mail();
  void send_next_rcpt();
  void next_rcpt();
  void arm_timer();
  bool past_deadline() const;
  void quit(const ClientReply& everyone_else);
  void finish(const ClientReply& everyone_else);
  void fail_connection(const std::string& why);
  void received(const char* data, size_t n);
  void parse_replies();
  void flush();
  void close_socket(bool then_retry);
  void retire();

  static void on_connect(uv_connect_t* req, int status);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void on_timer(uv_timer_t* t);

  uv_loop_t* loop_;
  ClientJob job_;
  Done done_;
  uint64_t timeout_ms_;
  size_t next_address_ = 0;
  uv_tcp_t* tcp_ = nullptr;
  uv_timer_t* timer_;
  Step step_ = Step::connect;
  SSL* ssl_ = nullptr;
  bool handshaking_ = false;
  bool offers_starttls_ = false, offers_8bit_ = false, offers_size_ = false, offers_utf8_ = false, offers_dsn_ = false;
  bool offers_auth_plain_ = false;  // in the EHLO reply after STARTTLS
  std::string raw_in_;   // TLS records not yet decrypted
  std::string in_;       // reply bytes not yet parsed
  std::string out_;      // bytes for the socket
  std::vector<std::string> reply_lines_;
  size_t rcpt_index_ = 0;
  std::vector<ClientReply> results_;
  bool any_accepted_ = false;
  bool final_ = false;  // every recipient has its last word
  std::string last_error_;
  bool done_called_ = false;
};

// Dot-stuffs a message for DATA and ends it with CRLF.CRLF. Every line
// goes out with CRLF, a bare LF made one and a last line without an end
// given one: the terminating "." must start a line of its own, or the
// server never sees the end.
std::string dot_stuff(std::string_view message);

}  // namespace gannet::smtp
