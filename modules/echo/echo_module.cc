// "protocol echo;": a tiny line protocol for checking a listener by hand and
// for the core's own integration tests. It exercises every part of the
// module API a real protocol uses: directives, lines, byte runs, STARTTLS,
// filter phases, drain and timeouts.
//
//   PING            +PONG
//   ECHO text       +text
//   WHO             +worker SLOT pid PID
//   TLS             +yes / +no
//   STARTTLS        +OK begin TLS, then the handshake
//   BYTES n         reads n raw bytes, then +got n
//   MSG text        runs the message phase, then +stored TEXT or -ERR reply
//   QUIT            +BYE
#include <unistd.h>

#include <charconv>
#include <string>

#include "connection.h"
#include "cycle.h"
#include "mail/message_buffer.h"
#include "module.h"
#include "worker.h"

namespace gannet {

extern Module echo_module;

namespace {

struct EchoConf : ModuleConf {
  std::optional<std::string> banner;
};

const Directive echo_directives[] = {
    {"echo_banner", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_str<&EchoConf::banner>},
};

bool verb_is(std::string_view line, std::string_view verb, std::string_view& arg) {
  if (line.size() < verb.size()) return false;
  for (size_t i = 0; i < verb.size(); i++)
    if ((line[i] & ~0x20) != verb[i]) return false;
  if (line.size() == verb.size()) { arg = {}; return true; }
  if (line[verb.size()] != ' ') return false;
  arg = line.substr(verb.size() + 1);
  return true;
}

// Header fields a filter added, on the reply's one line: "[F: v] [G: w] ".
std::string one_line(std::string_view fields) {
  std::string out;
  for (size_t end; (end = fields.find("\r\n")) != std::string_view::npos; fields.remove_prefix(end + 2))
    out += "[" + std::string(fields.substr(0, end)) + "] ";
  return out;
}

class EchoSession final : public Session {
 public:
  explicit EchoSession(Connection& c) : conn_(c), run_(Phase::connect, c, c.server(), envelope_) {}

  void on_start() override {
    envelope_.begin(conn_);
    run_.phase = Phase::connect;
    run_.argument = conn_.peer();
    run_.done = [this](PhaseRun& r, FilterStatus st) {
      if (st == FilterStatus::reject) {
        conn_.write("-ERR " + r.verdict.text + "\r\n");
        conn_.close("rejected");
        return;
      }
      conn_.write("+OK " + *conn_.server().conf<EchoConf>(echo_module).banner + "\r\n");
    };
    run_phase(run_);
  }

  void on_line(std::string_view line) override {
    std::string_view arg;
    if (verb_is(line, "PING", arg)) conn_.write("+PONG\r\n");
    else if (verb_is(line, "ECHO", arg)) reply("+", arg);
    else if (verb_is(line, "WHO", arg))
      conn_.write("+worker " + std::to_string(conn_.worker().slot()) + " pid " + std::to_string(getpid()) + "\r\n");
    else if (verb_is(line, "TLS", arg)) conn_.write(conn_.is_tls() ? "+yes\r\n" : "+no\r\n");
    else if (verb_is(line, "STARTTLS", arg)) starttls();
    else if (verb_is(line, "BYTES", arg)) bytes(arg);
    else if (verb_is(line, "MSG", arg)) message(arg);
    else if (verb_is(line, "QUIT", arg)) {
      conn_.write("+BYE\r\n");
      conn_.close();
    } else {
      conn_.write("-ERR unknown command\r\n");
    }
  }

  void on_line_too_long(std::string_view) override { conn_.write("-ERR line too long\r\n"); }

  void on_bytes(std::string_view chunk, bool last) override {
    got_ += chunk.size();
    if (last) conn_.write("+got " + std::to_string(got_) + "\r\n");
  }

  bool on_timeout() override {
    conn_.write("-ERR timeout\r\n");
    return false;
  }

 private:
  void reply(std::string_view prefix, std::string_view text) {
    std::string out(prefix);
    out.append(text).append("\r\n");
    conn_.write(out);
  }

  void starttls() {
    if (!conn_.can_start_tls()) {
      conn_.write("-ERR TLS not available\r\n");
      return;
    }
    conn_.write("+OK begin TLS\r\n");
    conn_.start_tls();
  }

  void bytes(std::string_view arg) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
    if (ec != std::errc() || p != arg.data() + arg.size() || n == 0) {
      conn_.write("-ERR bad count\r\n");
      return;
    }
    got_ = 0;
    conn_.read_bytes(n);
  }

  void message(std::string_view text) {
    // In memory only: a line is far below any spill size.
    message_ = mail::MessageBuffer::create(conn_.worker().loop(), "", text.size() + 1);
    message_->append(text);
    run_.new_transaction();
    run_.phase = Phase::message;
    run_.argument = {};
    run_.message = message_;
    run_.done = [this](PhaseRun& r, FilterStatus st) {
      const Verdict& v = r.verdict;
      if (st == FilterStatus::reject) reply(v.kind == Verdict::tempfail ? "-TEMP " : "-ERR ", v.text);
      else reply(v.kind == Verdict::file_into ? "+stored in " + v.mailbox + " " : "+stored ",
                 one_line(r.added_headers()) + message_->start());
      conn_.resume();
    };
    conn_.pause();  // pipelined commands wait for the filters
    run_phase(run_);
  }

  Connection& conn_;
  Envelope envelope_;
  PhaseRun run_;
  std::shared_ptr<mail::MessageBuffer> message_;
  uint64_t got_ = 0;
};

std::unique_ptr<Session> make_session(Connection& c) { return std::make_unique<EchoSession>(c); }

const Protocol echo_protocol{
    .name = "echo", .default_port = 7, .default_ssl_port = 0,
    .line_end = LineEnd::lf, .max_line = 4096, .make_session = make_session,
    .busy_reply = [](const ServerConf&) { return std::string("-ERR busy\r\n"); }};

std::unique_ptr<ModuleConf> create_conf() { return std::make_unique<EchoConf>(); }

std::string merge_conf(const ModuleConf& parent, ModuleConf& child) {
  merge(static_cast<EchoConf&>(child).banner, static_cast<const EchoConf&>(parent).banner, "gannet echo ready");
  return {};
}

}  // namespace

Module echo_module{.name = "echo", .directives = echo_directives,
                   .create_srv_conf = create_conf, .merge_srv_conf = merge_conf,
                   .protocol = &echo_protocol};

}  // namespace gannet
