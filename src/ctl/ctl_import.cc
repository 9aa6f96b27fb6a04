// import maildir|mbox, export maildir: a user moves in from Dovecot
// (iRedMail's Maildir++), mutt or Thunderbird (mbox), and out again. The
// formats are store/maildir.h's pure functions; this file does the I/O.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "ctl/ctl.h"
#include "mail/message_parser.h"
#include "store/maildir.h"
#include "store/mutf7.h"

namespace gannet::ctl {

namespace {

namespace fs = std::filesystem;
namespace md = store::maildir;
using store::Status;

// Messages per transaction: one fsync per batch rather than per message, a
// running server's deliveries get the writer lock between batches, and a
// failure loses at most one batch. The byte bound keeps memory flat when
// messages are large.
constexpr size_t kBatchMessages = 100;
constexpr size_t kBatchBytes = 32u << 20;

std::string errno_text(const std::string& what) { return what + ": " + strerror(errno); }

void warn(const std::string& msg) { fprintf(stderr, "gannetctl: warning: %s\n", msg.c_str()); }

bool read_file(const std::string& path, std::string& out, std::string& err) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err = errno_text(path), false;
  out.clear();
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (n < 0) err = errno_text(path);
  close(fd);
  return n == 0;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A whole file mapped read-only: an mbox may be larger than we care to copy.
class MappedFile {
 public:
  ~MappedFile() {
    if (data_) munmap(data_, size_);
  }
  bool open(const std::string& path, std::string& err) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err = errno_text(path), false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0;
    if (!ok) err = errno_text(path);
    else if (!S_ISREG(st.st_mode)) ok = false, err = path + ": not a file";
    if (ok) {
      size_ = static_cast<size_t>(st.st_size);
      mtime_ = st.st_mtime;
      if (size_ > 0 && (data_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
        data_ = nullptr, ok = false, err = errno_text(path);
    }
    close(fd);
    return ok;
  }
  std::string_view text() const { return data_ ? std::string_view(static_cast<const char*>(data_), size_) : ""; }
  int64_t mtime() const { return mtime_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
  int64_t mtime_ = 0;
};

std::optional<store::User> find_user(Ctl& c) {
  return c.store->read([&](store::Txn& t) { return t.user(c.args[0]); });
}

// The user's mailbox NAME, made if missing (with the default ones).
Status prepare_mailbox(Ctl& c, uint32_t user_id, const std::string& name, uint32_t& id) {
  return c.store->write_now([&](store::Txn& t) {
    Status s = t.ensure_default_mailboxes(user_id);
    if (s != Status::ok) return s;
    store::Mailbox mb;
    s = t.create_mailbox(user_id, name, store::SpecialUse::none, &mb);
    if (s == Status::exists) {
      mb = *t.mailbox(user_id, name);
      s = Status::ok;
    }
    id = mb.id;
    return s;
  });
}

// Appends messages to one mailbox, a batch per transaction.
class Batcher {
 public:
  Batcher(store::Store& s, uint32_t mailbox_id) : store_(s), mailbox_id_(mailbox_id) {}

  // uid: the UID to keep (0: the next one), when not below UIDNEXT.
  Status add(std::string data, uint32_t flags, std::vector<std::string> keywords, int64_t date, uint32_t uid = 0) {
    Pending p{std::move(data), {}, flags, std::move(keywords), date, uid};
    p.meta = mail::encode_meta(mail::parse_message(p.data));  // parsed before the writer lock is taken
    bytes_ += p.data.size();
    batch_.push_back(std::move(p));
    return batch_.size() >= kBatchMessages || bytes_ >= kBatchBytes ? flush() : Status::ok;
  }

  Status flush() {
    if (batch_.empty()) return Status::ok;
    Status s = store_.write_now([&](store::Txn& t) {
      for (auto& m : batch_) {
        uint64_t body;
        Status st = t.put_body(m.data, m.meta, body);
        if (st == Status::ok && m.uid) st = t.raise_uidnext(mailbox_id_, m.uid);
        if (st == Status::ok) st = t.append(mailbox_id_, body, m.flags, m.date, nullptr, m.keywords);
        if (st != Status::ok) return st;
      }
      return Status::ok;
    });
    if (s == Status::ok) done_ += batch_.size();
    batch_.clear();
    bytes_ = 0;
    return s;
  }

  size_t done() const { return done_; }

 private:
  struct Pending {
    std::string data, meta;
    uint32_t flags;
    std::vector<std::string> keywords;
    int64_t date;
    uint32_t uid;
  };
  store::Store& store_;
  uint32_t mailbox_id_;
  std::vector<Pending> batch_;
  size_t bytes_ = 0, done_ = 0;
};

int import_failed(Status s, const std::string& mailbox, size_t imported) {
  return fail("import stopped in mailbox " + mailbox + ": " + store::status_text(s) + " (" + std::to_string(imported) +
              " messages were imported before)");
}

// --- import maildir ---

bool is_maildir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p / "cur", ec) || fs::is_directory(p / "new", ec);
}

struct Folder {
  std::string mailbox;
  fs::path dir;
};

// The root as INBOX, then each Maildir++ ".Sub.Folder" beside its cur/.
std::vector<Folder> maildir_folders(const fs::path& root, size_t& skipped) {
  std::vector<Folder> out{{"INBOX", root}};
  std::error_code ec;
  for (auto& e : fs::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with(".") || !e.is_directory(ec) || !is_maildir(e.path())) continue;
    if (auto mailbox = md::folder_to_mailbox(name)) {
      out.push_back({*mailbox, e.path()});
    } else {
      warn("folder " + name + ": its name is neither modified UTF-7 nor UTF-8; skipped");
      skipped++;
    }
  }
  std::sort(out.begin() + 1, out.end(), [](auto& a, auto& b) { return a.mailbox < b.mailbox; });
  return out;
}

struct MessageFile {
  std::string name, path;
  int64_t mtime;
  uint32_t uid = 0;  // Dovecot's, to keep
};

// cur/ and new/, in name order: Maildir names start with the delivery time.
std::vector<MessageFile> message_files(const fs::path& dir) {
  std::vector<MessageFile> out;
  for (const char* sub : {"cur", "new"}) {
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir / sub, ec)) {
      std::string name = e.path().filename().string(), path = e.path().string();
      struct stat st;
      if (name.starts_with(".") || stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      out.push_back({name, path, st.st_mtime});
    }
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

// Dovecot's UIDs, when the folder has a dovecot-uidlist and its mailbox is
// new here: clients that knew the mailbox need not fetch it again. The
// files it names come first, in UID order; the rest get new UIDs from its
// next UID on, never one Dovecot may have given out before. A mailbox that
// already has the list's UIDVALIDITY was imported from it before (again):
// the UIDs are those the first import gave.
std::optional<md::Uidlist> adopt_uidlist(Ctl& c, const fs::path& dir, uint32_t mailbox_id,
                                         std::vector<MessageFile>& files, bool& again) {
  std::string text, err;
  if (!read_file((dir / "dovecot-uidlist").string(), text, err)) return std::nullopt;
  auto list = md::parse_uidlist(text);
  if (!list) return std::nullopt;
  Status adopted = c.store->write_now([&](store::Txn& t) { return t.adopt_uidvalidity(mailbox_id, list->uidvalidity); });
  again = adopted == Status::exists && c.store->read([&](store::Txn& t) {
    auto mb = t.mailbox_by_id(mailbox_id);
    return mb && mb->uidvalidity == list->uidvalidity;
  });
  if (adopted != Status::ok && !again) return std::nullopt;
  auto uid_of = [&](const MessageFile& f) {
    auto it = list->uids.find(std::string_view(f.name).substr(0, f.name.find(":2,")));
    return it == list->uids.end() ? UINT32_MAX : it->second;
  };
  std::stable_sort(files.begin(), files.end(), [&](auto& a, auto& b) { return uid_of(a) < uid_of(b); });
  uint32_t next = list->uidnext;
  for (auto& f : files) f.uid = uid_of(f) == UINT32_MAX ? next++ : uid_of(f);
  return list;
}

// Whether the mailbox holds these very bytes under uid: a message an
// earlier import of the same folder brought in.
bool already_imported(Ctl& c, uint32_t mailbox_id, uint32_t uid, std::string_view data) {
  return c.store->read([&](store::Txn& t) {
    auto m = t.message(mailbox_id, uid);
    auto body = m ? t.body(m->body_id) : std::nullopt;
    return body && *body == data;
  });
}

// The messages a mailbox held before an import, by size and internal
// date (a Maildir file's mtime): without UIDs to go by, a file whose size
// and date match one of them and whose bytes are the same is that message.
class HeldBefore {
 public:
  HeldBefore(Ctl& c, uint32_t mailbox_id) : c_(c), mailbox_id_(mailbox_id) {
    c.store->read([&](store::Txn& t) {
      for (auto& m : t.messages(mailbox_id)) by_size_date_.emplace(std::pair(m.size, m.internal_date), m.uid);
      return 0;
    });
  }
  bool holds(std::string_view data, int64_t date) const {
    auto [from, to] = by_size_date_.equal_range(std::pair<uint64_t, int64_t>(data.size(), date));
    for (auto it = from; it != to; ++it)
      if (already_imported(c_, mailbox_id_, it->second, data)) return true;
    return false;
  }

 private:
  Ctl& c_;
  uint32_t mailbox_id_;
  std::multimap<std::pair<uint64_t, int64_t>, uint32_t> by_size_date_;
};

int import_maildir(Ctl& c) {
  auto user = find_user(c);
  if (!user) return fail("user " + c.args[0] + ": not found");
  fs::path root = c.args[1];
  struct stat st;
  if (stat(c.args[1].c_str(), &st) != 0) return fail(errno_text(c.args[1]));
  if (!S_ISDIR(st.st_mode) || !is_maildir(root)) return fail(c.args[1] + ": not a Maildir (no cur/ or new/ in it)");

  size_t skipped = 0, total = 0, odd_flags = 0;
  auto folders = maildir_folders(root, skipped);
  std::string subscriptions_text, err;
  // Dovecot's list of subscribed folders; without one every folder is subscribed.
  std::optional<std::vector<std::string>> subscriptions;
  if (read_file((root / "subscriptions").string(), subscriptions_text, err))
    subscriptions = md::parse_subscriptions(subscriptions_text);
  for (auto& f : folders) {
    md::KeywordTable keywords;
    std::string text;
    if (read_file((f.dir / "dovecot-keywords").string(), text, err)) keywords = md::parse_keywords_file(text);
    uint32_t mailbox_id = 0;
    Status s = prepare_mailbox(c, user->id, f.mailbox, mailbox_id);
    if (s == Status::ok && subscriptions) {
      bool listed = f.mailbox == "INBOX" ||
                    std::find(subscriptions->begin(), subscriptions->end(), f.mailbox) != subscriptions->end();
      s = c.store->write_now([&](store::Txn& t) { return t.set_subscribed(mailbox_id, listed); });
    }
    if (s != Status::ok) return import_failed(s, f.mailbox, total);
    Batcher batch(*c.store, mailbox_id);
    auto files = message_files(f.dir);
    size_t present = 0;
    bool again = false;
    auto uidlist = adopt_uidlist(c, f.dir, mailbox_id, files, again);
    std::optional<HeldBefore> held;  // matched by UID instead when again
    if (!again) held.emplace(c, mailbox_id);
    for (auto& m : files) {
      std::string data;
      if (!read_file(m.path, data, err))  // gone? Dovecot renames files: stop it during the import
        return fail(err + " (" + std::to_string(total + batch.done()) + " messages were imported before)");
      if (again ? already_imported(c, mailbox_id, m.uid, data) : held->holds(data, m.mtime)) {
        present++;
        continue;
      }
      auto flags = md::parse_filename(m.name, keywords);
      odd_flags += !flags.unknown.empty();
      if ((s = batch.add(std::move(data), flags.flags, std::move(flags.keywords), m.mtime, m.uid)) != Status::ok) break;
    }
    if (s == Status::ok) s = batch.flush();
    if (s == Status::ok && uidlist)
      s = c.store->write_now([&](store::Txn& t) { return t.raise_uidnext(mailbox_id, uidlist->uidnext); });
    total += batch.done();
    if (s != Status::ok) return import_failed(s, f.mailbox, total);
    if (present) printf("%s\t%zu messages\t%zu already here, skipped\n", f.mailbox.c_str(), batch.done(), present);
    else printf("%s\t%zu messages\n", f.mailbox.c_str(), batch.done());
  }
  if (odd_flags)
    warn(std::to_string(odd_flags) + " messages had flag letters that no dovecot-keywords entry explains;"
         " those were left out");
  printf("imported %zu messages into %zu mailboxes of %s\n", total, folders.size(), user->address.c_str());
  if (skipped) return fail(std::to_string(skipped) + " folders could not be imported");
  return 0;
}

// --- import mbox ---

int import_mbox(Ctl& c) {
  auto user = find_user(c);
  if (!user) return fail("user " + c.args[0] + ": not found");
  const std::string &mailbox = c.args[1], &path = c.args[2];
  if (!valid_utf8(mailbox)) return fail("mailbox " + mailbox + ": not UTF-8");
  MappedFile file;
  std::string err;
  if (!file.open(path, err)) return fail(err);
  md::MboxReader reader(file.text());
  if (!reader.valid()) return fail(path + ": not an mbox file (it does not start with a \"From \" line)");

  uint32_t mailbox_id = 0;
  Status s = prepare_mailbox(c, user->id, mailbox, mailbox_id);
  if (s != Status::ok) return import_failed(s, mailbox, 0);
  Batcher batch(*c.store, mailbox_id);
  md::MboxMessage m;
  while (s == Status::ok && reader.next(m)) {
    uint32_t flags = md::mbox_status_flags(m.data);
    s = batch.add(std::move(m.data), flags, {}, m.date.value_or(file.mtime()));
  }
  if (s == Status::ok) s = batch.flush();
  if (s != Status::ok) return import_failed(s, mailbox, batch.done());
  printf("imported %zu messages into %s of %s\n", batch.done(), mailbox.c_str(), user->address.c_str());
  return 0;
}

// --- export maildir ---

bool write_text(const fs::path& file, std::string_view text, std::string& err) {
  std::string path = file.string();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool written = fd >= 0 && write_all(fd, text);
  if (fd >= 0 && close(fd) != 0) written = false;
  if (!written) err = errno_text(path);
  return written;
}

bool make_maildir(const fs::path& dir, bool subfolder, std::string& err) {
  for (const char* sub : {"", "cur", "new", "tmp"}) {
    std::string p = (dir / sub).string();
    if (mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return err = errno_text(p), false;
  }
  // An empty maildirfolder file is Maildir++'s mark of a folder (Courier, Dovecot).
  return !subfolder || write_text(dir / "maildirfolder", "", err);
}

// Written in tmp/, then renamed into cur/: a Maildir reader never sees half a message.
bool write_message(const fs::path& dir, const std::string& unique, const std::string& name, std::string_view data,
                   int64_t date, std::string& err) {
  std::string tmp = (dir / "tmp" / unique).string(), dst = (dir / "cur" / name).string();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return err = errno_text(tmp), false;
  const timespec times[2] = {{static_cast<time_t>(date), 0}, {static_cast<time_t>(date), 0}};
  bool ok = write_all(fd, data) && futimens(fd, times) == 0;  // Dovecot reads the internal date from the mtime
  if (!ok) err = errno_text(tmp);
  if (close(fd) != 0 && ok) ok = false, err = errno_text(tmp);
  if (ok && rename(tmp.c_str(), dst.c_str()) != 0) ok = false, err = errno_text(dst);
  if (!ok) unlink(tmp.c_str());
  return ok;
}

int export_maildir(Ctl& c) {
  auto user = find_user(c);
  if (!user) return fail("user " + c.args[0] + ": not found");
  fs::path root = c.args[1];
  std::error_code ec;
  // Into an existing Maildir, a second export would double every message.
  if (fs::exists(root, ec) && !(fs::is_directory(root, ec) && fs::is_empty(root, ec)))
    return fail(c.args[1] + ": exists and is not an empty directory");
  std::string err;
  if (!make_maildir(root, false, err)) return fail(err);

  auto mailboxes = c.store->read([&](store::Txn& t) { return t.mailboxes(user->id); });
  std::vector<std::string> subscribed;
  for (auto& mb : mailboxes)
    if (mb.subscribed) subscribed.push_back(mb.name);
  // Without it a Dovecot shows the folders to clients that list subscribed ones only.
  if (!write_text(root / "subscriptions", md::format_subscriptions(subscribed), err)) return fail(err);
  size_t total = 0, dropped = 0, skipped = 0;
  for (auto& mb : mailboxes) {
    auto folder = md::mailbox_to_folder(mb.name);
    if (!folder) {
      warn("mailbox " + mb.name + ": no Maildir++ folder name can spell it; skipped");
      skipped++;
      continue;
    }
    fs::path dir = folder->empty() ? root : root / *folder;
    if (!folder->empty() && !make_maildir(dir, true, err)) return fail(err);
    md::KeywordTable keywords;
    std::vector<md::UidEntry> uids;
    uint32_t uidnext = mb.uidnext;
    size_t n = 0;
    // One snapshot per mailbox; bodies are written from the map, not copied.
    bool ok = c.store->read([&](store::Txn& t) {
      for (auto& m : t.messages(mb.id)) {
        auto body = t.body(m.body_id);
        if (!body) return err = "mailbox " + mb.name + ": the body of UID " + std::to_string(m.uid) + " is missing", false;
        // Unique within the folder by UID; ",S=" is Dovecot's size hint.
        std::string unique = std::to_string(m.internal_date) + ".U" + std::to_string(m.uid) + "V" +
                             std::to_string(mb.uidvalidity) + ".gannet,S=" + std::to_string(body->size());
        std::string name = md::make_filename(unique, m.flags, m.keywords, keywords, &dropped);
        if (!write_message(dir, unique, name, *body, m.internal_date, err)) return false;
        uids.push_back({m.uid, unique});
        uidnext = std::max(uidnext, m.uid + 1);  // a delivery since the mailbox list
        n++;
      }
      return true;
    });
    if (!ok) return fail(err + " (" + std::to_string(total + n) + " messages were exported before)");
    if (!keywords.empty() && !write_text(dir / "dovecot-keywords", md::format_keywords_file(keywords), err))
      return fail(err);
    if (!write_text(dir / "dovecot-uidlist", md::format_uidlist(mb.uidvalidity, uidnext, uids), err))
      return fail(err);
    total += n;
    printf("%s\t%zu messages\n", mb.name.c_str(), n);
  }
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool synced = fd >= 0 && syncfs(fd) == 0;  // the export may be the only copy soon
  if (!synced) err = errno_text(c.args[1]);
  if (fd >= 0) close(fd);
  if (!synced) return fail(err);
  if (dropped) warn(std::to_string(dropped) + " keywords were left out: a Maildir folder has only 26 keyword letters");
  printf("exported %zu messages in %zu mailboxes to %s\n", total, mailboxes.size() - skipped, c.args[1].c_str());
  if (skipped) return fail(std::to_string(skipped) + " mailboxes could not be exported");
  return 0;
}

const Command commands[] = {
    {"import", "maildir", 2, 2, "import maildir ADDRESS PATH", import_maildir},
    {"import", "mbox", 3, 3, "import mbox ADDRESS MAILBOX PATH", import_mbox},
    {"export", "maildir", 2, 2, "export maildir ADDRESS PATH", export_maildir},
};

}  // namespace

std::span<const Command> import_commands() { return commands; }

}  // namespace gannet::ctl
