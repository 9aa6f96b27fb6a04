// pop3_sink: a POP3 server that stores nothing, for pop3_bench.py's
// ceiling: what pop3_load and the kernel's loopback can do on this machine
// with a server that costs next to nothing. Every login is accepted and
// every maildrop holds the same messages, made once in memory and already
// byte-stuffed: SMALL of 4 KiB and LARGE of 1 MiB. A thread a connection,
// blocking sockets (the fastest way to answer one client at a time).
// Listens on 127.0.0.1:PORT; prints "ready" once it does.
//
//   pop3_sink PORT SMALL LARGE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::vector<std::string> answers;  // "+OK" line, message, "." line: what RETR n sends
std::string list;                   // what LIST sends

// A message of exactly `size` octets, every 50th line starting with a dot,
// and what RETR sends of it: stuffed, between "+OK" and ".".
std::string retr_answer(size_t size) {
  std::string m, stuffed;
  for (int line = 0; m.size() < size; line++) {
    std::string text = line % 50 == 7 ? ". a dotted line" : "line " + std::to_string(line) + " of a message nobody stores";
    if (size - m.size() < text.size() + 40) text.assign(size - m.size() - 2, 'x');  // the last fills it exactly
    m += text + "\r\n";
    stuffed += (text[0] == '.' ? "." : "") + text + "\r\n";
  }
  return "+OK " + std::to_string(m.size()) + " octets\r\n" + stuffed + ".\r\n";
}

bool send_all(int fd, const std::string& s) {
  for (size_t at = 0; at < s.size();) {
    ssize_t n = send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

void serve(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string in;
  bool ok = send_all(fd, "+OK sink\r\n");
  while (ok) {
    size_t nl;
    while (ok && (nl = in.find("\r\n")) == std::string::npos) {
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) ok = false;
      else in.append(buf, static_cast<size_t>(n));
    }
    if (!ok) break;
    std::string line = in.substr(0, nl);
    in.erase(0, nl + 2);
    if (line.compare(0, 4, "RETR") == 0) {
      size_t n = strtoul(line.c_str() + 5, nullptr, 10);
      ok = send_all(fd, n >= 1 && n <= answers.size() ? answers[n - 1] : "-ERR no such message\r\n");
    } else if (line == "LIST") {
      ok = send_all(fd, list);
    } else if (line == "QUIT") {
      send_all(fd, "+OK bye\r\n");
      break;
    } else {
      ok = send_all(fd, "+OK\r\n");
    }
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: pop3_sink PORT SMALL LARGE\n");
    return 2;
  }
  int small = atoi(argv[2]), large = atoi(argv[3]);
  list = "+OK\r\n";
  for (int i = 0; i < small + large; i++) {
    size_t size = i < small ? 4096 : 1 << 20;
    answers.push_back(retr_answer(size));
    list += std::to_string(i + 1) + " " + std::to_string(size) + "\r\n";
  }
  list += ".\r\n";
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(atoi(argv[1])));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 1024) != 0) {
    perror("pop3_sink: bind");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int fd = accept(s, nullptr, nullptr);
    if (fd >= 0) std::thread(serve, fd).detach();
  }
}
