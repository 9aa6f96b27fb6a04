// The config file reader: an nginx-style lexer and a table-driven dispatcher.
#include "conf.h"

#include <fcntl.h>
#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cycle.h"

namespace gannet {

namespace {
constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxConfFile = 16u << 20;
constexpr size_t kMaxWord = 64u << 10;
}  // namespace

// --- values ---

std::optional<bool> parse_flag(std::string_view v) {
  if (v == "on") return true;
  if (v == "off") return false;
  return std::nullopt;
}

std::optional<int64_t> parse_number(std::string_view v) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
  return n;
}

namespace {
// "<digits><unit>" with the unit's multiplier from table; no unit = scale 1.
template <size_t N>
std::optional<uint64_t> parse_scaled(std::string_view v, const std::pair<std::string_view, uint64_t> (&units)[N]) {
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') digits++;
  if (digits == 0 || digits > 15) return std::nullopt;
  uint64_t n = 0;
  std::from_chars(v.data(), v.data() + digits, n);
  std::string_view unit = v.substr(digits);
  for (auto& [name, mult] : units)
    if (unit == name) return n <= UINT64_MAX / mult ? std::optional<uint64_t>(n * mult) : std::nullopt;
  return std::nullopt;
}
}  // namespace

std::optional<uint64_t> parse_size(std::string_view v) {
  static const std::pair<std::string_view, uint64_t> units[] = {
      {"", 1}, {"k", 1u << 10}, {"K", 1u << 10}, {"m", 1u << 20}, {"M", 1u << 20},
      {"g", 1ull << 30}, {"G", 1ull << 30}};
  return parse_scaled(v, units);
}

std::optional<uint64_t> parse_msec(std::string_view v) {
  static const std::pair<std::string_view, uint64_t> units[] = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  return parse_scaled(v, units);
}

// --- lexer ---

// Not strchr: it would match the terminating NUL, and a NUL in the text
// would then end every word before its first byte, forever.
static bool is_separator(char c) { return std::string_view(" \t\r\n;{}").find(c) != std::string_view::npos; }

// Splits one file into statements. Knows quotes, escapes and comments.
struct ConfParser::Lexer {
  std::string file;
  std::string text;
  size_t pos = 0;
  int line = 1;

  enum class Tok { word_end, block_start, block_end, eof };

  // Reads words up to ';', '{' or '}' into s. Returns what ended it.
  Tok next(Stmt& s) {
    s.words.clear();
    s.file = file;
    s.line = 0;
    for (;;) {
      skip_space_and_comments();
      if (pos >= text.size()) {
        if (!s.words.empty()) throw ConfError("unexpected end of file, expecting \";\" or \"}\"", file, line);
        return Tok::eof;
      }
      char c = text[pos];
      if (c == ';' || c == '{') {
        if (s.words.empty()) throw ConfError(std::string("unexpected \"") + c + "\"", file, line);
        pos++;
        return c == ';' ? Tok::word_end : Tok::block_start;
      }
      if (c == '}') {
        if (!s.words.empty()) throw ConfError("unexpected \"}\"", file, line);
        pos++;
        s.line = line;
        return Tok::block_end;
      }
      if (s.words.empty()) s.line = line;
      s.words.push_back(read_word());
    }
  }

  void skip_space_and_comments() {
    while (pos < text.size()) {
      char c = text[pos];
      if (c == '\n') { line++; pos++; }
      else if (c == ' ' || c == '\t' || c == '\r') pos++;
      else if (c == '#') { while (pos < text.size() && text[pos] != '\n') pos++; }
      else break;
    }
  }

  std::string read_word() {
    std::string w;
    char q = text[pos];
    if (q == '"' || q == '\'') {
      int start_line = line;
      pos++;
      for (;;) {
        if (pos >= text.size()) throw ConfError("unexpected end of file, unterminated quoted string", file, start_line);
        char c = text[pos++];
        if (c == q) break;
        if (c == '\n') line++;
        if (c == '\\' && pos < text.size()) {
          char e = text[pos++];
          switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\n': line++; c = '\n'; break;
            default: c = e;  // \" \' \\ and anything else: the character itself
          }
        }
        w.push_back(c);
        if (w.size() > kMaxWord) throw ConfError("too long parameter", file, line);
      }
      // nginx requires a separator after a closing quote.
      if (pos < text.size() && !is_separator(text[pos]))
        throw ConfError(std::string("unexpected \"") + text[pos] + "\"", file, line);
      return w;
    }
    while (pos < text.size()) {
      char c = text[pos];
      if (is_separator(c)) break;
      if (c == '\\' && pos + 1 < text.size()) { pos++; c = text[pos]; if (c == '\n') line++; }
      w.push_back(c);
      pos++;
      if (w.size() > kMaxWord) throw ConfError("too long parameter", file, line);
    }
    return w;
  }
};

// --- parser ---

std::string ConfParser::resolve(std::string_view path) const {
  if (path.empty() || path[0] == '/' || path == "stderr") return std::string(path);
  return cycle_.prefix + "/" + std::string(path);
}

void ConfParser::fail(const Stmt& s, const std::string& msg) const { throw ConfError(msg, s.file, s.line); }

void ConfParser::invalid_value(const Stmt& s, std::string_view v) const {
  fail(s, "invalid value \"" + std::string(v) + "\" in \"" + s.name() + "\" directive");
}

// Plain read(2): an ifstream reads a directory as an empty file, and
// reading all of /dev/zero before checking the size never ends.
static std::string read_file(const std::string& path, const std::string& from_file, int from_line) {
  auto error = [&](const char* call) {
    return ConfError(std::string(call) + " \"" + path + "\" failed (" + strerror(errno) + ")", from_file, from_line);
  };
  struct Fd {
    int fd;
    ~Fd() { if (fd >= 0) close(fd); }
  } f{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw error("open()");
  std::string text;
  char buf[64 << 10];
  for (;;) {
    ssize_t n = read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw error("read()");
    if (n == 0) return text;
    text.append(buf, n);
    if (text.size() > kMaxConfFile) throw ConfError("\"" + path + "\" is too large", from_file, from_line);
  }
}

void ConfParser::parse_file(const std::string& path) { parse_string(path, read_file(path, "", 0)); }

void ConfParser::parse_string(const std::string& name, std::string text) {
  Lexer lx{name, std::move(text)};
  parse_statements(lx, CTX_MAIN, nullptr, false);
}

ConfParser::End ConfParser::parse_statements(Lexer& lx, unsigned ctx, ConfVector* srv, bool in_block) {
  Stmt s;
  for (;;) {
    auto tok = lx.next(s);
    if (tok == Lexer::Tok::eof) {
      if (in_block) throw ConfError("unexpected end of file, expecting \"}\"", lx.file, lx.line);
      return End::eof;
    }
    if (tok == Lexer::Tok::block_end) {
      if (!in_block) throw ConfError("unexpected \"}\"", lx.file, s.line);
      return End::block_end;
    }
    dispatch(lx, s, ctx, srv, tok == Lexer::Tok::block_start);
  }
}

void ConfParser::parse_block(unsigned ctx, ConfVector* srv) {
  parse_statements(*lexer_, ctx, srv, true);
}

void ConfParser::include(const Stmt& s, unsigned ctx, ConfVector* srv) {
  if (s.args().size() != 1) fail(s, "invalid number of arguments in \"include\" directive");
  if (++include_depth_ > kMaxIncludeDepth) fail(s, "include nesting is too deep");
  std::string pattern = resolve(s.args()[0]);
  glob_t g{};
  // A directory that does not exist simply matches nothing (as in nginx);
  // one that cannot be read is an error.
  auto on_error = [](const char*, int err) -> int { return err != ENOENT && err != ENOTDIR; };
  int rc = glob(pattern.c_str(), 0, on_error, &g);
  bool has_magic = pattern.find_first_of("*?[") != std::string::npos;
  if (rc == GLOB_NOMATCH && !has_magic) {
    globfree(&g);
    fail(s, "open() \"" + pattern + "\" failed (No such file or directory)");
  }
  if (rc != 0 && rc != GLOB_NOMATCH) {
    globfree(&g);
    fail(s, "glob() \"" + pattern + "\" failed");
  }
  std::vector<std::string> files(g.gl_pathv, g.gl_pathv + g.gl_pathc);  // glob sorts them
  globfree(&g);
  for (auto& f : files) {
    Lexer lx{f, read_file(f, s.file, s.line)};
    Lexer* outer = lexer_;
    lexer_ = &lx;
    parse_statements(lx, ctx, srv, false);
    lexer_ = outer;
  }
  include_depth_--;
}

static bool args_ok(unsigned flags, size_t n) {
  if (flags & ONE_MORE) return n >= 1;
  if (n > 3) return false;
  static constexpr unsigned take[] = {TAKE0, TAKE1, TAKE2, TAKE3};
  return flags & take[n];
}

void ConfParser::dispatch(Lexer& lx, Stmt& s, unsigned ctx, ConfVector* srv, bool has_block) {
  if (s.name() == "include") {
    if (has_block) fail(s, "directive \"include\" is not terminated by \";\"");
    include(s, ctx, srv);
    return;
  }
  bool known = false;
  for (const Module* m : cycle_.modules) {
    for (const Directive& d : m->directives) {
      if (d.name != s.name()) continue;
      known = true;
      if (!(d.flags & ctx)) continue;  // another module may take it here
      if ((d.flags & BLOCK) && !has_block) fail(s, "directive \"" + s.name() + "\" has no opening \"{\"");
      if (!(d.flags & BLOCK) && has_block) fail(s, "directive \"" + s.name() + "\" is not terminated by \";\"");
      if (!args_ok(d.flags, s.args().size())) fail(s, "invalid number of arguments in \"" + s.name() + "\" directive");
      ModuleConf* conf = nullptr;
      if (d.slot == Slot::main) conf = cycle_.main_confs[m->index].get();
      else if (srv) conf = (*srv)[m->index].get();
      Lexer* outer = lexer_;
      lexer_ = &lx;
      d.set(*this, s, conf);
      lexer_ = outer;
      return;
    }
  }
  if (!known) fail(s, "unknown directive \"" + s.name() + "\"");
  fail(s, "\"" + s.name() + "\" directive is not allowed here");
}

}  // namespace gannet
