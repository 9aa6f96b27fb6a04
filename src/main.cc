// gannet: command line, like nginx's (-c -p -t -s -V).
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core_module.h"
#include "cycle.h"
#include "store/store.h"
#include "master.h"
#include "pid_file.h"

using namespace gannet;

namespace {

void usage() {
  fprintf(stderr,
          "Usage: gannet [-?hVtq] [-s signal] [-c filename] [-p prefix]\n\n"
          "Options:\n"
          "  -?,-h         : this help\n"
          "  -V            : show version and build options, then exit\n"
          "  -t            : test the configuration and exit\n"
          "  -q            : suppress non-error messages during configuration testing\n"
          "  -s signal     : send signal to the master process: stop, quit, reopen, reload\n"
          "  -c filename   : set the configuration file (default: conf/gannet.conf)\n"
          "  -p prefix     : resolve relative paths against prefix (default: the config file's directory)\n");
}

void version() {
  printf("gannet version: gannet/%s\n", GANNET_VERSION);
  printf("built with libuv %s, BoringSSL (API %d), %s\n", uv_version_string(), BORINGSSL_API_VERSION,
         store::Store::backend_version().c_str());
  printf("built by " __VERSION__ ", C++ %ld\n", static_cast<long>(__cplusplus));
  printf("modules:");
  for (auto list : {core_modules(), compiled_modules()})
    for (const Module* m : list) printf(" %.*s", static_cast<int>(m->name.size()), m->name.data());
  printf("\n");
}

int send_signal(const Cycle& cycle, const std::string& name) {
  int signum = name == "stop" ? SIGTERM : name == "quit" ? SIGQUIT : name == "reload" ? SIGHUP
             : name == "reopen" ? SIGUSR1 : 0;
  if (!signum) {
    fprintf(stderr, "gannet: invalid option: \"-s %s\"\n", name.c_str());
    return 1;
  }
  std::string err;
  long pid = running_master(*cycle.main_conf<CoreConf>(core_module).pid, err);
  if (!pid) {
    fprintf(stderr, "gannet: [error] %s\n", err.c_str());
    return 1;
  }
  if (kill(static_cast<pid_t>(pid), signum) != 0) {
    fprintf(stderr, "gannet: [alert] kill(%ld, %d) failed (%s)\n", pid, signum, strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string conf = "conf/gannet.conf", prefix, sig;
  bool test = false, quiet = false;
  int opt;
  while ((opt = getopt(argc, argv, "?hVtqc:p:s:")) != -1) {
    switch (opt) {
      case 'V': version(); return 0;
      case 't': test = true; break;
      case 'q': quiet = true; break;
      case 'c': conf = optarg; break;
      case 'p': prefix = optarg; break;
      case 's': sig = optarg; break;
      default: usage(); return opt == 'h' || opt == '?' ? 0 : 1;
    }
  }
  if (optind < argc) {
    usage();
    return 1;
  }
  std::error_code ec;
  auto abs = std::filesystem::absolute(conf, ec);
  if (!ec) conf = abs.lexically_normal().string();
  if (prefix.empty()) prefix = std::filesystem::path(conf).parent_path().string();

  std::unique_ptr<Cycle> cycle;
  try {
    cycle = load_cycle(conf, prefix);
  } catch (const ConfError& e) {
    fprintf(stderr, "gannet: [emerg] %s\n", e.where().c_str());
    if (test) fprintf(stderr, "gannet: configuration file %s test failed\n", conf.c_str());
    return 1;
  }
  if (test) {
    if (quiet) return 0;
    fprintf(stderr, "gannet: the configuration file %s syntax is ok\n", conf.c_str());
    fprintf(stderr, "gannet: configuration file %s test is successful\n", conf.c_str());
    return 0;
  }
  if (!sig.empty()) return send_signal(*cycle, sig);
  return run_master(std::move(cycle));
}
