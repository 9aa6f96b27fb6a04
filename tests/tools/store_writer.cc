// A store client for the crash test (tests/integration/test_store_crash.py).
//
//   store_writer DIR [--run TAG]   writes until killed: keeps 10 deliveries in
//                                  flight through group commit and prints
//                                  "stored TAG.N" once each one is durable
//   store_writer --list DIR        prints the id of every stored message and
//                                  exits 1 if a body is not what was written
//
// A message's filler is a function of its id and size, so --list can tell a
// torn or mixed-up body from a sound one.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "password.h"
#include "store/store.h"

using namespace gannet::store;

namespace {

constexpr uint64_t kMapSize = 1ull << 30;
constexpr const char* kUsers[] = {"a@crash.test", "b@crash.test"};

std::string make_message(const std::string& id, size_t filler) {
  std::string m = "From: writer@crash.test\r\nTo: a@crash.test\r\nSubject: crash test " + id +
                  "\r\nMessage-Id: <" + id + "@store-writer>\r\nX-Filler: " + std::to_string(filler) + "\r\n\r\n";
  uint32_t h = 2166136261u;  // FNV-1a of the id picks the letters
  for (char c : id) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  for (size_t i = 0; i < filler; i++) m += i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : char('a' + (h + i) % 26);
  return m;
}

// The value of a "Name: value" header line, or empty.
std::string header(std::string_view msg, std::string_view name) {
  auto end = msg.find("\r\n\r\n");
  auto head = msg.substr(0, end);
  for (size_t p = 0; p < head.size();) {
    auto eol = std::min(head.find("\r\n", p), head.size());
    auto line = head.substr(p, eol - p);
    if (line.starts_with(name) && line.substr(name.size()).starts_with(": ")) return std::string(line.substr(name.size() + 2));
    p = eol + 2;
  }
  return {};
}

int list(Store& store) {
  return store.read([](Txn& t) {
    std::set<uint64_t> seen;  // a body delivered to both users is listed once
    int bad = 0;
    for (auto& u : t.users())
      for (auto& mb : t.mailboxes(u.id))
        for (auto& m : t.messages(mb.id)) {
          if (!seen.insert(m.body_id).second) continue;
          auto body = t.body(m.body_id);
          std::string mid = body ? header(*body, "Message-Id") : "";
          std::string id = mid.size() > 2 ? mid.substr(1, mid.find('@') - 1) : "";
          if (id.empty() || *body != make_message(id, std::stoul("0" + header(*body, "X-Filler")))) {
            fprintf(stderr, "store_writer: body %llu is not what was written\n", (unsigned long long)m.body_id);
            bad++;
            continue;
          }
          printf("%s\n", id.c_str());
        }
    return bad ? 1 : 0;
  });
}

struct Writer {
  Store* store;
  uv_loop_t* loop;
  std::string tag;
  std::vector<uint32_t> users;
  std::mt19937 rng{std::random_device{}()};
  uint64_t seq = 0;

  void submit() {
    std::string id = tag + "." + std::to_string(++seq);
    auto msg = std::make_shared<std::string>(make_message(id, std::uniform_int_distribution<size_t>(100, 64 << 10)(rng)));
    // One or both users: bodies shared by two mailboxes exercise refcounts.
    std::vector<uint32_t> to(users.begin(), users.begin() + std::uniform_int_distribution<size_t>(1, users.size())(rng));
    store->write(
        loop, [msg, to](Txn& t) { return t.deliver(*msg, to, time(nullptr)); },
        [this, id](Status s) {
          if (s != Status::ok) {
            fprintf(stderr, "store_writer: %s: %s\n", id.c_str(), status_text(s));
            _exit(1);
          }
          // One write(2) a line: the test may kill us between any two.
          std::string line = "stored " + id + "\n";
          if (write(1, line.data(), line.size()) != ssize_t(line.size())) _exit(1);
          submit();
        });
  }
};

int usage() {
  fprintf(stderr, "usage: store_writer DIR [--run TAG]\n       store_writer --list DIR\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool listing = !args.empty() && args[0] == "--list";
  if (listing) args.erase(args.begin());
  std::string tag = "0";
  if (args.size() == 3 && args[1] == "--run") tag = args[2];
  else if (args.size() != 1) return usage();

  std::string err;
  auto store = Store::open(args[0], kMapSize, err);
  if (!store) {
    fprintf(stderr, "store_writer: %s\n", err.c_str());
    return 1;
  }
  if (listing) return list(*store);

  Writer w{store.get(), uv_default_loop(), tag, {}};
  std::string hash = gannet::hash_password("crash");
  Status s = store->write_now([&](Txn& t) {
    Status st = t.add_domain("crash.test");
    if (st != Status::ok && st != Status::exists) return st;
    for (const char* a : kUsers) {
      User u;
      st = t.add_user(a, hash, &u);
      if (st == Status::exists) u = *t.user(a);
      else if (st != Status::ok) return st;
      w.users.push_back(u.id);
    }
    return Status::ok;
  });
  if (s != Status::ok) {
    fprintf(stderr, "store_writer: setup: %s\n", status_text(s));
    return 1;
  }
  for (int i = 0; i < 10; i++) w.submit();
  uv_run(w.loop, UV_RUN_DEFAULT);
  return 0;
}
