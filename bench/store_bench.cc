// Durable messages stored per second: group commit against one fsync a
// message. See bench/README.md.
//
//   store_bench [--seconds S] [--rounds R] [--writers N] [--dir DIR]
//
// Every case runs R times (default 3) each way, S seconds (default 2) a run,
// in a fresh store a run: with N deliveries in flight through Store::write
// (default 10), and one Store::write_now per message, the same op on the same
// code path. The two alternate and the medians are shown, because a shared
// disk's flush time drifts (another process's writes join our fsyncs).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mail/message_parser.h"
#include "store/dbs.h"  // a batch's transaction id: the store's inside, for measuring
#include "store/store.h"

using namespace gannet::store;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kMapSize = 16ull << 30;  // sparse: only what is written takes disk

struct Result {
  double per_sec = 0;
  double avg_batch = 0;
  std::string error;
};

// A fresh store with `recipients` users whose mailboxes exist, so the timed
// part measures deliveries only.
struct Rig {
  std::string dir;
  std::unique_ptr<Store> store;
  std::vector<uint32_t> users;
  std::string message;

  Rig(const std::string& parent, size_t body, size_t recipients) {
    std::string tmpl = parent + "/store-bench-XXXXXX";
    if (!mkdtemp(tmpl.data())) { perror("mkdtemp"); exit(2); }
    dir = tmpl;
    std::string err;
    store = Store::open(dir + "/data", kMapSize, err);
    if (!store) { fprintf(stderr, "store_bench: %s\n", err.c_str()); exit(2); }
    store->write_now([&](Txn& t) {
      t.add_domain("bench.test");
      for (size_t i = 0; i < recipients; i++) {
        User u;
        t.add_user("u" + std::to_string(i) + "@bench.test", "x", &u);
        t.ensure_default_mailboxes(u.id);
        users.push_back(u.id);
      }
      return Status::ok;
    });
    message = "From: bench@bench.test\r\nTo: u0@bench.test\r\nSubject: bench\r\n\r\n";
    for (size_t i = message.size(); i < body; i++) message += i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : 'x';
  }
  ~Rig() {
    store.reset();
    std::filesystem::remove_all(dir);
  }

  // The op both modes run, made for each message as the SMTP module makes
  // it: the message parsed by the writer first, so the writer lock is held
  // for the store's work only. Records its transaction's id (a nested txn
  // has its parent's) so the caller can count the batches it shared.
  Store::Op op(uint64_t* txnid) {
    return [this, txnid, meta = gannet::mail::encode_meta(gannet::mail::parse_message(message))](Txn& t) {
      *txnid = mdb_txn_id(gannet::store::TxnAccess::raw(t));  // the store's own view, as its tests have
      return t.deliver(message, meta, users, 1700000000);
    };
  }
};

Clock::time_point later(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Result baseline(Rig& rig, double seconds) {
  uint64_t id, n = 0;
  auto start = Clock::now(), end = later(start, seconds);
  for (; Clock::now() < end; n++)
    if (Status s = rig.store->write_now(rig.op(&id)); s != Status::ok) return {0, 0, status_text(s)};
  return {n / since(start), 1, {}};
}

Result group(Rig& rig, double seconds, int writers) {
  struct State {
    explicit State(Rig& r) : rig(r) {}
    Rig& rig;
    uv_loop_t loop{};
    Clock::time_point end;
    uint64_t done = 0;
    std::set<uint64_t> txns;
    std::string error;

    // One writer: deliver, and once durable, deliver again until time is up.
    void next() {
      auto id = std::make_shared<uint64_t>();
      rig.store->write(&loop, rig.op(id.get()), [this, id](Status s) {
        if (s != Status::ok) error = status_text(s);
        done++;
        txns.insert(*id);
        if (error.empty() && Clock::now() < end) next();
      });
    }
  } st(rig);
  uv_loop_init(&st.loop);
  auto start = Clock::now();
  st.end = later(start, seconds);
  for (int i = 0; i < writers; i++) st.next();
  uv_run(&st.loop, UV_RUN_DEFAULT);  // returns when the last writer stops
  double elapsed = since(start);
  rig.store.reset();  // its group commit belongs to this loop
  uv_loop_close(&st.loop);
  if (!st.error.empty()) return {0, 0, st.error};
  return {st.done / elapsed, double(st.done) / st.txns.size(), {}};
}

// The disk's own rate: 4 KiB pwrite + fdatasync for a second, for context.
double fsync_rate(const std::string& parent) {
  std::string path = parent + "/store-bench-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  char page[4096] = {};
  uint64_t n = 0;
  auto start = Clock::now();
  for (; since(start) < 1; n++)
    if (pwrite(fd, page, sizeof page, 0) != sizeof page || fdatasync(fd) != 0) break;
  close(fd);
  unlink(path.c_str());
  return n / since(start);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string thousands(double v) {
  std::string digits = std::to_string(static_cast<uint64_t>(v + 0.5)), out;
  for (size_t i = 0; i < digits.size(); i++) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  int rounds = 3, writers = 10;
  std::string parent = "/tmp";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = atof(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (a == "--writers" && i + 1 < argc) writers = atoi(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) parent = argv[++i];
    else {
      fprintf(stderr, "usage: store_bench [--seconds S] [--rounds R] [--writers N] [--dir DIR]\n");
      return 2;
    }
  }
  if (seconds <= 0 || rounds < 1 || writers < 1) return 2;

  printf("durable deliveries/s: median of %d runs of %g s each way, %d in flight for group commit\n", rounds,
         seconds, writers);
  printf("disk in %s: %s fdatasync/s (4 KiB)\n\n", parent.c_str(), thousands(fsync_rate(parent)).c_str());
  printf("%-18s %12s %15s %7s %10s\n", "case", "group msg/s", "baseline msg/s", "ratio", "avg batch");
  int failed = 0;
  for (size_t body : {size_t(1) << 10, size_t(64) << 10})
    for (size_t rcpts : {1, 10}) {
      std::string name = std::to_string(body >> 10) + " KiB x " + std::to_string(rcpts) + " rcpt";
      std::vector<double> g, b, batch;
      std::string error;
      for (int r = 0; r < rounds && error.empty(); r++)
        for (bool grouped : {r % 2 == 0, r % 2 != 0}) {  // alternate which goes first
          Rig rig(parent, body, rcpts);
          Result res = grouped ? group(rig, seconds, writers) : baseline(rig, seconds);
          if (!res.error.empty()) error = res.error;
          (grouped ? g : b).push_back(res.per_sec);
          if (grouped) batch.push_back(res.avg_batch);
        }
      if (!error.empty()) {
        printf("%-18s error: %s\n", name.c_str(), error.c_str());
        failed = 1;
        continue;
      }
      printf("%-18s %12s %15s %6.1fx %10.1f\n", name.c_str(), thousands(median(g)).c_str(),
             thousands(median(b)).c_str(), median(g) / median(b), median(batch));
      fflush(stdout);
    }
  printf("\ndisk afterwards: %s fdatasync/s\n", thousands(fsync_rate(parent)).c_str());
  return failed;
}
