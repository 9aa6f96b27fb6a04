// imap_load: the IMAP mix of bench/imap_bench.py from C++, so that the load
// generator costs a fraction of what it measures (the asyncio client there
// used more CPU than Gannet itself). One thread a client, blocking sockets,
// loopback only. Each client logs in, selects INBOX and runs the mix in
// order from its own place in it; a command counts when its tagged OK came
// within the timed window. Prints one line per command and a total, and
// the client's own CPU seconds over the window.
//
//   imap_load PORT USER PASSWORD MESSAGES CLIENTS WARMUP_S SECONDS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const char* const kMix[] = {
    "UID FETCH 1:* (FLAGS)",    "FETCH %u (BODY.PEEK[HEADER])",  "FETCH %u (BODY.PEEK[])",
    "UID STORE %u +FLAGS (\\Flagged)", "UID STORE %u -FLAGS (\\Flagged)", "NOOP", "UID SEARCH UNSEEN",
};
constexpr int kKinds = sizeof kMix / sizeof kMix[0];

struct Conn {
  int fd = -1;
  std::string buf;
  bool failed = false;

  bool open(int port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && !line().empty();
  }
  // One line, with any literals it announces read whole into it.
  std::string line() {
    std::string out;
    for (;;) {
      size_t nl;
      while ((nl = buf.find("\r\n")) == std::string::npos) {
        char tmp[65536];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) return failed = true, std::string();
        buf.append(tmp, static_cast<size_t>(n));
      }
      std::string l = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      out += l;
      size_t open = l.rfind('{');
      if (l.empty() || l.back() != '}' || open == std::string::npos) return out;
      size_t size = strtoull(l.c_str() + open + 1, nullptr, 10);
      while (buf.size() < size) {
        char tmp[65536];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) return failed = true, std::string();
        buf.append(tmp, static_cast<size_t>(n));
      }
      out.append(buf, 0, size);
      buf.erase(0, size);
    }
  }
  // Sends tag + command; true when the tagged answer is OK.
  bool command(const std::string& tag, const std::string& text) {
    std::string out = tag + " " + text + "\r\n";
    if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return false;
    for (;;) {
      std::string l = line();
      if (failed) return false;
      if (l.compare(0, tag.size() + 1, tag + " ") == 0) return l.compare(tag.size() + 1, 2, "OK") == 0;
    }
  }
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: imap_load PORT USER PASSWORD MESSAGES CLIENTS WARMUP_S SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  std::string user = argv[2], password = argv[3];
  unsigned messages = static_cast<unsigned>(atoi(argv[4]));
  int clients = atoi(argv[5]);
  double warmup = atof(argv[6]), seconds = atof(argv[7]);
  std::vector<Conn> conns(static_cast<size_t>(clients));
  for (auto& c : conns)
    if (!c.open(port) || !c.command("L", "LOGIN \"" + user + "\" \"" + password + "\"") || !c.command("S", "SELECT INBOX")) {
      fprintf(stderr, "imap_load: could not log in and select\n");
      return 1;
    }
  std::vector<std::array<long, kKinds>> counts(static_cast<size_t>(clients));
  std::atomic<int> errors{0};
  auto start = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  double cpu0 = 0;
  for (int i = 0; i < clients; i++) {
    threads.emplace_back([&, i] {
      Conn& c = conns[static_cast<size_t>(i)];
      auto& count = counts[static_cast<size_t>(i)];
      count.fill(0);
      std::mt19937 rng(static_cast<unsigned>(i) * 7919u + 1);
      unsigned flagged = 1;
      char text[128];
      for (long k = i; !c.failed; k++) {
        auto t0 = Clock::now();
        if (t0 >= end) break;
        int kind = static_cast<int>(k % kKinds);
        unsigned n = kind == 4 ? flagged : 1 + rng() % messages;  // -FLAGS undoes this client's +FLAGS
        if (kind == 3) flagged = n;
        snprintf(text, sizeof text, kMix[kind], n);
        bool ok = c.command("t", text);
        auto t1 = Clock::now();
        if (!ok) errors++;
        else if (t0 >= start && t1 <= end) count[static_cast<size_t>(kind)]++;
      }
    });
  }
  std::this_thread::sleep_until(start);
  cpu0 = cpu_seconds();
  std::this_thread::sleep_until(end);
  double cpu = cpu_seconds() - cpu0;
  for (auto& t : threads) t.join();
  long total = 0;
  for (int k = 0; k < kKinds; k++) {
    long n = 0;
    for (auto& c : counts) n += c[static_cast<size_t>(k)];
    total += n;
    printf("%s\t%ld\n", kMix[k], n);
  }
  printf("total\t%ld\nclient_cpu\t%.3f\nerrors\t%d\n", total, cpu, errors.load());
  return errors ? 1 : 0;
}
