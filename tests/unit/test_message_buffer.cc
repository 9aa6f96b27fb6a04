// MessageBuffer: a message held in memory up to a size, then spilled to an
// unlinked file, read back byte for byte and parsed with the header fields
// in front counted in every offset.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <uv.h>

#include <string>

#include "mail/message_buffer.h"
#include "mail/message_parser.h"
#include "test_util.h"

using gannet::mail::MessageBuffer;

namespace {

const std::string kFront = "Received: from a.test by b.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n";

std::string body_of(size_t n) {
  std::string b = "From: a@b.test\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n--q\r\n\r\n";
  for (size_t i = 0; b.size() < n; i++) b += "line " + std::to_string(i) + " of the first part\r\n";
  return b + "--q\r\nContent-Type: text/html\r\n\r\n<p>\r\n--q--\r\n";
}

// Feeds body in pieces, running the loop whenever the buffer says it is
// behind, as a session pauses its socket; then finishes.
std::string fill_and_finish(uv_loop_t* loop, MessageBuffer& m, const std::string& body, size_t piece,
                            int* pauses = nullptr) {
  for (size_t off = 0; off < body.size(); off += piece) {
    m.append(std::string_view(body).substr(off, piece));
    if (!m.backlogged()) continue;
    bool room = false;
    m.on_room([&] { room = true; });
    if (pauses) ++*pauses;
    while (!room) uv_run(loop, UV_RUN_ONCE);
    m.on_room(nullptr);
  }
  std::string err = "not called";
  m.finish([&](const std::string& e) { err = e; });
  while (err == "not called") uv_run(loop, UV_RUN_ONCE);
  return err;
}

std::string read_all(const MessageBuffer& m) {
  std::string out(m.size(), '\0');
  REQUIRE(m.read(0, out.size(), out.data()));
  return out;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.' || e->d_name[1] == 's';  // .spool-* counts
  closedir(d);
  return n;
}

size_t open_fds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

}  // namespace

TEST_CASE("MessageBuffer: a small message stays in memory", "[message_buffer]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TempDir dir;
  auto m = MessageBuffer::create(&loop, dir.path, 1 << 20);
  m->set_front(kFront);
  std::string body = body_of(4000);
  size_t fds = open_fds();
  REQUIRE(fill_and_finish(&loop, *m, body, 100).empty());
  uv_run(&loop, UV_RUN_NOWAIT);
  REQUIRE(open_fds() == fds);  // no spool file was opened for it
  REQUIRE_FALSE(m->spilled());
  REQUIRE(m->size() == kFront.size() + body.size());
  REQUIRE(read_all(*m) == kFront + body);
  REQUIRE(m->start() == kFront + body);
  REQUIRE(m->parse() == gannet::mail::parse_message(kFront + body));
  m->release();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("MessageBuffer: a big message goes to a file, memory keeps its head", "[message_buffer]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TempDir dir;
  const size_t spill_at = 4096;
  auto m = MessageBuffer::create(&loop, dir.path, spill_at);
  m->set_front(kFront);
  std::string body = body_of(3 << 20);  // many write blocks: the reader must be held back
  int pauses = 0;
  REQUIRE(fill_and_finish(&loop, *m, body, 64 << 10, &pauses).empty());
  REQUIRE(m->spilled());
  REQUIRE(pauses > 0);
  REQUIRE(m->head() == std::string_view(body).substr(0, spill_at));
  REQUIRE(m->body_size() == body.size());

  std::string whole = kFront + body;
  REQUIRE(read_all(*m) == whole);
  std::string mid(1000, '\0');  // a piece across the front and the body
  REQUIRE(m->read(kFront.size() - 10, mid.size(), mid.data()));
  REQUIRE(mid == whole.substr(kFront.size() - 10, 1000));
  REQUIRE_FALSE(m->read(whole.size() - 5, 10, mid.data()));  // past the end

  m->prepend("Return-Path: <a@b.test>\r\n");  // as delivery does, after the filters
  whole = "Return-Path: <a@b.test>\r\n" + whole;
  REQUIRE(read_all(*m) == whole);
  auto parsed = m->parse();
  REQUIRE(parsed == gannet::mail::parse_message(whole));
  REQUIRE(parsed.parts.size() == 3);

  REQUIRE(files_in(dir.path) == 0);  // unlinked from the start: nothing to clean after a crash
  m->release();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("MessageBuffer: a dropped message keeps nothing and finishes at once", "[message_buffer]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TempDir dir;
  auto m = MessageBuffer::create(&loop, dir.path, 1024);
  m->append(std::string(100000, 'x'));
  m->drop();
  m->append(std::string(100000, 'y'));
  REQUIRE_FALSE(m->backlogged());
  REQUIRE(fill_and_finish(&loop, *m, "", 1).empty());
  REQUIRE(m->head().empty());
  m->release();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("MessageBuffer: a spool directory that cannot be written fails the message at finish", "[message_buffer]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  auto m = MessageBuffer::create(&loop, "/nonexistent/gannet-spool", 1024);
  std::string err = fill_and_finish(&loop, *m, body_of(300000), 8192);
  REQUIRE(err.find("cannot make a spool file") != std::string::npos);
  m->release();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
}
