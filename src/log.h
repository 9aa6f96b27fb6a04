// Error log and session log. In a worker, lines are queued and written by
// libuv's thread pool, so a slow disk never stalls the loop.
#pragma once

#include <cstdarg>
#include <memory>
#include <string>
#include <string_view>

struct uv_loop_s;
struct uv_fs_s;

namespace gannet {

enum class Level { emerg, alert, crit, error, warn, notice, info, debug };
bool parse_level(std::string_view, Level&);

// An append-only log file; "stderr" names standard error.
class LogFile {
 public:
  explicit LogFile(std::string path) : path_(std::move(path)) {}
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  bool open(std::string& err);  // (re)opens the path, O_APPEND
  void write(std::string_view line);  // line includes its '\n'
  void flush_sync();  // writes what is queued, blocking: at exit only
  void chown_to(int uid, int gid) const;
  const std::string& path() const { return path_; }

  // Once per worker: queue writes on this loop instead of writing inline.
  static void attach_loop(uv_loop_s* loop);

 private:
  void kick();
  static void on_written(uv_fs_s* req);
  std::string path_;
  int fd_ = -1;
  std::string pending_;   // queued, not yet handed to a write
  std::string inflight_;  // being written by the thread pool
  uv_fs_s* req_ = nullptr;
};

// The process-wide error log (error_log FILE LEVEL).
struct ErrorLog {
  std::shared_ptr<LogFile> file;
  Level level = Level::notice;
};
ErrorLog& error_log();

// "2026/11/23 19:32:47", local time, as nginx writes it.
std::string timestamp();

void log(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void vlog(Level level, const char* fmt, va_list ap);
#define GLOG(lvl, ...) \
  do { if ((lvl) <= ::gannet::error_log().level) ::gannet::log((lvl), __VA_ARGS__); } while (0)

}  // namespace gannet
