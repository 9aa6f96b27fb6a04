// The connection layer in-process: a real worker loop and a client on a
// loopback socket pair, stepped in turn on one thread.
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "cycle.h"
#include "test_util.h"
#include "worker.h"

using namespace gannet;

namespace {

struct Rig {
  TempDir dir;
  std::unique_ptr<Cycle> cycle;
  std::unique_ptr<Worker> worker;
  int client = -1;
  std::string got;  // plaintext the client has received, not yet taken

  Rig() {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(lfd, 16) == 0);
    socklen_t len = sizeof a;
    getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    write_self_signed(dir.path, "cert", "localhost");
    dir.write("g.conf", "mail { ssl_certificate cert.pem; ssl_certificate_key cert.key;\n"
                        "server { listen 127.0.0.1:" + std::to_string(port) + "; protocol echo; echo_banner hi; } }\n");
    cycle = load_cycle(dir.path + "/g.conf", dir.path);
    worker = std::make_unique<Worker>(*cycle, 0, std::vector<int>{lfd});
    client = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    fcntl(client, F_SETFL, O_NONBLOCK);
  }

  ~Rig() {
    if (client >= 0) close(client);
    worker->shutdown(false);
    uv_run(worker->loop(), UV_RUN_DEFAULT);
  }

  // Runs the server loop and the client's poll in turn until done() or 5 s.
  template <class F>
  bool step_until(F done) {
    for (int i = 0; i < 5000 && !done(); i++) {
      uv_run(worker->loop(), UV_RUN_NOWAIT);
      pollfd p{client, POLLIN, 0};
      poll(&p, 1, 1);
    }
    return done();
  }

  void send_raw(std::string_view s) { REQUIRE(::send(client, s.data(), s.size(), 0) == static_cast<ssize_t>(s.size())); }

  bool read_raw() {
    char buf[4096];
    ssize_t n = recv(client, buf, sizeof buf, 0);
    if (n > 0) got.append(buf, n);
    return n > 0;
  }

  std::string line(SSL* ssl = nullptr) {
    auto have_line = [&] {
      if (ssl) {
        char buf[4096];
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n > 0) got.append(buf, n);
      } else {
        read_raw();
      }
      return got.find("\r\n") != std::string::npos;
    };
    REQUIRE(step_until(have_line));
    auto at = got.find("\r\n");
    std::string l = got.substr(0, at);
    got.erase(0, at + 2);
    return l;
  }
};

}  // namespace

TEST_CASE("STARTTLS upgrade discards plaintext pipelined after the command") {
  Rig rig;
  REQUIRE(rig.line() == "+OK hi");
  rig.send_raw("STARTTLS\r\nECHO injected\r\n");
  REQUIRE(rig.line() == "+OK begin TLS");
  // Give the server every chance to answer the injected line in plaintext.
  for (int i = 0; i < 50; i++) uv_run(rig.worker->loop(), UV_RUN_NOWAIT);
  rig.read_raw();
  REQUIRE(rig.got.empty());

  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, rig.client);
  SSL_set_connect_state(ssl);
  REQUIRE(rig.step_until([&] { return SSL_do_handshake(ssl) == 1; }));

  SSL_write(ssl, "TLS\r\nPING\r\n", 11);
  REQUIRE(rig.line(ssl) == "+yes");
  REQUIRE(rig.line(ssl) == "+PONG");  // not "+injected"

  SECTION("a 1 MiB line over TLS is refused and memory stays bounded") {
    std::string big(1u << 20, 'x');
    big += "\r\nPING\r\n";
    size_t before = mallinfo2().uordblks, peak = before, off = 0;
    REQUIRE(rig.step_until([&] {
      if (off < big.size()) {
        int n = SSL_write(ssl, big.data() + off, static_cast<int>(std::min<size_t>(big.size() - off, 16384)));
        if (n > 0) off += n;
      }
      peak = std::max(peak, mallinfo2().uordblks);
      return off == big.size();
    }));
    REQUIRE(rig.line(ssl) == "-ERR line too long");
    REQUIRE(rig.line(ssl) == "+PONG");
    INFO("heap grew by " << (peak - before) << " bytes");
    REQUIRE(peak - before < 256u * 1024);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
}

TEST_CASE("STARTTLS without a certificate is refused") {
  TempDir dir;
  dir.write("g.conf", "mail { server { listen 127.0.0.1:1; protocol echo; } }\n");
  auto cycle = load_cycle(dir.path + "/g.conf", dir.path);
  REQUIRE(cycle->servers[0]->tls == nullptr);
}
