// Config language: nginx's syntax, directive tables, typed setters.
#pragma once

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gannet {

struct Module;
struct Cycle;

// A directive's flags: where it may appear, and how many arguments it
// takes (bitmask, like NGX_MAIL_SRV_CONF|NGX_CONF_TAKE12).
enum : unsigned {
  CTX_MAIN = 1u << 0,
  CTX_EVENTS = 1u << 1,
  CTX_MAIL = 1u << 2,
  CTX_SERVER = 1u << 3,

  TAKE0 = 1u << 8,
  TAKE1 = 1u << 9,
  TAKE2 = 1u << 10,
  TAKE3 = 1u << 11,
  TAKE12 = TAKE1 | TAKE2,
  TAKE123 = TAKE1 | TAKE2 | TAKE3,
  ONE_MORE = 1u << 12,
  BLOCK = 1u << 13,  // followed by { ... } instead of ;
};

// Which configuration struct of its module a directive writes.
enum class Slot { main, srv };

// One parsed statement: the name, its arguments and where it stood.
struct Stmt {
  std::vector<std::string> words;  // words[0] is the directive name
  std::string file;
  int line = 0;
  std::span<const std::string> args() const { return {words.data() + 1, words.size() - 1}; }
  const std::string& name() const { return words[0]; }
};

// A config error: message plus the FILE:LINE it belongs to.
struct ConfError : std::runtime_error {
  std::string file;
  int line;
  ConfError(std::string msg, std::string f, int l)
      : std::runtime_error(std::move(msg)), file(std::move(f)), line(l) {}
  // FILE:LINE, or FILE alone for a check of the whole file (line 0).
  std::string where() const {
    if (file.empty()) return what();
    return std::string(what()) + " in " + file + (line > 0 ? ":" + std::to_string(line) : "");
  }
};

// Base of every module's configuration struct, so the core can own them.
struct ModuleConf {
  virtual ~ModuleConf() = default;
};

using ConfVector = std::vector<std::unique_ptr<ModuleConf>>;

class ConfParser;
using SetFn = void (*)(ConfParser&, const Stmt&, ModuleConf*);

struct Directive {
  std::string_view name;
  unsigned flags;  // CTX_* | TAKE* | BLOCK
  Slot slot;
  SetFn set;
};

// Value parsers shared by setters and modules. Throw ConfError-free
// std::nullopt on a bad value; the caller names the directive.
std::optional<bool> parse_flag(std::string_view);
std::optional<int64_t> parse_number(std::string_view);
std::optional<uint64_t> parse_size(std::string_view);   // 512, 512k, 10m, 1g
std::optional<uint64_t> parse_msec(std::string_view);   // 500ms, 30s, 5m, 1h, 2d

// The parser: reads files, follows include, dispatches statements to the
// directive tables of the cycle's modules.
class ConfParser {
 public:
  explicit ConfParser(Cycle& cycle) : cycle_(cycle) {}

  // Parses FILE in the main context.
  void parse_file(const std::string& path);
  // Parses TEXT in the main context; NAME stands for its file in errors.
  void parse_string(const std::string& name, std::string text);
  // Parses the block that follows a BLOCK directive, in context ctx with
  // the given main/srv conf vectors.
  void parse_block(unsigned ctx, ConfVector* srv);

  [[noreturn]] void fail(const Stmt& s, const std::string& msg) const;
  [[noreturn]] void invalid_value(const Stmt& s, std::string_view value) const;
  Cycle& cycle() { return cycle_; }
  std::string resolve(std::string_view path) const;  // relative to the prefix

 private:
  struct Lexer;
  enum class End { eof, block_end };
  End parse_statements(Lexer& lx, unsigned ctx, ConfVector* srv, bool in_block);
  void dispatch(Lexer& lx, Stmt& s, unsigned ctx, ConfVector* srv, bool has_block);
  void include(const Stmt& s, unsigned ctx, ConfVector* srv);

  Cycle& cycle_;
  Lexer* lexer_ = nullptr;  // the lexer a BLOCK directive's setter continues with
  int include_depth_ = 0;
};

// --- typed setters: one template per value type, bound to a member ---

template <class M> struct member_of;
template <class C, class V> struct member_of<V C::*> { using cls = C; using value = V; };

template <auto M>
auto& conf_field(ModuleConf* c) {
  using C = typename member_of<decltype(M)>::cls;
  return static_cast<C*>(c)->*M;
}

inline constexpr char kOnOff[] = ", it must be \"on\" or \"off\"";

// A single value parsed by Parse (returning an optional), written once;
// Hint, if any, ends the error message.
inline constexpr char kNoHint[] = "";

template <auto M, auto Parse, const char* Hint = kNoHint>
void set_parsed(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& f = conf_field<M>(c);
  if (f) p.fail(s, "\"" + s.name() + "\" directive is duplicate");
  auto v = Parse(s.args()[0]);
  if (!v) p.fail(s, "invalid value \"" + s.args()[0] + "\" in \"" + s.name() + "\" directive" + Hint);
  f = *v;
}

template <auto M> constexpr SetFn set_flag = set_parsed<M, parse_flag, kOnOff>;  // on | off
template <auto M> constexpr SetFn set_size = set_parsed<M, parse_size>;    // 512k, 10m
template <auto M> constexpr SetFn set_msec = set_parsed<M, parse_msec>;    // 30s, 5m

template <auto M, int64_t Min = 0, int64_t Max = INT64_MAX>
void set_number(ConfParser& p, const Stmt& s, ModuleConf* c) {
  set_parsed<M, parse_number>(p, s, c);
  if (*conf_field<M>(c) < Min || *conf_field<M>(c) > Max) p.invalid_value(s, s.args()[0]);
}

template <auto M>
void set_str(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& f = conf_field<M>(c);
  if (f) p.fail(s, "\"" + s.name() + "\" directive is duplicate");
  f = s.args()[0];
}

// A path: resolved against the prefix when relative.
template <auto M>
void set_path(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& f = conf_field<M>(c);
  if (f) p.fail(s, "\"" + s.name() + "\" directive is duplicate");
  f = p.resolve(s.args()[0]);
}

// Repeatable directive: each occurrence appends its arguments.
template <auto M>
void add_str(ConfParser&, const Stmt& s, ModuleConf* c) {
  auto& f = conf_field<M>(c);
  if (!f) f.emplace();
  for (auto& a : s.args()) f->push_back(a);
}

// Merge helpers: the child keeps what it set, else inherits, else default.
template <class T, class D>
void merge(std::optional<T>& child, const std::optional<T>& parent, D&& def) {
  if (!child) child = parent ? *parent : T(std::forward<D>(def));
}
template <class T>
void merge(std::optional<T>& child, const std::optional<T>& parent) {
  if (!child && parent) child = parent;
}

}  // namespace gannet
