#include "log.h"

#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace gannet {

namespace {
uv_loop_t* g_loop = nullptr;  // set in workers: writes go through the thread pool
constexpr const char* kLevelNames[] = {"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"};
}  // namespace

bool parse_level(std::string_view s, Level& out) {
  for (size_t i = 0; i < std::size(kLevelNames); i++)
    if (s == kLevelNames[i]) { out = static_cast<Level>(i); return true; }
  return false;
}

ErrorLog& error_log() {
  static ErrorLog log{std::make_shared<LogFile>("stderr"), Level::notice};
  return log;
}

std::string timestamp() {
  time_t now = time(nullptr);
  tm t;
  localtime_r(&now, &t);
  char buf[32];
  strftime(buf, sizeof buf, "%Y/%m/%d %H:%M:%S", &t);
  return buf;
}

void LogFile::attach_loop(uv_loop_s* loop) { g_loop = loop; }

LogFile::~LogFile() {
  flush_sync();
  if (fd_ > 2) ::close(fd_);
  delete req_;
}

bool LogFile::open(std::string& err) {
  int fd = path_ == "stderr" ? 2 : ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = "open() \"" + path_ + "\" failed (" + strerror(errno) + ")";
    return false;
  }
  if (fd_ > 2 && !req_) ::close(fd_);  // an in-flight write still uses the old fd: leak it rather than race
  fd_ = fd;
  return true;
}

void LogFile::chown_to(int uid, int gid) const {
  if (fd_ > 2 && uid >= 0 && fchown(fd_, uid, gid) != 0) {
    // not fatal: the worker may still be able to write
  }
}

void LogFile::write(std::string_view line) {
  if (fd_ < 0) {
    std::string err;
    if (!open(err)) return;
  }
  if (!g_loop) {
    ssize_t r = ::write(fd_, line.data(), line.size());
    (void)r;
    return;
  }
  pending_.append(line);
  if (pending_.size() > (4u << 20)) pending_.erase(0, pending_.size() - (4u << 20));  // never grow without bound
  kick();
}

void LogFile::kick() {
  if (req_ || pending_.empty()) return;
  inflight_.swap(pending_);
  req_ = new uv_fs_t;
  req_->data = this;
  uv_buf_t buf = uv_buf_init(inflight_.data(), static_cast<unsigned>(inflight_.size()));
  if (uv_fs_write(g_loop, req_, fd_, &buf, 1, -1, on_written) != 0) {
    delete req_;
    req_ = nullptr;
    inflight_.clear();
  }
}

void LogFile::on_written(uv_fs_t* req) {
  auto* self = static_cast<LogFile*>(req->data);
  uv_fs_req_cleanup(req);
  delete req;
  self->req_ = nullptr;
  self->inflight_.clear();
  self->kick();
}

void LogFile::flush_sync() {
  for (auto* s : {&inflight_, &pending_}) {
    if (!s->empty() && fd_ >= 0 && !req_) {
      ssize_t r = ::write(fd_, s->data(), s->size());
      (void)r;
    }
    s->clear();
  }
}

void vlog(Level level, const char* fmt, va_list ap) {
  char msg[2048];
  vsnprintf(msg, sizeof msg, fmt, ap);
  std::string line = timestamp() + " [" + kLevelNames[static_cast<int>(level)] + "] " + std::to_string(getpid()) + ": " + msg + "\n";
  error_log().file->write(line);
}

void log(Level level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

}  // namespace gannet
