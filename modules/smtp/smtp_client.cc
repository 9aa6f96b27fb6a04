#include "smtp_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

#include "base64.h"
#include "listen_addr.h"
#include "smtp_parse.h"

namespace gannet::smtp {

namespace {

constexpr size_t kMaxReplyBytes = 64 << 10;

struct WriteReq {
  uv_write_t req;
  std::string data;
};

// The header section: where SMTPUTF8 lets UTF-8 in (RFC 6532). The body's
// 8-bit octets are 8BITMIME's business.
std::string_view header_section(std::string_view m) {
  auto end = m.find("\r\n\r\n");
  return end == std::string_view::npos ? m : m.substr(0, end);
}

}  // namespace

std::string dot_stuff(std::string_view m) {
  std::string out;
  out.reserve(m.size() + m.size() / 64 + 5);
  bool line_start = true;
  for (char c : m) {
    if (line_start && c == '.') out.push_back('.');
    if (c == '\n' && (out.empty() || out.back() != '\r')) out.push_back('\r');
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

void SmtpClient::start(uv_loop_t* loop, ClientJob job, Done done, uint64_t timeout_ms) {
  auto* c = new SmtpClient(loop, std::move(job), std::move(done), timeout_ms);
  c->try_next_address();
}

SmtpClient::SmtpClient(uv_loop_t* loop, ClientJob job, Done done, uint64_t timeout_ms)
    : loop_(loop), job_(std::move(job)), done_(std::move(done)), timeout_ms_(timeout_ms) {
  results_.resize(job_.recipients.size());
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
}

SmtpClient::~SmtpClient() {
  if (ssl_) SSL_free(ssl_);
}

// The client goes once its timer is closed: never inside one of its own
// callbacks, which may still be running.
void SmtpClient::retire() {
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) {
    auto* c = static_cast<SmtpClient*>(h->data);
    delete reinterpret_cast<uv_timer_t*>(h);
    delete c;
  });
}

bool SmtpClient::past_deadline() const { return job_.deadline && uv_now(loop_) >= job_.deadline; }

// Silence at any step may last timeout_ms_, but never past the deadline.
void SmtpClient::arm_timer() {
  uint64_t t = timeout_ms_;
  if (job_.deadline) {
    uint64_t now = uv_now(loop_);
    t = std::min<uint64_t>(t, job_.deadline > now ? job_.deadline - now : 0);
  }
  uv_timer_start(timer_, on_timer, t, 0);
}

void SmtpClient::try_next_address() {
  if (next_address_ >= job_.addresses.size()) {
    return finish({0, last_error_.empty() ? "no address to connect to" : last_error_});
  }
  if (past_deadline()) {
    std::string why = "attempt time limit reached";
    if (!last_error_.empty() && last_error_ != why) why += "; last error: " + last_error_;
    return finish({0, why});
  }
  const sockaddr_storage& addr = job_.addresses[next_address_++];
  step_ = Step::connect;
  in_.clear();
  raw_in_.clear();
  out_.clear();
  reply_lines_.clear();
  if (ssl_) SSL_free(ssl_), ssl_ = nullptr;
  handshaking_ = offers_starttls_ = offers_8bit_ = offers_size_ = offers_utf8_ = offers_dsn_ = false;
  offers_auth_plain_ = false;
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop_, tcp_);
  tcp_->data = this;
  auto* req = new uv_connect_t;
  req->data = this;
  arm_timer();
  int rc = uv_tcp_connect(req, tcp_, reinterpret_cast<const sockaddr*>(&addr), on_connect);
  if (rc != 0) {
    delete req;
    last_error_ = "connect to " + sockaddr_text(addr) + ": " + uv_strerror(rc);
    close_socket(true);
  }
}

void SmtpClient::on_connect(uv_connect_t* req, int status) {
  auto* c = static_cast<SmtpClient*>(req->data);
  delete req;
  if (status == UV_ECANCELED) return;
  if (status < 0) {
    c->last_error_ = std::string("connect: ") + uv_strerror(status);
    return c->close_socket(true);
  }
  c->step_ = Step::greeting;
  if (c->job_.implicit_tls) c->start_tls();  // the greeting comes inside TLS
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(c->tcp_),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char block[16384];  // the loop is single-threaded: one read at a time
        *buf = uv_buf_init(block, sizeof block);
      },
      on_read);
}

void SmtpClient::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<SmtpClient*>(s->data);
  if (n > 0) return c->received(buf->base, static_cast<size_t>(n));
  if (n < 0) c->fail_connection(n == UV_EOF ? "connection closed by the server" : uv_strerror(static_cast<int>(n)));
}

void SmtpClient::on_timer(uv_timer_t* t) {
  auto* c = static_cast<SmtpClient*>(t->data);
  c->fail_connection(c->past_deadline() ? "attempt time limit reached" : "timeout");
}

int SmtpClient::bio_read(char* out, int len) {
  size_t n = std::min<size_t>(len, raw_in_.size());
  memcpy(out, raw_in_.data(), n);
  raw_in_.erase(0, n);
  return static_cast<int>(n);
}

void SmtpClient::bio_write(const char* data, int len) { out_.append(data, len); }

void SmtpClient::received(const char* data, size_t n) {
  arm_timer();
  if (!ssl_) {
    in_.append(data, n);
  } else {
    raw_in_.append(data, n);
    if (handshaking_) {
      int r = SSL_do_handshake(ssl_);
      flush();
      if (r != 1) {
        int err = SSL_get_error(ssl_, r);
        if (err != SSL_ERROR_WANT_READ) {
          std::string why = "TLS handshake failed: " + tls_error_text();
          if (long v = SSL_get_verify_result(ssl_); v != X509_V_OK)
            why += " (certificate: " + std::string(X509_verify_cert_error_string(v)) + ")";
          fail_connection(why);
        }
        return;
      }
      handshaking_ = false;
      if (step_ != Step::greeting) {  // after STARTTLS we speak first
        step_ = Step::tls_ehlo;
        send_ehlo();
        return;
      }
      // Implicit TLS: the greeting may have come with the handshake's end.
    }
    char plain[16384];
    int r;
    while ((r = SSL_read(ssl_, plain, sizeof plain)) > 0) in_.append(plain, r);
  }
  if (in_.size() > kMaxReplyBytes) return fail_connection("reply too long");
  parse_replies();
}

void SmtpClient::parse_replies() {
  size_t nl;
  while (!done_called_ && (nl = in_.find('\n')) != std::string::npos) {
    std::string line = in_.substr(0, nl);
    in_.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    reply_lines_.push_back(line);
    if (line.size() >= 4 && line[3] == '-') continue;
    int code = line.size() >= 3 ? atoi(line.substr(0, 3).c_str()) : 0;
    std::string text;
    for (auto& l : reply_lines_) text += (text.empty() ? "" : " ") + l;
    auto lines = std::move(reply_lines_);
    reply_lines_.clear();
    if (code < 200 || code > 599) return fail_connection("bad reply: " + line);
    on_reply(code, text, lines);
  }
}

void SmtpClient::send(const std::string& s) {
  if (ssl_ && !handshaking_) SSL_write(ssl_, s.data(), static_cast<int>(s.size()));
  else out_.append(s);
  flush();
}

void SmtpClient::flush() {
  if (out_.empty() || !tcp_) return;
  auto* w = new WriteReq;
  w->data.swap(out_);
  w->req.data = w;
  uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &b, 1, [](uv_write_t* r, int) { delete static_cast<WriteReq*>(r->data); });
}

void SmtpClient::send_ehlo() { send("EHLO " + job_.helo + "\r\n"); }

// RFC 6531 3.4: what needs SMTPUTF8 is never sent to a server without it,
// nor downgraded. A UTF-8 sender or header field fails every recipient; a
// UTF-8 recipient fails alone, and the others go without SMTPUTF8. It is a
// permanent failure, as in Postfix: the next hop's software decides, and
// it will say the same on the next attempt.
void SmtpClient::send_mail() {
  bool utf8_rcpt = false;
  for (auto& r : job_.recipients) utf8_rcpt |= has_8bit(r);
  bool utf8_all = has_8bit(job_.sender) || (job_.smtputf8 && has_8bit(header_section(*job_.message)));
  if (!offers_utf8_ && (utf8_all || utf8_rcpt)) {
    ClientReply no{553, "553 5.6.7 SMTPUTF8 is required, but the next hop does not support it"};
    bool left = false;
    for (size_t i = 0; i < results_.size(); i++) {
      if (utf8_all || has_8bit(job_.recipients[i])) results_[i] = no;
      else left = true;
    }
    if (!left) return quit(no);
  }
  step_ = Step::mail;
  std::string cmd = "MAIL FROM:<" + job_.sender + ">";
  if (offers_size_) cmd += " SIZE=" + std::to_string(job_.message->size());
  if (offers_8bit_) cmd += " BODY=8BITMIME";
  if (offers_utf8_ && (job_.smtputf8 || utf8_all || utf8_rcpt)) cmd += " SMTPUTF8";
  if (offers_dsn_) cmd += job_.dsn_mail;
  send(cmd + "\r\n");
}

// The handshake's first flight; received() goes on with it.
void SmtpClient::start_tls() {
  ssl_ = SSL_new(job_.tls_verify ? job_.tls_verify.get() : client_tls_context());
  if (job_.tls_verify) verify_peer_name(ssl_, job_.tls_name);
  BIO* bio = new_transport_bio(this);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_connect_state(ssl_);
  handshaking_ = true;
  offers_auth_plain_ = false;  // only what the server says inside TLS counts
  in_.clear();
  SSL_do_handshake(ssl_);
  flush();
}

// AUTH when the job has a login, and only inside TLS: a password is never
// sent where anyone on the path could read it. Without TLS or AUTH PLAIN
// the attempt fails for every recipient, to be retried, as Postfix defers.
void SmtpClient::after_ehlo() {
  if (job_.tls_verify && !ssl_) return quit({0, "the relay host offers no STARTTLS (smtp_relayhost_tls_verify is on)"});
  if (job_.auth_user.empty()) return send_mail();
  if (!ssl_) return quit({0, "the relay host offers no STARTTLS: the password is not sent in clear"});
  if (!offers_auth_plain_) return quit({0, "the relay host offers no AUTH PLAIN"});
  step_ = Step::auth;
  send("AUTH PLAIN " + base64_encode(std::string(1, '\0') + job_.auth_user + '\0' + job_.auth_password) + "\r\n");
}

void SmtpClient::send_next_rcpt() {
  step_ = Step::rcpt;
  std::string params = offers_dsn_ && rcpt_index_ < job_.dsn_rcpt.size() ? job_.dsn_rcpt[rcpt_index_] : "";
  send("RCPT TO:<" + job_.recipients[rcpt_index_] + ">" + params + "\r\n");
}

// RCPT for the next recipient without an answer yet (send_mail may have
// refused some), then DATA, or QUIT when nobody was accepted.
void SmtpClient::next_rcpt() {
  while (rcpt_index_ < job_.recipients.size() && results_[rcpt_index_].code != 0) rcpt_index_++;
  if (rcpt_index_ < job_.recipients.size()) return send_next_rcpt();
  if (!any_accepted_) {
    return quit({0, "no recipient accepted"});
  }
  step_ = Step::data;
  send("DATA\r\n");
}

void SmtpClient::on_reply(int code, const std::string& text, const std::vector<std::string>& lines) {
  ClientReply reply{code, text};
  switch (step_) {
    case Step::greeting:
      if (code / 100 != 2) {
        last_error_ = "greeting: " + text;
        return close_socket(true);
      }
      step_ = Step::ehlo;
      return send_ehlo();
    case Step::ehlo:
    case Step::tls_ehlo:
      if (code / 100 != 2) {
        if (step_ == Step::tls_ehlo) return fail_connection("EHLO after STARTTLS: " + text);
        step_ = Step::helo;
        return send("HELO " + job_.helo + "\r\n");
      }
      for (auto& l : lines) {
        std::string ext = l.size() > 4 ? l.substr(4) : "";
        for (char& ch : ext) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
        offers_starttls_ |= ext == "STARTTLS";
        offers_8bit_ |= ext == "8BITMIME";
        offers_utf8_ |= ext == "SMTPUTF8";
        offers_dsn_ |= ext == "DSN";
        offers_size_ |= ext.rfind("SIZE", 0) == 0;
        if (ext.rfind("AUTH ", 0) == 0 && (" " + ext + " ").find(" PLAIN ") != std::string::npos)
          offers_auth_plain_ = true;
      }
      if (offers_starttls_ && !ssl_) {
        step_ = Step::starttls;
        return send("STARTTLS\r\n");
      }
      return after_ehlo();
    case Step::helo:
      if (code / 100 != 2) return fail_connection("HELO: " + text);
      return after_ehlo();
    case Step::starttls:
      if (code != 220) return after_ehlo();  // TLS is opportunistic: go on without it
      return start_tls();
    case Step::auth:
      if (code != 235) return quit({0, "AUTH to the relay host failed: " + text});
      return send_mail();
    case Step::mail:
      if (code / 100 != 2) {
        for (auto& r : results_)
          if (r.code == 0) r = reply;  // not those send_mail refused
        return quit(reply);
      }
      rcpt_index_ = 0;
      return next_rcpt();
    case Step::rcpt:
      results_[rcpt_index_++] = reply;
      any_accepted_ |= reply.ok();
      return next_rcpt();
    case Step::data:
    case Step::body:
      if (step_ == Step::data && code == 354) {
        step_ = Step::body;
        return send(dot_stuff(*job_.message));
      }
      for (auto& r : results_)
        if (r.ok()) r = reply;  // the final word on every accepted recipient
      return quit(reply);
    case Step::connect:
    case Step::quit: return;
  }
}

// Before MAIL, another address may do better; after it, the attempt is over.
void SmtpClient::fail_connection(const std::string& why) {
  if (done_called_) return;
  last_error_ = why;
  if (step_ <= Step::tls_ehlo) return close_socket(true);
  finish({0, why});
}

// The transaction is over, by the server's word or ours: a polite QUIT,
// then the replies are handed over.
void SmtpClient::quit(const ClientReply& everyone_else) {
  final_ = true;
  step_ = Step::quit;
  send("QUIT\r\n");
  finish(everyone_else);
}

void SmtpClient::finish(const ClientReply& rest) {
  if (done_called_) return;
  done_called_ = true;
  // No answer, or accepted at RCPT but the message never confirmed: rest.
  for (auto& r : results_) {
    if (r.code == 0 || (!final_ && r.ok())) r = rest;
    r.dsn = r.ok() && offers_dsn_;
  }
  uv_timer_stop(timer_);
  auto done = std::move(done_);
  auto results = std::move(results_);
  done(std::move(results));
  close_socket(false);
}

void SmtpClient::close_socket(bool then_retry) {
  if (!tcp_) {
    if (then_retry) try_next_address();
    else if (done_called_) retire();
    return;
  }
  uv_tcp_t* t = tcp_;
  tcp_ = nullptr;
  t->data = then_retry ? this : nullptr;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(t));
  if (!then_retry && done_called_) {
    // Shut down after the queued QUIT is written, then close; the client
    // itself is done now.
    auto* req = new uv_shutdown_t;
    auto close_tcp = [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); };
    if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(t), [](uv_shutdown_t* r, int) {
          uv_close(reinterpret_cast<uv_handle_t*>(r->handle), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
          delete r;
        }) != 0) {
      delete req;
      uv_close(reinterpret_cast<uv_handle_t*>(t), close_tcp);
    }
    retire();
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) {
    auto* c = static_cast<SmtpClient*>(h->data);
    delete reinterpret_cast<uv_tcp_t*>(h);
    if (c) c->try_next_address();
  });
}

}  // namespace gannet::smtp
