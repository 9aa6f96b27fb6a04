#include "connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <unistd.h>

#include <cstring>

#include "core_module.h"
#include "listen_addr.h"
#include "log.h"
#include "tls.h"
#include "worker.h"

namespace gannet {

Connection::Connection(Worker& w, const ServerConf& srv, bool implicit_tls)
    : worker_(w), srv_(srv), reader_(srv.protocol->line_end, srv.protocol->max_line), implicit_tls_(implicit_tls) {}

Connection::~Connection() {
  session_.reset();
  if (ssl_) SSL_free(ssl_);
  worker_.buffers().give(in_);
  worker_.buffers().give(raw_);
}

void Connection::start(int fd) {
  uv_tcp_init(worker_.loop(), &tcp_);
  uv_timer_init(worker_.loop(), &timer_);
  tcp_.data = timer_.data = this;
  handles_open_ = 2;
  worker_.add(this);
  started_ms_ = uv_now(worker_.loop());
  if (uv_tcp_open(&tcp_, fd) != 0) {
    ::close(fd);
    abort("cannot take the socket");
    return;
  }
  uv_tcp_nodelay(&tcp_, 1);
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) peer_ = sockaddr_text(ss);
  session_ = srv_.protocol->make_session(*this);
  if (implicit_tls_) {
    if (!start_tls()) abort("no tls");
  } else {
    started_ = true;
    session_->on_start();
  }
  update_reading();
  arm_timer();
  flush();
}

// --- input ---

void Connection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  Buffer& b = c->ssl_ || c->z_ ? c->raw_ : c->in_;
  if (!b.data) {
    size_t want = c->ssl_ || c->z_ ? 0 : c->srv_.protocol->max_line + 2;
    b = c->worker_.buffers().take(want);
  }
  b.compact();
  *buf = uv_buf_init(b.space(), static_cast<unsigned>(b.space_left()));
}

void Connection::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t*) {
  auto* c = static_cast<Connection*>(s->data);
  if (n > 0) {
    c->received(n);
    return;
  }
  if (n == 0) return;  // EAGAIN
  c->release_idle_buffers();
  if (n == UV_EOF) c->peer_finished();
  else c->abort(n == UV_ENOBUFS ? "input overflow" : uv_strerror(static_cast<int>(n)));
}

void Connection::received(ssize_t n) {
  bytes_in_ += n;
  (ssl_ || z_ ? raw_ : in_).end += n;
  process_input();
  arm_timer();
}

int Connection::bio_read(char* out, int len) {
  size_t n = std::min<size_t>(len, raw_.end - raw_.start);
  if (n) memcpy(out, raw_.data + raw_.start, n);
  raw_.consume(n);
  return static_cast<int>(n);
}

void Connection::bio_write(const char* data, int len) { wire_out_.append(data, len); }

// Advances the handshake, then decrypts into in_ while it has room.
void Connection::tls_input() {
  if (handshaking_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        GLOG(Level::info, "TLS handshake with %s failed: %s", peer_.c_str(), tls_error_text().c_str());
        abort("tls handshake failed");
      }
      return;
    }
    handshaking_ = false;
    if (!early_out_.empty()) {
      std::string early;
      early.swap(early_out_);
      write(early);
    }
    if (!started_) {
      started_ = true;
      session_->on_start();
    }
  }
  Buffer& plain = z_ ? zraw_ : in_;  // compressed, it is inflated next
  while (!closing_) {
    if (!plain.data) plain = worker_.buffers().take(z_ ? 0 : srv_.protocol->max_line + 2);
    plain.compact();
    if (plain.space_left() == 0) return;
    int r = SSL_read(ssl_, plain.space(), static_cast<int>(std::min<size_t>(plain.space_left(), INT32_MAX)));
    if (r > 0) {
      plain.end += r;
      continue;
    }
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ) return;
    if (err == SSL_ERROR_ZERO_RETURN) close("client closed");
    else abort("tls error");
    return;
  }
}

// Inflates what came compressed into in_ while in_ has room.
void Connection::inflate_input() {
  Buffer& src = ssl_ ? zraw_ : raw_;
  while (!closing_ && !src.empty()) {
    if (!in_.data) in_ = worker_.buffers().take(srv_.protocol->max_line + 2);
    in_.compact();
    if (in_.space_left() == 0) return;
    size_t used = 0, made = 0;
    if (!z_->inflate(src.content(), in_.space(), in_.space_left(), used, made)) return abort("compression error");
    src.consume(used);
    in_.end += made;
    if (used == 0 && made == 0) return;
  }
}

void Connection::process_input() {
  if (processing_) return;  // a session callback re-entered: the loop below goes on
  processing_ = true;
  for (;;) {
    if (ssl_ && !closing_) tls_input();
    if (z_ && !closing_) inflate_input();
    if (closing_ || paused_ || in_.empty()) break;
    size_t before = in_.end - in_.start;
    while (!closing_ && !paused_ && !in_.empty()) {
      if (bytes_left_ > 0) {
        size_t n = std::min<uint64_t>(bytes_left_, in_.end - in_.start);
        std::string_view chunk(in_.data + in_.start, n);
        bytes_left_ -= n;
        in_.consume(n);
        session_->on_bytes(chunk, bytes_left_ == 0);
        if (bytes_left_ == 0 && in_.empty()) ack_now();
        continue;
      }
      std::string_view line;
      size_t used = 0;
      auto r = reader_.next(in_.content(), line, used);
      in_.consume(used);
      if (r == LineReader::Result::line) session_->on_line(line);
      else if (r == LineReader::Result::too_long) session_->on_line_too_long(line);
      else break;
    }
    // Stop unless TLS or inflating may have more now that in_ has room.
    if ((!ssl_ && !z_) || (in_.end - in_.start) == before) break;
  }
  processing_ = false;
  release_idle_buffers();
  flush();
  update_reading();
  // Every whole line the client sent before its EOF is answered; what is
  // left, if anything, is a line it never finished.
  if (peer_done_ && !paused_) close("client closed");
}

// The client shut its side: a paused session (its message committing)
// still owes replies to what came before, so the close waits for
// process_input to have answered all of it.
void Connection::peer_finished() {
  peer_done_ = true;
  process_input();
}

void Connection::release_idle_buffers() {
  if (in_.empty() && in_.data) worker_.buffers().give(in_);
  if (raw_.empty() && raw_.data) worker_.buffers().give(raw_);
  if (zraw_.empty() && zraw_.data) worker_.buffers().give(zraw_);
}

void Connection::read_bytes(uint64_t n) { bytes_left_ = n; }

sockaddr_storage Connection::peer_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) ss.ss_family = AF_UNSPEC;
  return ss;
}

// A literal or chunk has all come and the line after it has not: a client
// that wrote the two apart (Python's imaplib) holds that short line back
// under Nagle until our ACK, which Linux would delay 40 ms. ACK at once.
void Connection::ack_now() {
  uv_os_fd_t fd;
  int on = 1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) == 0) setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

void Connection::pause() {
  paused_ = true;
  update_reading();
}

void Connection::resume() {
  if (!paused_) return;
  paused_ = false;
  if (!processing_) process_input();
}

// Paused, the socket is still read while the buffer the bytes land in has
// room; they wait there. A paused client is mostly one waiting for our
// reply, which sends nothing, and stopping and restarting the reads costs
// libuv two or three epoll_ctl calls each time: a tenth of the CPU an SMTP
// message costs.
void Connection::update_reading() {
  if (closed_) return;
  const Buffer& landing = ssl_ ? raw_ : in_;
  bool room = !landing.data || landing.end - landing.start < landing.cap;
  bool want = !closing_ && !peer_done_ && (handshaking_ || ((!paused_ || room) &&
                                             pending_output() < *srv_.conf<MailSrvConf>(mail_module).max_output));
  if (want == reading_) return;
  reading_ = want;
  auto* s = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (want) uv_read_start(s, on_alloc, on_read);
  else uv_read_stop(s);
}

// --- TLS ---

bool Connection::can_start_tls() const { return srv_.tls && !ssl_; }

bool Connection::start_tls() {
  if (!can_start_tls()) return false;
  ssl_ = srv_.tls->new_server_ssl();
  if (!ssl_) return false;
  BIO* bio = new_transport_bio(this);
  SSL_set_bio(ssl_, bio, bio);
  // CVE-2011-0411: whatever followed the STARTTLS command in plaintext is
  // the attacker's, not the client's: drop it.
  in_.start = in_.end = 0;
  reader_.reset();
  bytes_left_ = 0;
  handshaking_ = true;
  return true;
}

bool Connection::start_compression() {
  if (z_) return false;
  auto z = std::make_unique<Compression>();
  if (!z->ok()) return false;
  z_ = std::move(z);
  // What the client sent after the command is compressed: it moves to
  // where compressed input waits, ahead of anything read later.
  Buffer& dst = ssl_ ? zraw_ : raw_;
  std::string rest(in_.content());
  in_.start = in_.end = 0;
  if (!rest.empty()) {
    std::string later(dst.content());
    if (dst.data) dst.start = dst.end = 0;
    std::string all = rest + later;
    if (!dst.data || dst.cap < all.size()) {
      if (dst.data) worker_.buffers().give(dst);
      dst = worker_.buffers().take(all.size());
    }
    memcpy(dst.data, all.data(), all.size());
    dst.end = all.size();
  }
  return true;
}

// --- output ---

void Connection::write(std::string_view data) {
  if (closed_) return;
  std::string deflated;
  if (z_) {
    z_->deflate(data, deflated);
    data = deflated;
  }
  if (ssl_) {
    if (handshaking_) {  // said before the handshake ends: sent once it has
      early_out_.append(data);
      return;
    }
    while (!data.empty()) {
      int n = SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
      if (n <= 0) {
        abort("tls write error");
        return;
      }
      data.remove_prefix(n);
    }
  } else if (processing_ || pending_output() > 0) {
    wire_out_.append(data);
  } else {
    return send_now(data);
  }
  if (!processing_) flush();
}

// Nothing is queued: the socket takes what it can straight from the
// caller's memory (a message in the store's map), and only the rest is
// copied to wait for it.
void Connection::send_now(std::string_view data) {
  bytes_out_ += data.size();  // on the wire, as bytes_in_: all of it goes now or via inflight_
  uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  if (n == static_cast<int>(data.size())) return sent_all();
  if (n < 0 && n != UV_EAGAIN) return abort("write error");
  wire_out_.assign(data.substr(n > 0 ? static_cast<size_t>(n) : 0));
  send_rest();
}

void Connection::flush() {
  if (closed_ || !inflight_.empty() || wire_out_.empty()) return;
  bytes_out_ += wire_out_.size();
  uv_buf_t buf = uv_buf_init(wire_out_.data(), static_cast<unsigned>(wire_out_.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  if (n == static_cast<int>(wire_out_.size())) {
    std::string().swap(wire_out_);
    return sent_all();
  }
  if (n < 0 && n != UV_EAGAIN) return abort("write error");
  if (n > 0) wire_out_.erase(0, n);
  send_rest();
}

void Connection::sent_all() {
  if (closing_) return finish_close();
  writable();
}

// What the socket did not take goes when it can: inflight_ until written.
void Connection::send_rest() {
  inflight_.swap(wire_out_);
  uv_buf_t buf = uv_buf_init(inflight_.data(), static_cast<unsigned>(inflight_.size()));
  write_req_.data = this;
  uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, on_written);
  update_reading();
}

void Connection::on_written(uv_write_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  std::string().swap(c->inflight_);
  if (c->closed_) return;
  if (status < 0) {
    c->abort("write error");
    return;
  }
  c->flush();
  if (c->closed_) return;
  if (c->closing_ && c->pending_output() == 0) return c->finish_close();
  c->writable();
  if (!c->closed_) c->update_reading();
}

// Tells the session its output drained, as often as it asks while the
// queue stays low; a write inside on_writable that flushes comes back
// here and is caught by the loop instead of recursing.
void Connection::writable() {
  if (notifying_ || closed_) return;
  notifying_ = true;
  while (want_writable_ && !closed_ && !closing_ &&
         pending_output() < *srv_.conf<MailSrvConf>(mail_module).max_output / 4) {
    want_writable_ = false;
    session_->on_writable();  // may write, close, or ask again
  }
  notifying_ = false;
}

// --- timers and closing ---

void Connection::arm_timer() {
  if (closed_) return;
  auto& mc = srv_.conf<MailSrvConf>(mail_module);
  bool mid_command = handshaking_ || bytes_left_ > 0 || !in_.empty() || closing_;
  uint64_t idle = idle_timeout_ms_ ? idle_timeout_ms_ : *mc.timeout;
  uv_timer_start(&timer_, on_timer, mid_command ? *mc.command_timeout : idle, 0);
}

void Connection::set_idle_timeout(uint64_t ms) {
  idle_timeout_ms_ = ms;
  arm_timer();
}

void Connection::notify_when_writable() { want_writable_ = true; }

bool Connection::output_full() const { return pending_output() >= *srv_.conf<MailSrvConf>(mail_module).max_output; }

void Connection::on_timer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c->closing_) {
    c->abort("close timed out");
    return;
  }
  if (c->started_ && c->session_->on_timeout()) {
    c->arm_timer();
    return;
  }
  c->close("timeout");
}

// A connection still in its handshake was accepted all the same: it is
// served like the others (its handshake timeout and worker_shutdown_timeout
// bound it), so a client that connects during a reload is never dropped.
void Connection::drain() {
  if (started_ && !handshaking_) session_->on_drain();
}

void Connection::close(std::string_view result) {
  if (closing_) return;
  closing_ = true;
  result_ = result;
  update_reading();
  if (ssl_ && !handshaking_) SSL_shutdown(ssl_);  // queues close_notify
  arm_timer();
  flush();
  if (!closed_ && pending_output() == 0) finish_close();
}

void Connection::finish_close() {
  if (closed_ || shutdown_req_.data) return;  // once: close() and a flush inside it both come here
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), on_shutdown) != 0) abort(result_);
}

void Connection::on_shutdown(uv_shutdown_t* req, int) {
  auto* c = static_cast<Connection*>(req->data);
  c->abort(c->result_);
}

void Connection::abort(std::string_view result) {
  if (closed_) return;
  if (!closing_ || result_ == "ok") result_ = result;
  closing_ = closed_ = true;
  log_session();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
}

void Connection::on_closed(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (--c->handles_open_ > 0) return;
  c->worker_.remove(c);
  delete c;
}

void Connection::log_session() {
  if (!srv_.session_log) return;
  char line[512];
  uint64_t ms = uv_now(worker_.loop()) - started_ms_;
  int n = snprintf(line, sizeof line, "client=%s protocol=%.*s tls=%s user=%s in=%llu out=%llu duration=%llu.%03llu result=%s\n",
                   peer_.c_str(), static_cast<int>(srv_.protocol->name.size()), srv_.protocol->name.data(),
                   ssl_ ? "yes" : "no", user_.empty() ? "-" : user_.c_str(),
                   static_cast<unsigned long long>(bytes_in_), static_cast<unsigned long long>(bytes_out_),
                   static_cast<unsigned long long>(ms / 1000), static_cast<unsigned long long>(ms % 1000),
                   result_.c_str());
  srv_.session_log->write(timestamp() + " " + std::string(line, std::min<size_t>(n, sizeof line - 1)));
}

}  // namespace gannet
