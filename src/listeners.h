// The master's listening sockets. It owns every one for its whole life, one
// SO_REUSEPORT socket per listen address and worker slot, so a reload never
// closes a socket that has connections waiting in its queue.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cycle.h"

namespace gannet {

class ListenerSet {
 public:
  ~ListenerSet();
  // Makes sure every address of the cycle has a socket for each of `slots`.
  // On failure nothing the cycle had before is touched.
  bool prepare(const Cycle& cycle, int slots, std::string& err);
  // Closes sockets the cycle no longer uses (addresses gone, slots beyond).
  void retire_unused(const Cycle& cycle, int slots);
  // The fds for one worker slot, in cycle.listens order.
  std::vector<int> fds_for(const Cycle& cycle, int slot) const;
  // Every fd except those of `slot`: a worker closes them after fork.
  std::vector<int> fds_except(const Cycle& cycle, int slot) const;

 private:
  std::map<std::string, std::vector<int>> by_addr_;
};

}  // namespace gannet
