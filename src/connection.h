// One client connection: socket, buffers, line reader, write queue, TLS and
// timeouts. Knows nothing of protocols: it feeds its Session lines or bytes.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "buffer.h"
#include "compression.h"
#include "line_reader.h"
#include "module.h"
#include "tls.h"

typedef struct ssl_st SSL;

namespace gannet {

class Worker;
struct ServerConf;
struct ListenAddr;

class Connection final : public TlsTransport {
 public:
  Connection(Worker& w, const ServerConf& srv, bool implicit_tls);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Takes the accepted socket and starts the session (or the handshake).
  void start(int fd);  // an accepted socket, now this connection's

  // --- for sessions ---
  void write(std::string_view data);
  // The next n bytes go to Session::on_bytes instead of on_line.
  void read_bytes(uint64_t n);
  // How the next lines end; the protocol's line_end until changed.
  void set_line_end(LineEnd end) { reader_.set_end(end); }
  // How long the client may stay silent between commands; 0: the
  // server's `timeout` (IMAP's IDLE and logged-in sessions wait longer).
  void set_idle_timeout(uint64_t ms);
  // Calls Session::on_writable once the queued output has drained below
  // a quarter of send_buffer_limit: a session that produces much output
  // (FETCH, RETR) writes a part, asks, and writes the next when told.
  void notify_when_writable();
  bool output_full() const;  // above send_buffer_limit
  // Stops handing input to the session until resume().
  void pause();
  void resume();
  // Begins TLS on this plaintext connection (STARTTLS). Bytes the client
  // sent after the command are discarded, never read as commands.
  bool start_tls();
  bool can_start_tls() const;
  // Compresses both ways from now on (IMAP COMPRESS=DEFLATE): what the
  // session wrote before goes as it is, what the client sent after the
  // command is compressed already. False if zlib would not start.
  bool start_compression();
  bool compressing() const { return z_ != nullptr; }
  bool is_tls() const { return ssl_ != nullptr; }
  // Sends what is queued, then closes. result goes to the session log.
  void close(std::string_view result = "ok");
  void abort(std::string_view result);  // closes now, dropping queued output
  void set_user(std::string_view u) { user_ = u; }

  const std::string& peer() const { return peer_; }
  // The peer's address, asked of the socket (not kept: 128 octets a
  // connection); family AF_UNSPEC if the socket cannot say.
  sockaddr_storage peer_address() const;
  const ServerConf& server() const { return srv_; }
  Worker& worker() const { return worker_; }
  size_t pending_output() const { return wire_out_.size() + inflight_.size(); }
  bool closing() const { return closing_; }

  // The worker asks every session to wrap up (graceful shutdown).
  void drain();
  // Intrusive list of the worker's connections.
  Connection* prev = nullptr;
  Connection* next = nullptr;

  // TlsTransport: TLS records come from raw_ and go to the output queue.
  int bio_read(char* out, int len) override;
  void bio_write(const char* data, int len) override;

 private:
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t*);
  static void on_read(uv_stream_t*, ssize_t, const uv_buf_t*);
  static void on_written(uv_write_t*, int);
  static void on_shutdown(uv_shutdown_t*, int);
  static void on_timer(uv_timer_t*);
  static void on_closed(uv_handle_t*);

  void received(ssize_t n);
  void tls_input();
  void inflate_input();
  void process_input();
  void flush();
  void ack_now();
  void send_now(std::string_view data);
  void sent_all();
  void send_rest();
  void writable();
  void update_reading();
  void arm_timer();
  void finish_close();
  void peer_finished();
  void release_idle_buffers();
  void log_session();

  Worker& worker_;
  const ServerConf& srv_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_write_t write_req_{};
  uv_shutdown_t shutdown_req_{};
  std::unique_ptr<Session> session_;
  LineReader reader_;
  Buffer in_;       // plaintext input
  Buffer raw_;      // TLS records not yet decrypted, or compressed input without TLS
  Buffer zraw_;     // compressed input decrypted, not yet inflated
  std::unique_ptr<Compression> z_;
  std::string wire_out_;   // bytes for the socket, not yet handed to libuv
  std::string inflight_;   // bytes libuv is writing
  std::string early_out_;  // plaintext written during a handshake
  SSL* ssl_ = nullptr;
  uint64_t bytes_left_ = 0;  // of a read_bytes run
  uint64_t bytes_in_ = 0, bytes_out_ = 0;  // on the wire (TLS records included)
  uint64_t started_ms_ = 0;
  uint64_t idle_timeout_ms_ = 0;
  std::string peer_;
  std::string user_;
  std::string result_ = "ok";
  bool implicit_tls_;
  bool handshaking_ = false;
  bool started_ = false;
  bool paused_ = false;
  bool peer_done_ = false;  // EOF read: close once what came before it is answered
  bool reading_ = false;
  bool processing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool want_writable_ = false;
  bool notifying_ = false;
  int handles_open_ = 0;
};

}  // namespace gannet
