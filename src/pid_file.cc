#include "pid_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace gannet {

namespace {

long read_pid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  char* end = nullptr;
  long pid = strtol(buf, &end, 10);
  return pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

}  // namespace

PidFile::~PidFile() {
  if (fd_ >= 0) close(fd_);
}

bool PidFile::acquire(const std::string& path, std::string& err, long& stale_pid) {
  stale_pid = 0;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = "cannot open pid file \"" + path + "\": " + strerror(errno);
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    long pid = read_pid(fd);
    err = errno == EWOULDBLOCK ? "gannet is already running (pid " + std::to_string(pid) + " holds \"" + path +
                                     "\"); stop it first, or reload it with -s reload"
                               : "cannot lock pid file \"" + path + "\": " + strerror(errno);
    close(fd);
    return false;
  }
  stale_pid = read_pid(fd);
  std::string text = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    err = "cannot write pid file \"" + path + "\": " + strerror(errno);
    close(fd);
    return false;
  }
  path_ = path;
  fd_ = fd;
  return true;
}

void PidFile::remove() {
  if (fd_ < 0) return;
  unlink(path_.c_str());  // before the unlock: a master starting now makes a new file
  close(fd_);
  fd_ = -1;
}

void PidFile::close_in_child() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

long running_master(const std::string& path, std::string& err) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = "cannot open pid file \"" + path + "\": " + strerror(errno) + " (is gannet running?)";
    return 0;
  }
  long pid = read_pid(fd);
  // A shared lock is had only if no master holds its exclusive one.
  bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  if (!held) err = "gannet is not running (\"" + path + "\" is stale, from pid " + std::to_string(pid) + ")";
  else if (pid <= 0) err = "invalid PID number in \"" + path + "\"";
  return held && pid > 0 ? pid : 0;
}

}  // namespace gannet
