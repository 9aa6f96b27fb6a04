#include "master.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include "core_module.h"
#include "listeners.h"
#include "log.h"
#include "pid_file.h"
#include "worker.h"

namespace gannet {

namespace {

volatile sig_atomic_t g_reap, g_reload, g_quit, g_terminate, g_reopen;

void on_signal(int signum) {
  switch (signum) {
    case SIGCHLD: g_reap = 1; break;
    case SIGHUP: g_reload = 1; break;
    case SIGQUIT: g_quit = 1; break;
    case SIGTERM:
    case SIGINT: g_terminate = 1; break;
    case SIGUSR1: g_reopen = 1; break;
  }
}

constexpr int kSignals[] = {SIGCHLD, SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1};

struct Proc {
  pid_t pid;
  int slot;
  int generation;
  bool exiting;
};

int worker_count(const Cycle& c) {
  int64_t n = *c.main_conf<CoreConf>(core_module).worker_processes;
  if (n == 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : static_cast<int>(n);
}

class Master {
 public:
  explicit Master(std::unique_ptr<Cycle> c) : cycle_(std::move(c)) {}
  int run();

 private:
  bool open_logs(const Cycle& c, std::string& err);
  void use_logs(const Cycle& c);
  void spawn(int slot);
  [[noreturn]] void become_worker(int slot);
  void reap();
  void reload();
  void signal_workers(int signum, bool only_current);
  size_t alive() const { return procs_.size(); }

  std::unique_ptr<Cycle> cycle_;
  PidFile pid_file_;
  pid_t pid_ = getpid();
  ListenerSet listeners_;
  std::vector<Proc> procs_;
  int generation_ = 0;
  bool stopping_ = false;
};

bool Master::open_logs(const Cycle& c, std::string& err) {
  auto& core = c.main_conf<CoreConf>(core_module);
  for (auto& f : c.log_files) {
    if (!f->open(err)) return false;
    f->chown_to(core.uid, core.gid);  // workers may run as another user
  }
  return true;
}

void Master::use_logs(const Cycle& c) {
  auto& core = c.main_conf<CoreConf>(core_module);
  for (auto& f : c.log_files)
    if (f->path() == *core.error_log) error_log().file = f;
  error_log().level = *core.error_level;
}

void log_worker_user(const CoreConf& core) {
  if (geteuid() != 0) return;  // the workers stay who the master is
  if (core.user_implicit && *core.user != kDefaultUser)
    GLOG(Level::warn, "no \"%s\" account (tools/install makes it): workers run as \"%s\"; set \"user\" to choose",
         kDefaultUser, core.user->c_str());
  GLOG(Level::notice, "workers run as user \"%s\" (uid %d, gid %d)%s", core.user->c_str(), core.uid, core.gid,
       core.user_implicit ? ", the default" : "");
}

// Each connection is a descriptor: worker_connections means nothing under a
// soft limit of 1024. worker_rlimit_nofile sets both limits, as in nginx;
// without it the soft limit is raised to what the config needs, as far as
// the hard limit (or past it, for root) allows. Workers inherit it.
void set_nofile(const Cycle& c, int slots) {
  auto& core = c.main_conf<CoreConf>(core_module);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (core.worker_rlimit_nofile) {
    rlim_t n = *core.worker_rlimit_nofile;
    rlimit want{n, n};
    if (setrlimit(RLIMIT_NOFILE, &want) != 0)
      GLOG(Level::warn, "worker_rlimit_nofile %llu: setrlimit() failed: %s (the limits are %llu soft, %llu hard)",
           static_cast<unsigned long long>(n), strerror(errno), static_cast<unsigned long long>(rl.rlim_cur),
           static_cast<unsigned long long>(rl.rlim_max));
    return;
  }
  rlim_t need = *c.main_conf<EventsConf>(events_module).worker_connections + kReservedFds +
                c.listens.size() * static_cast<rlim_t>(slots);
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return;
  rlimit want{need, std::max(need, rl.rlim_max)};
  if (need > rl.rlim_max && setrlimit(RLIMIT_NOFILE, &want) == 0) return;  // root may raise the hard limit
  want = {std::min(need, rl.rlim_max), rl.rlim_max};
  setrlimit(RLIMIT_NOFILE, &want);
  if (need > rl.rlim_max)
    GLOG(Level::warn,
         "worker_connections needs %llu open files, but the hard limit is %llu: a worker takes fewer connections "
         "(raise the limit, e.g. LimitNOFILE= in the unit, or lower worker_connections)",
         static_cast<unsigned long long>(need), static_cast<unsigned long long>(rl.rlim_max));
}

void Master::become_worker(int slot) {
  sigset_t none;
  sigemptyset(&none);
  for (int s : kSignals) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  pid_file_.close_in_child();
  for (int fd : listeners_.fds_except(*cycle_, slot)) close(fd);
  auto& core = cycle_->main_conf<CoreConf>(core_module);
  if (geteuid() == 0 && core.uid >= 0) {
    if (setgid(core.gid) != 0 || initgroups(core.user->c_str(), core.gid) != 0 || setuid(core.uid) != 0) {
      GLOG(Level::emerg, "cannot switch to user \"%s\": %s", core.user->c_str(), strerror(errno));
      _exit(2);
    }
  }
  // A worker never outlives its master. After setuid: a change of
  // credentials clears the death signal.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != pid_) _exit(1);  // it died before the line above
  int code;
  {
    Worker w(*cycle_, slot, listeners_.fds_for(*cycle_, slot));
    code = w.run();
  }
  for (auto& f : cycle_->log_files) f->flush_sync();
  _exit(code);
}

void Master::spawn(int slot) {
  pid_t pid = fork();
  if (pid < 0) {
    GLOG(Level::alert, "fork() failed: %s", strerror(errno));
    return;
  }
  if (pid == 0) become_worker(slot);
  procs_.push_back({pid, slot, generation_, false});
  GLOG(Level::notice, "started worker %d, pid %d", slot, pid);
}

void Master::signal_workers(int signum, bool only_current) {
  for (auto& p : procs_) {
    if (only_current && p.generation != generation_) continue;
    if (signum == SIGQUIT || signum == SIGTERM) p.exiting = true;
    kill(p.pid, signum);
  }
}

void Master::reap() {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    auto it = std::find_if(procs_.begin(), procs_.end(), [&](const Proc& p) { return p.pid == pid; });
    if (it == procs_.end()) continue;
    Proc p = *it;
    procs_.erase(it);
    bool crashed = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
    if (WIFSIGNALED(status))
      GLOG(Level::alert, "worker %d (pid %d) exited on signal %d", p.slot, pid, WTERMSIG(status));
    else
      GLOG(crashed ? Level::alert : Level::notice, "worker %d (pid %d) exited with code %d", p.slot, pid, WEXITSTATUS(status));
    for (const Module* m : cycle_->modules)
      if (m->worker_reaped) m->worker_reaped(*cycle_);
    bool fatal = WIFEXITED(status) && WEXITSTATUS(status) == 2;  // won't do better next time
    if (!p.exiting && !stopping_ && p.generation == generation_ && !fatal) {
      GLOG(Level::notice, "respawning worker %d", p.slot);
      spawn(p.slot);
    }
  }
}

void Master::reload() {
  GLOG(Level::notice, "reconfiguring");
  std::unique_ptr<Cycle> next;
  try {
    next = load_cycle(cycle_->conf_file, cycle_->prefix);
  } catch (const ConfError& e) {
    GLOG(Level::emerg, "%s; keeping the old configuration", e.where().c_str());
    return;
  }
  std::string err;
  int slots = worker_count(*next);
  for (const Module* m : next->modules) {
    if (!m->init_master || !err.empty()) continue;
    err = m->init_master(*next);
  }
  if (err.empty() && open_logs(*next, err) && listeners_.prepare(*next, slots, err)) {
    std::swap(cycle_, next);  // next is now the old cycle
    generation_++;
    set_nofile(*cycle_, slots);
    for (int i = 0; i < slots; i++) spawn(i);
    for (auto& p : procs_)
      if (p.generation != generation_ && !p.exiting) {
        p.exiting = true;
        kill(p.pid, SIGQUIT);
      }
    listeners_.retire_unused(*cycle_, slots);
    use_logs(*cycle_);
    GLOG(Level::notice, "reconfigured: %d workers, generation %d", slots, generation_);
    return;
  }
  GLOG(Level::emerg, "reload failed: %s; keeping the old configuration", err.c_str());
}

int Master::run() {
  std::string err;
  auto& core = cycle_->main_conf<CoreConf>(core_module);
  long stale = 0;
  if (!pid_file_.acquire(*core.pid, err, stale)) {  // before binding: a second master must not share the ports
    GLOG(Level::emerg, "%s", err.c_str());
    return 1;
  }
  int slots = worker_count(*cycle_);
  for (const Module* m : cycle_->modules) {
    if (m->init_master && !(err = m->init_master(*cycle_)).empty()) break;
  }
  if (!err.empty() || !open_logs(*cycle_, err) || !listeners_.prepare(*cycle_, slots, err)) {
    GLOG(Level::emerg, "%s", err.c_str());
    pid_file_.remove();
    return 1;
  }
  use_logs(*cycle_);
  if (stale)
    GLOG(Level::notice, "pid file \"%s\" was left by pid %ld, which is gone: taking over", core.pid->c_str(), stale);
  log_worker_user(core);
  set_nofile(*cycle_, slots);

  sigset_t block, none;
  sigemptyset(&block);
  sigemptyset(&none);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : kSignals) {
    sigaddset(&block, s);
    sigaction(s, &sa, nullptr);
  }
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_BLOCK, &block, nullptr);

  GLOG(Level::notice, "gannet/%s started, %d workers", GANNET_VERSION, slots);
  for (int i = 0; i < slots; i++) spawn(i);

  for (;;) {
    sigsuspend(&none);  // signals are only delivered here: no races with the flags
    if (g_reap) { g_reap = 0; reap(); }
    if (g_terminate) {
      g_terminate = 0;
      stopping_ = true;
      signal_workers(SIGTERM, false);
    }
    if (g_quit) {
      g_quit = 0;
      stopping_ = true;
      signal_workers(SIGQUIT, false);
    }
    if (g_reload && !stopping_) { g_reload = 0; reload(); }
    if (g_reopen) {
      g_reopen = 0;
      if (!open_logs(*cycle_, err)) GLOG(Level::alert, "%s", err.c_str());
      signal_workers(SIGUSR1, false);
    }
    if (stopping_ && alive() == 0) break;
  }
  pid_file_.remove();
  GLOG(Level::notice, "exiting");
  return 0;
}

}  // namespace

int run_master(std::unique_ptr<Cycle> cycle) {
  Master m(std::move(cycle));
  return m.run();
}

}  // namespace gannet
