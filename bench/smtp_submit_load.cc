// smtp_submit_load: SMTP submission from C++, for dkim_submission.py. One
// thread a client, blocking sockets, loopback only. Each client logs in
// (AUTH PLAIN, on a server that allows it without TLS), then sends SIZE-
// octet messages from USER to RCPT one after the other, each counted when
// its 250 (durable) came within the window. Prints messages and the
// client's CPU seconds over the window.
//
//   smtp_submit_load PORT USER PASSWORD RCPT CLIENTS SIZE WARMUP_S SECONDS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "base64.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string buf, error;

  ~Conn() {
    if (fd >= 0) close(fd);
  }
  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }
  // Reads a reply (its last line); true if it starts with `code`.
  bool reply(const char* code) {
    for (;;) {
      size_t nl;
      while ((nl = buf.find("\r\n")) == std::string::npos) {
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) return fail("connection closed");
        buf.append(tmp, static_cast<size_t>(n));
      }
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      if (line.size() > 3 && line[3] == '-') continue;  // a reply's inner line
      return line.compare(0, 3, code) == 0 || fail(line);
    }
  }
  bool send_all(const std::string& s) {
    if (::send(fd, s.data(), s.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(s.size())) return fail("send failed");
    return true;
  }
  bool open(int port, const std::string& user, const std::string& password) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("connect failed");
    std::string plain = std::string(1, '\0') + user + std::string(1, '\0') + password;
    return reply("220") && send_all("EHLO bench.example\r\n") && reply("250") &&
           send_all("AUTH PLAIN " + gannet::base64_encode(plain) + "\r\n") && reply("235");
  }
  bool message(const std::string& from, const std::string& rcpt, const std::string& body) {
    return send_all("MAIL FROM:<" + from + ">\r\n") && reply("250") && send_all("RCPT TO:<" + rcpt + ">\r\n") &&
           reply("250") && send_all("DATA\r\n") && reply("354") && send_all(body) && reply("250");
  }
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string message(const std::string& from, const std::string& rcpt, size_t size) {
  std::string m = "From: <" + from + ">\r\nTo: <" + rcpt +
                  ">\r\nSubject: submission benchmark\r\nDate: Tue, 08 Dec 2026 10:00:00 +0000\r\n"
                  "Message-ID: <bench@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n";
  for (int i = 0; m.size() < size; i++) m += "line " + std::to_string(i) + " of a message submitted and signed\r\n";
  return m + ".\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: smtp_submit_load PORT USER PASSWORD RCPT CLIENTS SIZE WARMUP_S SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  std::string user = argv[2], password = argv[3], rcpt = argv[4];
  int clients = atoi(argv[5]);
  std::string body = message(user, rcpt, strtoull(argv[6], nullptr, 10));
  double warmup = atof(argv[7]), seconds = atof(argv[8]);
  std::vector<Conn> conns(static_cast<size_t>(clients));
  for (auto& c : conns)
    if (!c.open(port, user, password)) {
      fprintf(stderr, "smtp_submit_load: %s\n", c.error.c_str());
      return 1;
    }
  std::vector<long> counts(static_cast<size_t>(clients));
  std::atomic<int> errors{0};
  auto start = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; i++) {
    threads.emplace_back([&, i] {
      Conn& c = conns[static_cast<size_t>(i)];
      for (;;) {
        auto t0 = Clock::now();
        if (t0 >= end) break;
        if (!c.message(user, rcpt, body)) {
          errors++;
          break;
        }
        if (t0 >= start && Clock::now() <= end) counts[static_cast<size_t>(i)]++;
      }
    });
  }
  std::this_thread::sleep_until(start);
  double cpu0 = cpu_seconds();
  std::this_thread::sleep_until(end);
  double cpu = cpu_seconds() - cpu0;
  for (auto& t : threads) t.join();
  long total = 0;
  for (long n : counts) total += n;
  for (auto& c : conns)
    if (!c.error.empty()) fprintf(stderr, "smtp_submit_load: %s\n", c.error.c_str());
  printf("messages\t%ld\nclient_cpu\t%.3f\nerrors\t%d\n", total, cpu, errors.load());
  return errors ? 1 : 0;
}
