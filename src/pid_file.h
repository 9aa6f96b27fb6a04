// The master's pid file, locked (flock) for as long as the master lives.
// Listening sockets use SO_REUSEPORT, so a second master would bind the
// same ports and serve beside the first; the lock is what stops it. A file
// nobody holds is stale (its master died): it is taken over.
#pragma once

#include <sys/types.h>

#include <string>

namespace gannet {

class PidFile {
 public:
  PidFile() = default;
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Locks the file and writes this process's pid. On failure err says why,
  // naming the running master if there is one. stale_pid is the pid a dead
  // master left, or 0.
  bool acquire(const std::string& path, std::string& err, long& stale_pid);
  // Unlinks and unlocks (the master's normal exit).
  void remove();
  // Workers drop the descriptor, so that the lock dies with the master.
  void close_in_child();

 private:
  std::string path_;
  int fd_ = -1;
};

// For -s: the running master's pid from a locked pid file, or 0 with err.
long running_master(const std::string& path, std::string& err);

}  // namespace gannet
