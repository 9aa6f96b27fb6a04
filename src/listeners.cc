#include "listeners.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gannet {

static int open_listener(const ListenAddr& la, std::string& err) {
  int fd = socket(la.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string("socket() failed: ") + strerror(errno);
    return -1;
  }
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  if (la.addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&la.addr), la.len) != 0 || listen(fd, 511) != 0) {
    err = "bind() to " + la.text + " failed (" + strerror(errno) + ") in " + la.file + ":" + std::to_string(la.line);
    close(fd);
    return -1;
  }
  return fd;
}

ListenerSet::~ListenerSet() {
  for (auto& [addr, fds] : by_addr_)
    for (int fd : fds) close(fd);
}

bool ListenerSet::prepare(const Cycle& cycle, int slots, std::string& err) {
  std::vector<std::pair<std::string, int>> added;
  for (auto& la : cycle.listens) {
    auto& fds = by_addr_[la.text];
    while (static_cast<int>(fds.size()) < slots) {
      int fd = open_listener(la, err);
      if (fd < 0) {
        for (auto& [addr, f] : added) {  // undo this attempt only
          close(f);
          by_addr_[addr].pop_back();
        }
        std::erase_if(by_addr_, [](const auto& kv) { return kv.second.empty(); });
        return false;
      }
      fds.push_back(fd);
      added.emplace_back(la.text, fd);
    }
  }
  return true;
}

void ListenerSet::retire_unused(const Cycle& cycle, int slots) {
  for (auto it = by_addr_.begin(); it != by_addr_.end();) {
    bool used = false;
    for (auto& la : cycle.listens) used |= la.text == it->first;
    auto& fds = it->second;
    size_t keep = used ? static_cast<size_t>(slots) : 0;
    while (fds.size() > keep) {
      close(fds.back());
      fds.pop_back();
    }
    it = fds.empty() ? by_addr_.erase(it) : std::next(it);
  }
}

std::vector<int> ListenerSet::fds_for(const Cycle& cycle, int slot) const {
  std::vector<int> out;
  for (auto& la : cycle.listens) out.push_back(by_addr_.at(la.text).at(slot));
  return out;
}

std::vector<int> ListenerSet::fds_except(const Cycle& cycle, int slot) const {
  std::vector<int> mine = fds_for(cycle, slot), out;
  for (auto& [addr, fds] : by_addr_)
    for (int fd : fds)
      if (std::find(mine.begin(), mine.end(), fd) == mine.end()) out.push_back(fd);
  return out;
}

}  // namespace gannet
