// pop3_load: RETR throughput from C++, for pop3_bench.py. One thread a
// client, blocking sockets, loopback only. Client i logs in as the user
// named by USER_FORMAT with i in place of %d, LISTs its maildrop, keeps the
// messages whose size is in [MIN_SIZE, MAX_SIZE], and RETRs them in turn
// until the window ends. Every answer is checked: +OK, the terminating
// ".", and as many octets, once byte-stuffing is undone, as LIST said. A
// RETR counts when it began and ended within the window. Prints messages,
// octets and the client's CPU seconds over the window.
//
//   pop3_load PORT USER_FORMAT PASSWORD CLIENTS MIN_SIZE MAX_SIZE WARMUP_S SECONDS
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
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string buf;  // received, not yet consumed
  std::string error;

  ~Conn() {
    if (fd >= 0) close(fd);
  }
  bool fill() {
    char tmp[1 << 16];
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return fail("connection closed");
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }
  bool open(int port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("connect failed");
    return status_line();
  }
  bool send_line(const std::string& text) {
    std::string out = text + "\r\n";
    if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
      return fail("send failed");
    return true;
  }
  // Reads a status line; true if it is +OK.
  bool status_line() {
    size_t nl;
    while ((nl = buf.find("\r\n")) == std::string::npos)
      if (!fill()) return false;
    bool ok = buf.compare(0, 3, "+OK") == 0;
    if (!ok) fail(buf.substr(0, nl));
    buf.erase(0, nl + 2);
    return ok;
  }
  // Reads a multi-line body up to its "." line; sets `octets` to its size
  // with byte-stuffing undone and returns the body (still stuffed).
  bool multi_line(std::string* body, size_t* octets) {
    size_t end;
    size_t from = 0;
    for (;;) {
      if (buf.compare(0, 3, ".\r\n") == 0) {
        end = 0;
        break;
      }
      end = buf.find("\r\n.\r\n", from);
      if (end != std::string::npos) {
        end += 2;
        break;
      }
      from = buf.size() > 4 ? buf.size() - 4 : 0;
      if (!fill()) return false;
    }
    size_t stuffed = buf.compare(0, 2, "..") == 0;
    for (size_t p = buf.find("\n..", 0); p != std::string::npos && p < end; p = buf.find("\n..", p + 1)) stuffed++;
    *octets = end - stuffed;
    if (body) body->assign(buf, 0, end);
    buf.erase(0, end + 3);
    return true;
  }
  bool command(const std::string& text) { return send_line(text) && status_line(); }
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Message {
  unsigned number;
  size_t size;
};

// Logs in and LISTs; the messages whose size is within [min, max].
bool open_maildrop(Conn& c, int port, const std::string& user, const std::string& password, size_t min,
                   size_t max, std::vector<Message>* out) {
  if (!c.open(port) || !c.command("USER " + user) || !c.command("PASS " + password) || !c.command("LIST"))
    return false;
  std::string list;
  size_t octets;
  if (!c.multi_line(&list, &octets)) return false;
  for (size_t at = 0; at < list.size();) {
    unsigned n = 0;
    unsigned long long size = 0;
    if (sscanf(list.c_str() + at, "%u %llu", &n, &size) == 2 && size >= min && size <= max)
      out->push_back({n, static_cast<size_t>(size)});
    at = list.find("\r\n", at) + 2;
  }
  if (out->empty()) return c.fail("no message of that size in the maildrop of " + user);
  return true;
}

std::string user_name(const char* format, int i) {
  std::string f(format);
  size_t at = f.find("%d");
  return at == std::string::npos ? f : f.substr(0, at) + std::to_string(i) + f.substr(at + 2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: pop3_load PORT USER_FORMAT PASSWORD CLIENTS MIN_SIZE MAX_SIZE WARMUP_S SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  std::string password = argv[3];
  int clients = atoi(argv[4]);
  size_t min = strtoull(argv[5], nullptr, 10), max = strtoull(argv[6], nullptr, 10);
  double warmup = atof(argv[7]), seconds = atof(argv[8]);
  std::vector<Conn> conns(static_cast<size_t>(clients));
  std::vector<std::vector<Message>> drops(static_cast<size_t>(clients));
  for (int i = 0; i < clients; i++) {
    std::string user = user_name(argv[2], i);
    if (!open_maildrop(conns[static_cast<size_t>(i)], port, user, password, min, max, &drops[static_cast<size_t>(i)])) {
      fprintf(stderr, "pop3_load: %s: %s\n", user.c_str(), conns[static_cast<size_t>(i)].error.c_str());
      return 1;
    }
  }
  std::vector<long> messages(static_cast<size_t>(clients)), octets(static_cast<size_t>(clients));
  std::atomic<int> errors{0};
  auto start = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; i++) {
    threads.emplace_back([&, i] {
      size_t k = static_cast<size_t>(i);
      Conn& c = conns[k];
      const auto& drop = drops[k];
      for (size_t next = 0; c.error.empty(); next++) {
        auto t0 = Clock::now();
        if (t0 >= end) break;
        const Message& m = drop[next % drop.size()];
        size_t got = 0;
        if (!c.command("RETR " + std::to_string(m.number)) || !c.multi_line(nullptr, &got)) break;
        if (got != m.size) {
          c.fail("RETR " + std::to_string(m.number) + ": " + std::to_string(got) + " octets, LIST said " +
                 std::to_string(m.size));
          break;
        }
        if (t0 >= start && Clock::now() <= end) messages[k]++, octets[k] += static_cast<long>(got);
      }
      if (!c.error.empty()) errors++;
      else c.command("QUIT");
    });
  }
  std::this_thread::sleep_until(start);
  double cpu0 = cpu_seconds();
  std::this_thread::sleep_until(end);
  double cpu = cpu_seconds() - cpu0;
  for (auto& t : threads) t.join();
  long total = 0, bytes = 0;
  for (int i = 0; i < clients; i++) total += messages[static_cast<size_t>(i)], bytes += octets[static_cast<size_t>(i)];
  for (auto& c : conns)
    if (!c.error.empty()) fprintf(stderr, "pop3_load: %s\n", c.error.c_str());
  printf("messages\t%ld\noctets\t%ld\nclient_cpu\t%.3f\nerrors\t%d\n", total, bytes, cpu, errors.load());
  return errors ? 1 : 0;
}
