#include "mail/message_buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gannet::mail {

namespace {

// Octets per write: big enough that a message costs few pool round trips,
// small enough that two of them waiting are nothing beside the message.
constexpr size_t kBlock = 128 << 10;

// Work on the pool that keeps the buffer alive until it is back on the loop.
struct Job {
  uv_work_t req;
  std::shared_ptr<MessageBuffer> self;
  std::function<void()> work, after;
};

void queue_job(uv_loop_t* loop, std::shared_ptr<MessageBuffer> self, std::function<void()> work,
               std::function<void()> after) {
  auto* j = new Job{{}, std::move(self), std::move(work), std::move(after)};
  j->req.data = j;
  uv_queue_work(
      loop, &j->req, [](uv_work_t* r) { static_cast<Job*>(r->data)->work(); },
      [](uv_work_t* r, int) {
        auto* job = static_cast<Job*>(r->data);
        job->after();
        delete job;
      });
}

struct WriteReq {
  uv_fs_t fs;
  std::shared_ptr<MessageBuffer> self;
};

// An unlinked file: nothing to clean up after a crash. O_TMPFILE where the
// file system has it, else a name removed at once.
int open_spool_file(const std::string& dir, int& err) {
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string path = dir + "/.spool-XXXXXX";
    fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) unlink(path.c_str());
  }
  err = fd < 0 ? errno : 0;
  return fd;
}

// The parse of a body that front's header fields precede: every offset
// moves by their length, and the top part's header starts with them.
void put_fields_in_front(ParsedMessage& m, uint64_t n) {
  m.size += n;
  for (size_t i = 0; i < m.parts.size(); i++) {
    Part& p = m.parts[i];
    if (i > 0) p.header_start += n;
    p.header_end += n;
    p.body_start += n;
    p.body_end += n;
  }
}

}  // namespace

std::shared_ptr<MessageBuffer> MessageBuffer::create(uv_loop_t* loop, std::string spill_dir, size_t spill_at) {
  return std::shared_ptr<MessageBuffer>(new MessageBuffer(loop, std::move(spill_dir), spill_at));
}

MessageBuffer::MessageBuffer(uv_loop_t* loop, std::string spill_dir, size_t spill_at)
    : loop_(loop), dir_(std::move(spill_dir)), spill_at_(spill_at) {}

MessageBuffer::~MessageBuffer() {
  if (fd_ >= 0) ::close(fd_);  // never released (a store's writer held it last)
}

void MessageBuffer::append(std::string_view bytes) {
  if (dropped_ || released_) return;
  body_size_ += bytes.size();
  if (!error_.empty()) return;  // refused at finish; the stream is still followed
  if (spilled_) {
    pending_.append(bytes);
    return kick();
  }
  mem_.append(bytes);
  if (mem_.size() <= spill_at_) return;
  // The file holds the whole body; memory keeps its head.
  spilled_ = true;
  pending_.reserve(2 * kBlock + spill_at_);
  pending_ = mem_;
  mem_.resize(spill_at_);
  mem_.shrink_to_fit();
  kick();
}

void MessageBuffer::drop() {
  dropped_ = true;
  std::string().swap(mem_);
  std::string().swap(pending_);
}

bool MessageBuffer::backlogged() const { return spilled_ && !dropped_ && pending_.size() >= 2 * kBlock; }

void MessageBuffer::kick() {
  if (!spilled_ || dropped_ || !error_.empty() || released_) return;  // nothing for the disk
  if (fd_ < 0) {
    if (!opening_) start_open();
    return;
  }
  if (!writing_.empty() || pending_.empty() || (pending_.size() < kBlock && !done_)) return;
  writing_.swap(pending_);
  start_write();
}

void MessageBuffer::start_open() {
  opening_ = true;
  auto fd = std::make_shared<int>(-1), err = std::make_shared<int>(0);
  queue_job(
      loop_, shared_from_this(), [fd, err, dir = dir_] { *fd = open_spool_file(dir, *err); },
      [this, fd, err] {
        opening_ = false;
        fd_ = *fd;
        if (fd_ < 0) {
          error_ = "cannot make a spool file in \"" + dir_ + "\" (" + strerror(*err) + ")";
          std::string().swap(pending_);
        }
        if (released_) return close_file();
        kick();
        if (on_room_ && !backlogged()) on_room_();
        maybe_done();
      });
}

void MessageBuffer::start_write() {
  auto* w = new WriteReq{{}, shared_from_this()};
  uv_buf_t buf = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  uv_fs_write(loop_, &w->fs, fd_, &buf, 1, static_cast<int64_t>(file_off_), [](uv_fs_t* fs) {
    auto* w = reinterpret_cast<WriteReq*>(fs);
    ssize_t n = fs->result;
    uv_fs_req_cleanup(fs);
    auto self = std::move(w->self);
    delete w;
    self->written(n);
  });
}

void MessageBuffer::written(ssize_t n) {
  if (n <= 0) {
    error_ = std::string("write to the spool file failed (") + (n < 0 ? uv_strerror(static_cast<int>(n)) : "no progress") + ")";
    std::string().swap(pending_);
    writing_.clear();
  } else {
    file_off_ += n;
    writing_.erase(0, n);
    if (!writing_.empty() && !released_) return start_write();  // a short write
  }
  writing_.clear();
  if (released_) return close_file();
  kick();
  if (on_room_ && !backlogged()) on_room_();
  maybe_done();
}

void MessageBuffer::finish(std::function<void(const std::string&)> done) {
  done_ = std::move(done);
  kick();
  maybe_done();
}

void MessageBuffer::maybe_done() {
  if (!done_) return;
  bool flushed = !spilled_ || dropped_ || (fd_ >= 0 && writing_.empty() && pending_.empty());
  if (!flushed && error_.empty()) return;
  auto done = std::move(done_);
  done_ = nullptr;
  done(error_);
}

void MessageBuffer::release() {
  released_ = true;
  done_ = nullptr;
  on_room_ = nullptr;
  std::string().swap(front_);
  std::string().swap(mem_);
  std::string().swap(pending_);
  if (writing_.empty() && !opening_) close_file();  // else when the disk answers
}

// Closing an unlinked file frees its blocks: on the pool, not the loop.
void MessageBuffer::close_file() {
  if (fd_ < 0) return;
  auto* req = new uv_fs_t;
  uv_fs_close(loop_, req, fd_, [](uv_fs_t* r) {
    uv_fs_req_cleanup(r);
    delete r;
  });
  fd_ = -1;
}

bool MessageBuffer::read(uint64_t off, size_t len, char* dst) const {
  if (off < front_.size()) {
    size_t n = std::min<uint64_t>(len, front_.size() - off);
    memcpy(dst, front_.data() + off, n);
    dst += n, off += n, len -= n;
  }
  off -= front_.size();
  if (len == 0) return true;
  if (off + len > body_size_) return false;
  if (!spilled_) {
    memcpy(dst, mem_.data() + off, len);
    return true;
  }
  while (len > 0) {
    ssize_t n = pread(fd_, dst, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    dst += n, off += n, len -= n;
  }
  return true;
}

ParsedMessage MessageBuffer::parse() const {
  ParsedMessage m;
  if (!spilled_) {
    m = parse_message(mem_);
  } else {
    // Mapped, not read: the pages are the file's, gone from this process
    // when unmapped, and never a second copy in its memory.
    void* p = mmap(nullptr, body_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p != MAP_FAILED) {  // else the store's copy fails too, and says so
      madvise(p, body_size_, MADV_SEQUENTIAL);
      m = parse_message(std::string_view(static_cast<const char*>(p), body_size_));
      munmap(p, body_size_);
    }
  }
  put_fields_in_front(m, front_.size());
  return m;
}

}  // namespace gannet::mail
