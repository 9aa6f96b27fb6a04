// A message on its way to the store (SMTP DATA and BDAT, later IMAP APPEND):
// the header fields the server puts in front (trace, a filter's verdict),
// then the body as the client sent it.
//
// Up to spill_at octets of body stay in memory. Past that the body goes to
// an unlinked file in the store's directory, written on the thread pool one
// block at a time, and the memory holds only its first spill_at octets (for
// filters and reports): a worker holds well under a MiB of any message,
// however large, and the store copies the body from the file straight into
// its own pages. The reader stops while blocks wait for the disk
// (backlogged()) and goes on at on_room().
//
// The loop's thread owns it. Once finish() has called back and until
// release(), nothing changes it and any thread may read it (the store's
// writer does).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "mail/message_parser.h"

namespace gannet::mail {

class MessageBuffer : public std::enable_shared_from_this<MessageBuffer> {
 public:
  static std::shared_ptr<MessageBuffer> create(uv_loop_t* loop, std::string spill_dir, size_t spill_at);
  ~MessageBuffer();

  // --- filling, on the loop ---
  void set_front(std::string front) { front_ = std::move(front); }
  void prepend(std::string_view fields) { front_.insert(0, fields); }
  void append(std::string_view bytes);
  // Forget the body (it will be refused); what follows is not kept.
  void drop();

  bool backlogged() const;
  void on_room(std::function<void()> cb) { on_room_ = std::move(cb); }
  // Called once every octet is on disk, with "" or what went wrong.
  void finish(std::function<void(const std::string& err)> done);
  // Closes the file on the pool. The buffer is empty after.
  void release();

  // --- reading ---
  size_t size() const { return front_.size() + body_size_; }
  size_t body_size() const { return body_size_; }
  const std::string& front() const { return front_; }
  // The body's first octets, in memory: all of it unless spilled().
  std::string_view head() const { return mem_; }
  // front() + head(): the start of the whole message.
  std::string start() const { return front_ + mem_; }
  bool spilled() const { return spilled_; }

  // After finish: octets [off, off + len) of the whole message into dst.
  bool read(uint64_t off, size_t len, char* dst) const;
  // After finish, off the loop (it reads the whole body): the MIME parse of
  // the whole message.
  ParsedMessage parse() const;

 private:
  MessageBuffer(uv_loop_t* loop, std::string spill_dir, size_t spill_at);
  void kick();
  void start_open();
  void start_write();
  void written(ssize_t n);
  void maybe_done();
  void close_file();

  uv_loop_t* loop_;
  std::string dir_;
  size_t spill_at_;
  std::string front_;
  std::string mem_;       // the body, or its first spill_at octets once spilled
  std::string pending_;   // spilled octets not yet handed to the disk
  std::string writing_;   // the block a write has in flight
  uint64_t body_size_ = 0, file_off_ = 0;
  int fd_ = -1;
  bool spilled_ = false, dropped_ = false, opening_ = false, released_ = false;
  std::string error_;
  std::function<void()> on_room_;
  std::function<void(const std::string&)> done_;
};

}  // namespace gannet::mail
