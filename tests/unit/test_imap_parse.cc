// IMAP's command grammar: tags, atoms with sections, quoted strings,
// literals, lists, limits; literal announcements; sequence sets; quoting.
#include <catch2/catch.hpp>

#include "../../modules/imap/imap_parse.h"

using namespace gannet::imap;

namespace {

Command parsed(const std::string& wire) {
  Command c;
  auto err = parse_command(wire, c);
  INFO(wire << ": " << err.value_or(""));
  REQUIRE_FALSE(err);
  return c;
}

std::string error_of(const std::string& wire) {
  Command c;
  return parse_command(wire, c).value_or("");
}

}  // namespace

TEST_CASE("IMAP: a command's tag, name and arguments", "[imap][parse]") {
  Command c = parsed("a1 login alice@example.test \"pass \\\"word\\\\\"");
  REQUIRE(c.tag == "a1");
  REQUIRE(c.name == "LOGIN");
  REQUIRE(c.args.size() == 2);
  REQUIRE(c.args[0].kind == Arg::Kind::atom);
  REQUIRE(c.args[0].text == "alice@example.test");
  REQUIRE(c.args[1].kind == Arg::Kind::string);
  REQUIRE(c.args[1].text == "pass \"word\\");

  c = parsed("x uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> NIL)");
  REQUIRE(c.name == "UID FETCH");
  REQUIRE(c.args.size() == 2);
  REQUIRE(c.args[1].kind == Arg::Kind::list);
  REQUIRE(c.args[1].items.size() == 3);
  REQUIRE(c.args[1].items[1].text == "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>");
  REQUIRE(c.args[1].items[2].kind == Arg::Kind::nil);
  REQUIRE(parsed("t NOOP").args.empty());
}

TEST_CASE("IMAP: literals are read inline, octets as they are", "[imap][parse]") {
  Command c = parsed(std::string("a LOGIN {5}\r\nal\0ce {3+}\r\n\r\n\"", 28));
  REQUIRE(c.args.size() == 2);
  REQUIRE(c.args[0].text == std::string("al\0ce", 5));
  REQUIRE(c.args[1].text == "\r\n\"");
  REQUIRE(c.args[1].kind == Arg::Kind::string);
  REQUIRE(error_of("a LOGIN {9}\r\nshort") == "bad literal");
}

TEST_CASE("IMAP: bad syntax is an error with a reason, never a crash", "[imap][parse]") {
  REQUIRE(error_of("") == "bad tag");
  REQUIRE(error_of("+tag NOOP") == "bad tag");
  REQUIRE(error_of("a*b NOOP") == "bad tag");
  REQUIRE(error_of("tagonly") == "missing command");
  REQUIRE(error_of("a LOGIN  x") == "stray space");
  REQUIRE(error_of("a LOGIN x ") == "stray space");
  REQUIRE(error_of("a LOGIN \"open") == "unterminated quoted string");
  REQUIRE(error_of("a LOGIN \"bad\\q\"") == "bad escape in a quoted string");
  REQUIRE(error_of("a FETCH 1 (FLAGS") == "unclosed list");
  REQUIRE(error_of("a FETCH 1 FLAGS)") == "unexpected )");
  REQUIRE(error_of("a FETCH 1 BODY[HEADER") == "unclosed [");
  REQUIRE(error_of("a X " + std::string(kMaxDepth, '(') + std::string(kMaxDepth, ')')).empty());
  REQUIRE(error_of("a X " + std::string(kMaxDepth + 1, '(') + std::string(kMaxDepth + 1, ')')) == "lists nested too deep");
  std::string many = "a X";
  for (size_t i = 0; i <= kMaxArgs; i++) many += " x";
  REQUIRE(error_of(many) == "too many arguments");
}

TEST_CASE("IMAP: a literal announced at a line's end", "[imap][parse]") {
  bool bad = false;
  auto l = literal_at_end("a LOGIN {12}", &bad);
  REQUIRE((l && l->size == 12 && l->sync && !bad));
  l = literal_at_end("a LOGIN {0+}", &bad);
  REQUIRE((l && l->size == 0 && !l->sync));
  REQUIRE_FALSE(literal_at_end("a NOOP", &bad));
  REQUIRE_FALSE(bad);
  REQUIRE_FALSE(literal_at_end("a X {12a}", &bad));
  REQUIRE(bad);
  REQUIRE_FALSE(literal_at_end("a X {99999999999999999999999}", &bad));
  REQUIRE(bad);
  l = literal_at_end("a X {4294967296}", &bad);
  REQUIRE((l && l->size == 4294967296ull));
}

TEST_CASE("IMAP: sequence sets", "[imap][parse]") {
  auto s = parse_sequence_set("1:3,7,9:*");
  REQUIRE(s);
  REQUIRE(s->size() == 3);
  REQUIRE(in_set(*s, 2, 20));
  REQUIRE_FALSE(in_set(*s, 5, 20));
  REQUIRE(in_set(*s, 15, 20));
  REQUIRE(in_set(*parse_sequence_set("5:2"), 3, 9));
  REQUIRE(in_set(*parse_sequence_set("*"), 9, 9));
  for (auto bad : {"", "0", "1,", ",1", "1:", "a", "1:2:3", "01", "4294967296"}) {
    INFO(bad);
    REQUIRE_FALSE(parse_sequence_set(bad));
  }
  REQUIRE_FALSE(parse_sequence_set("1,2,3", 2));
}

TEST_CASE("IMAP: strings are written quoted, or as literals when they must be", "[imap][parse]") {
  REQUIRE(astring("INBOX") == "\"INBOX\"");
  REQUIRE(astring("a\"b\\c") == "\"a\\\"b\\\\c\"");
  REQUIRE(astring("line\r\nbreak") == "{11}\r\nline\r\nbreak");
  REQUIRE(astring("caf\xc3\xa9") == "{5}\r\ncaf\xc3\xa9");
  REQUIRE(nstring(std::nullopt) == "NIL");
}
