// The MIME / RFC 5322 parser, its IMAP part numbers and its cached form.
// Messages are written with "\n" and most tests run them again with "\r\n":
// stored messages keep the line endings they arrived with.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "mail/address.h"
#include "mail/header.h"
#include "mail/message_parser.h"
#include "mail/mime_fields.h"
#include "store/store.h"
#include "test_util.h"

using namespace gannet::mail;
using Kind = Address::Kind;

namespace {

std::string with_eol(std::string_view text, std::string_view eol) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += eol;
    else
      out += c;
  }
  return out;
}

std::string slice(std::string_view msg, uint64_t from, uint64_t to) {
  REQUIRE(from <= to);
  REQUIRE(to <= msg.size());
  return std::string(msg.substr(from, to - from));
}

// What every parse must give, whatever the input: a well-formed tree whose
// cached form reads back the same.
ParsedMessage parse_checked(std::string_view msg, const Limits& limits = {}) {
  ParsedMessage m = parse_message(msg, limits);
  REQUIRE(m.size == msg.size());
  REQUIRE(well_formed(m));
  ParsedMessage back;
  REQUIRE(decode_meta(encode_meta(m), back));
  REQUIRE(back == m);
  return m;
}

const Part& section(const ParsedMessage& m, std::string_view s) {
  uint32_t i = find_section(m, s);
  INFO("section " << s);
  REQUIRE(i != Part::none);
  CHECK(section_of(m, i) == s);
  return m.parts[i];
}

std::string header_of(std::string_view msg, const Part& p) { return slice(msg, p.header_start, p.body_start); }
std::string fields_of(std::string_view msg, const Part& p) { return slice(msg, p.header_start, p.header_end); }
std::string body_of(std::string_view msg, const Part& p) { return slice(msg, p.body_start, p.body_end); }

Address mbox(std::string name, std::string mailbox, std::string host, std::string adl = {}) {
  return {Kind::mailbox, std::move(name), std::move(adl), std::move(mailbox), std::move(host)};
}
Address group_start(std::string name) { return {Kind::group_start, {}, {}, std::move(name), {}}; }
Address group_end() { return {Kind::group_end, {}, {}, {}, {}}; }

const char* const real_message = R"(Return-Path: <bounce@example.org>
Received: from mx.example.org by mail.example.com;
	Tue, 1 Jul 2025 10:00:00 +0000
From: "Doe, John" <john.doe@example.org>
To: Alice <alice@example.com>, bob@example.com (Bob B.)
Cc: undisclosed-recipients:;
Subject: Quarterly
 report
Date: Tue, 1 Jul 2025 10:00:00 +0000
Message-ID: <q3@example.org>
In-Reply-To: <q2@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is a multi-part message in MIME format.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

Hello Alice,
see the report.
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Hello Alice,</p>
--inner--
--outer
Content-Type: application/pdf; name="report q3.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report q3.pdf"; size=12
Content-ID: <pdf1@example.org>
Content-Description: The report

JVBERi0xLjQK
--outer
Content-Type: message/rfc822

From: Carol <carol@example.net>
Subject: Fwd: numbers
Content-Type: multipart/mixed; boundary=emb

--emb
Content-Type: text/plain

numbers
--emb
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--emb--

--outer--
epilogue
)";

}  // namespace

TEST_CASE("lines end with CRLF or a bare LF; a lone CR is content") {
  std::string in = "a\r\nb\nc\rd\n\r\nlast";
  std::vector<std::string> lines;
  std::vector<bool> breaks;
  for (size_t pos = 0; pos < in.size();) {
    Line l = line_at(in, pos);
    lines.push_back(in.substr(l.start, l.end - l.start));
    breaks.push_back(l.has_break());
    pos = l.next;
  }
  CHECK(lines == std::vector<std::string>{"a", "b", "c\rd", "", "last"});
  CHECK(breaks == std::vector<bool>{true, true, true, true, false});
}

TEST_CASE("header fields: names, folding, the obsolete space before the colon") {
  struct Row {
    const char* field;
    bool ok;
    const char* name;
    const char* value;  // unfolded
  } rows[] = {
      {"Subject: hello", true, "Subject", "hello"},
      {"Subject:hello  ", true, "Subject", "hello"},
      {"Subject : spaced", true, "Subject", "spaced"},
      {"Subject: one\r\n two\r\n\tthree", true, "Subject", "one two\tthree"},
      {"Subject: one\n two", true, "Subject", "one two"},
      {"X-Empty:", true, "X-Empty", ""},
      {"no colon here", false, "", ""},
      {": no name", false, "", ""},
      {"Bad Name: x", false, "", ""},
      {"From mbox line\r\n continued: x", false, "", ""},
  };
  for (const Row& r : rows) {
    INFO(r.field);
    std::string_view name, value;
    REQUIRE(split_field(r.field, name, value) == r.ok);
    if (!r.ok) continue;
    CHECK(name == r.name);
    CHECK(unfold(value) == r.value);
  }
}

TEST_CASE("address lists as ENVELOPE wants them") {
  struct Row {
    const char* value;
    std::vector<Address> want;
  };
  const std::vector<Row> rows = {
      {R"("Doe, John" <john.doe@example.org>)", {mbox("Doe, John", "john.doe", "example.org")}},
      {"Alice <alice@example.com>, bob@example.com (Bob B.)",
       {mbox("Alice", "alice", "example.com"), mbox("Bob B.", "bob", "example.com")}},
      {"undisclosed-recipients:;", {group_start("undisclosed-recipients"), group_end()}},
      {R"(Team: a@x.test, "B" <b@y.test>; c@z.test)",
       {group_start("Team"), mbox("", "a", "x.test"), mbox("B", "b", "y.test"), group_end(), mbox("", "c", "z.test")}},
      {"Unclosed: a@x.test", {group_start("Unclosed"), mbox("", "a", "x.test"), group_end()}},
      // Missing brackets: the local part is the last word, the rest the name.
      {"John Doe john@example.com", {mbox("John Doe", "john", "example.com")}},
      {"John Doe john.doe@example.com", {mbox("John Doe", "john.doe", "example.com")}},
      {"<a@b.test", {mbox("", "a", "b.test")}},
      {"<a@b.test, c@d.test", {mbox("", "a", "b.test"), mbox("", "c", "d.test")}},
      {"a@b.test>", {mbox("", "a", "b.test")}},
      {"<a@b.test junk>, c@d.test", {mbox("", "a", "b.test"), mbox("", "c", "d.test")}},
      {"<@r1.test,@r2.test:user@host.test>", {mbox("", "user", "host.test", "@r1.test,@r2.test")}},
      {R"("john doe"@example.com)", {mbox("", "john doe", "example.com")}},
      {"root", {mbox("", "root", "")}},
      {"<>", {mbox("", "", "")}},
      {"(lead) Jo (nick) <jo@x.org> (trailing)", {mbox("Jo", "jo", "x.org")}},
      {"Joe Q. Public <john.q.public@example.com>", {mbox("Joe Q. Public", "john.q.public", "example.com")}},
      {"user@[192.0.2.1]", {mbox("", "user", "[192.0.2.1]")}},
      {"user @ example . com", {mbox("", "user", "example.com")}},
      {"=?UTF-8?B?w6lsaXNl?= <e@x.test>", {mbox("=?UTF-8?B?w6lsaXNl?=", "e", "x.test")}},
      {"J\xc3\xb6rg <j@x.de>", {mbox("J\xc3\xb6rg", "j", "x.de")}},
      {R"("Giant; \"Big\" Box" <sysservices@example.net>)", {mbox(R"(Giant; "Big" Box)", "sysservices", "example.net")}},
      {" , ,a@b.test,, ", {mbox("", "a", "b.test")}},
      {"a@b.test (nested (comment) here)", {mbox("nested (comment) here", "a", "b.test")}},
      {"", {}},
      {"<<>>", {mbox("", "", "")}},
  };
  for (const Row& r : rows) {
    INFO(r.value);
    CHECK(parse_address_list(r.value, 1000) == r.want);
  }
}

TEST_CASE("address lists stop at their limit and still close a group") {
  CHECK(parse_address_list("a@x, b@x, c@x", 2).size() == 2);
  CHECK(parse_address_list("G: a@x, b@x, c@x;", 3) ==
        std::vector<Address>{group_start("G"), mbox("", "a", "x"), group_end()});
  CHECK(parse_address_list("G: a@x;", 1).empty());
  // Garbage of every kind ends, and takes no more than it may.
  for (const char* junk : {"(((((", "\"", "<", "@@@@", ":;:;:;", "\\", "[", "a:b:c:d;;;", ">>>,,,<<<"})
    CHECK(parse_address_list(junk, 1000).size() <= 1000);
}

TEST_CASE("Content-Type: type, subtype and parameters") {
  struct Row {
    const char* value;
    bool ok;
    const char* type;
    const char* subtype;
    std::vector<Param> params;
  };
  const std::vector<Row> rows = {
      {"text/plain", true, "text", "plain", {}},
      {R"(TEXT/HTML; CHARSET="UTF-8")", true, "text", "html", {{"charset", "UTF-8"}}},
      {"text/plain; charset=us-ascii (Plain text)", true, "text", "plain", {{"charset", "us-ascii"}}},
      {"text / plain ;format=flowed;delsp=yes", true, "text", "plain", {{"format", "flowed"}, {"delsp", "yes"}}},
      {"application/octet-stream; name=My File.pdf", true, "application", "octet-stream", {{"name", "My File.pdf"}}},
      {R"(multipart/mixed; boundary="----=_Part_1")", true, "multipart", "mixed", {{"boundary", "----=_Part_1"}}},
      {R"(text/plain; a="q;uoted \"x\""; b=c)", true, "text", "plain", {{"a", R"(q;uoted "x")"}, {"b", "c"}}},
      {R"(image/png; name*0="long"; name*1="name.png")", true, "image", "png", {{"name*0", "long"}, {"name*1", "name.png"}}},
      {"text/plain; =x; junk; charset=a", true, "text", "plain", {{"charset", "a"}}},
      {"(comment) text/(c)plain", true, "text", "plain", {}},
      {"text", false, "", "", {}},
      {"/plain", false, "", "", {}},
      {"text/", false, "", "", {}},
      {"", false, "", "", {}},
  };
  for (const Row& r : rows) {
    INFO(r.value);
    std::string type, subtype;
    std::vector<Param> params;
    REQUIRE(parse_content_type(r.value, type, subtype, params) == r.ok);
    if (!r.ok) continue;
    CHECK(type == r.type);
    CHECK(subtype == r.subtype);
    CHECK(params == r.params);
  }
  std::string many = "text/plain";
  for (int i = 0; i < 1000; i++) many += ";a=b";
  std::string type, subtype;
  std::vector<Param> params;
  REQUIRE(parse_content_type(many, type, subtype, params));
  CHECK(params.size() == max_field_params);
  REQUIRE(parse_content_type(many, type, subtype, params, 3));
  CHECK(params.size() == 3);
}

TEST_CASE("a plain message: header, body, the single part 1, the envelope") {
  std::string eol = GENERATE(std::string("\n"), std::string("\r\n"));
  std::string head = with_eol(
      "From: Alice <alice@example.com>\n"
      "To: bob@example.com\n"
      "Subject: Hello\n"
      "  world\n"
      "Subject: second subject is ignored\n"
      "Date: Mon, 7 Jul 2025 09:00:00 +0200\n"
      "Message-ID: <1@example.com>\n",
      eol);
  std::string body = with_eol("line one\nline two\n", eol);
  std::string msg = head + eol + body;
  ParsedMessage m = parse_checked(msg);
  REQUIRE(m.parts.size() == 1);
  REQUIRE(m.envelopes.size() == 1);
  const Part& p = section(m, "1");
  CHECK(&p == &m.parts[0]);
  CHECK(p.header_start == 0);
  CHECK(fields_of(msg, p) == head);
  CHECK(header_of(msg, p) == head + eol);
  CHECK(body_of(msg, p) == body);
  CHECK(p.size() == body.size());
  CHECK(p.lines == 2);
  CHECK(p.type == "text");
  CHECK(p.subtype == "plain");
  CHECK(p.encoding == "7bit");
  CHECK(p.params.empty());
  CHECK_FALSE(p.opaque);

  const Envelope& e = m.envelopes[0];
  CHECK(e.subject == "Hello  world");
  CHECK(e.date == "Mon, 7 Jul 2025 09:00:00 +0200");
  CHECK(e.message_id == "<1@example.com>");
  CHECK(e.from == "Alice <alice@example.com>");
  CHECK(e.from_list == std::vector<Address>{mbox("Alice", "alice", "example.com")});
  CHECK(e.to_list == std::vector<Address>{mbox("", "bob", "example.com")});
  // Absent fields are NIL, not empty: Sender and Reply-To are left to IMAP.
  CHECK_FALSE(e.sender);
  CHECK_FALSE(e.reply_to);
  CHECK_FALSE(e.cc);
  CHECK_FALSE(e.bcc);
  CHECK_FALSE(e.in_reply_to);
  CHECK(e.sender_list.empty());
}

TEST_CASE("body line counts: line breaks, as Dovecot counts them") {
  struct Row {
    const char* body;
    uint64_t lines;
  } rows[] = {
      {"", 0}, {"x", 0}, {"x\n", 1}, {"x\ny", 1}, {"\n", 1}, {"\n\n\n", 3}, {"a\r\nb\r\n", 2}, {"a\rb", 0},
  };
  for (const Row& r : rows) {
    INFO(r.body);
    ParsedMessage m = parse_checked(std::string("Subject: x\n\n") + r.body);
    CHECK(m.parts[0].lines == r.lines);
    CHECK(m.parts[0].size() == strlen(r.body));
  }
}

TEST_CASE("a real multipart message: nesting, attachment, embedded message") {
  std::string eol = GENERATE(std::string("\n"), std::string("\r\n"));
  std::string msg = with_eol(real_message, eol);
  auto x = [&](const char* text) { return with_eol(text, eol); };
  ParsedMessage m = parse_checked(msg);

  REQUIRE(m.parts.size() == 9);
  REQUIRE(m.envelopes.size() == 2);
  const Part& top = m.parts[0];
  CHECK(top.type == "multipart");
  CHECK(top.subtype == "mixed");
  CHECK(top.children == 3);
  CHECK(find_param(top.params, "boundary")->value == "outer");
  CHECK(top.body_end == msg.size());
  CHECK(body_of(msg, top).starts_with(x("This is a multi-part message in MIME format.\n--outer\n")));
  CHECK(body_of(msg, top).ends_with(x("--outer--\nepilogue\n")));
  CHECK(fields_of(msg, top).ends_with(x("boundary=\"outer\"\n")));
  CHECK(section_of(m, 0).empty());

  const Part& alt = section(m, "1");
  CHECK(alt.type == "multipart");
  CHECK(alt.subtype == "alternative");
  CHECK(header_of(msg, alt) == x("Content-Type: multipart/alternative; boundary=inner\n\n"));
  CHECK(body_of(msg, alt).starts_with(x("--inner\n")));
  CHECK(body_of(msg, alt).ends_with("--inner--"));  // its line break belongs to "--outer"

  const Part& plain = section(m, "1.1");
  CHECK(plain.parent == find_section(m, "1"));
  CHECK(header_of(msg, plain) == x("Content-Type: text/plain; charset=utf-8\n\n"));
  CHECK(fields_of(msg, plain) == x("Content-Type: text/plain; charset=utf-8\n"));
  CHECK(body_of(msg, plain) == x("Hello Alice,\nsee the report."));
  CHECK(plain.lines == 1);  // its last line's break belongs to the boundary
  CHECK(plain.params == std::vector<Param>{{"charset", "utf-8"}});

  const Part& html = section(m, "1.2");
  CHECK(html.subtype == "html");
  CHECK(html.encoding == "quoted-printable");
  CHECK(body_of(msg, html) == "<p>Hello Alice,</p>");
  CHECK(html.lines == 0);

  const Part& pdf = section(m, "2");
  CHECK(header_of(msg, pdf) == x("Content-Type: application/pdf; name=\"report q3.pdf\"\n"
                                 "Content-Transfer-Encoding: base64\n"
                                 "Content-Disposition: attachment; filename=\"report q3.pdf\"; size=12\n"
                                 "Content-ID: <pdf1@example.org>\n"
                                 "Content-Description: The report\n\n"));
  CHECK(body_of(msg, pdf) == "JVBERi0xLjQK");
  CHECK(pdf.type == "application");
  CHECK(pdf.subtype == "pdf");
  CHECK(pdf.params == std::vector<Param>{{"name", "report q3.pdf"}});
  CHECK(pdf.encoding == "base64");
  CHECK(pdf.disposition == "attachment");
  CHECK(pdf.disposition_params == std::vector<Param>{{"filename", "report q3.pdf"}, {"size", "12"}});
  CHECK(pdf.id == "<pdf1@example.org>");
  CHECK(pdf.description == "The report");

  const Part& rfc822 = section(m, "3");
  CHECK(rfc822.message());
  CHECK(rfc822.children == 1);
  CHECK(header_of(msg, rfc822) == x("Content-Type: message/rfc822\n\n"));
  std::string embedded = body_of(msg, rfc822);
  CHECK(embedded.starts_with(x("From: Carol <carol@example.net>\n")));
  CHECK(embedded.ends_with(x("--emb--\n")));  // the blank line's break belongs to "--outer--"
  CHECK(rfc822.lines == 14);

  // The embedded message: its own top part, header and envelope.
  uint32_t r = find_section(m, "3") + 1;
  const Part& inner_top = m.parts[r];
  CHECK(inner_top.envelope == 1);
  CHECK(inner_top.header_start == rfc822.body_start);
  CHECK(inner_top.body_end == rfc822.body_end);
  CHECK(inner_top.multipart());
  CHECK(section_of(m, r) == "3");
  CHECK(header_of(msg, inner_top) ==
        x("From: Carol <carol@example.net>\nSubject: Fwd: numbers\nContent-Type: multipart/mixed; boundary=emb\n\n"));
  CHECK(m.envelopes[1].subject == "Fwd: numbers");
  CHECK(m.envelopes[1].from_list == std::vector<Address>{mbox("Carol", "carol", "example.net")});
  CHECK_FALSE(m.envelopes[1].to);

  CHECK(body_of(msg, section(m, "3.1")) == "numbers");
  const Part& png = section(m, "3.2");
  CHECK(png.type == "image");
  CHECK(body_of(msg, png) == "iVBORw0KGgo=");
  CHECK(header_of(msg, png) == x("Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n"));

  const Envelope& e = m.envelopes[0];
  CHECK(e.subject == "Quarterly report");
  CHECK(e.in_reply_to == "<q2@example.org>");
  CHECK(e.from_list == std::vector<Address>{mbox("Doe, John", "john.doe", "example.org")});
  CHECK(e.to_list == std::vector<Address>{mbox("Alice", "alice", "example.com"), mbox("Bob B.", "bob", "example.com")});
  CHECK(e.cc_list == std::vector<Address>{group_start("undisclosed-recipients"), group_end()});
}

TEST_CASE("IMAP part numbers") {
  ParsedMessage m = parse_checked(with_eol(real_message, "\r\n"));
  struct Row {
    const char* section;
    const char* type;  // "" for no such part
  } rows[] = {
      {"1", "multipart/alternative"}, {"1.1", "text/plain"}, {"1.2", "text/html"},
      {"2", "application/pdf"},       {"3", "message/rfc822"}, {"3.1", "text/plain"},
      {"3.2", "image/png"},           {"4", ""},             {"0", ""},
      {"1.3", ""},                    {"2.1", ""},           {"3.1.1", ""},
      {"", ""},                       {"1.", ""},            {".1", ""},
      {"1..1", ""},                   {"a", ""},             {"99999999999999999999", ""},
  };
  for (const Row& r : rows) {
    INFO(r.section);
    uint32_t i = find_section(m, r.section);
    if (!*r.type) {
      CHECK(i == Part::none);
      continue;
    }
    REQUIRE(i != Part::none);
    CHECK(m.parts[i].type + "/" + m.parts[i].subtype == r.type);
    CHECK(section_of(m, i) == r.section);
  }

  // Not multipart: the body is part 1, and nothing else exists.
  ParsedMessage plain = parse_checked("Subject: x\r\n\r\nhi\r\n");
  CHECK(find_section(plain, "1") == 0);
  CHECK(find_section(plain, "2") == Part::none);
  CHECK(find_section(plain, "1.1") == Part::none);

  // A message that is itself message/rfc822: 1 is the embedded message,
  // 1.1 its body.
  ParsedMessage fwd = parse_checked("Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n");
  REQUIRE(fwd.parts.size() == 2);
  CHECK(find_section(fwd, "1") == 0);
  CHECK(find_section(fwd, "1.1") == 1);
  CHECK(section_of(fwd, 1) == "1.1");
  CHECK(fwd.envelopes[1].subject == "in");
}

TEST_CASE("MIME fields of a part, and their defaults") {
  std::string msg = with_eol(
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: Text/Plain; Charset=ISO-8859-1; format=flowed\n"
      "Content-Transfer-Encoding: QUOTED-PRINTABLE (why not)\n"
      "Content-ID: <id1@x>\n"
      "Content-Description: a\n"
      "  folded description\n"
      "Content-Disposition: INLINE; filename=\"a.txt\";\n"
      " creation-date=\"Mon, 7 Jul 2025 09:00:00 +0200\"\n"
      "Content-Language: en-GB, (comment) fr\n"
      "Content-Location: http://example.com/a.txt\n"
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
      "Content-Type: text/html\n"
      "\n"
      "text\n"
      "--b\n"
      "\n"
      "defaults\n"
      "--b\n"
      "Content-Type: nonsense\n"
      "Content-Transfer-Encoding:\n"
      "\n"
      "invalid type\n"
      "--b--\n",
      "\r\n");
  ParsedMessage m = parse_checked(msg);
  const Part& p = section(m, "1");
  CHECK(p.type == "text");
  CHECK(p.subtype == "plain");  // the first Content-Type counts
  CHECK(p.params == std::vector<Param>{{"charset", "ISO-8859-1"}, {"format", "flowed"}});
  CHECK(p.encoding == "quoted-printable");
  CHECK(p.id == "<id1@x>");
  CHECK(p.description == "a  folded description");
  CHECK(p.disposition == "inline");
  CHECK(p.disposition_params ==
        std::vector<Param>{{"filename", "a.txt"}, {"creation-date", "Mon, 7 Jul 2025 09:00:00 +0200"}});
  CHECK(p.language == std::vector<std::string>{"en-GB", "fr"});
  CHECK(p.location == "http://example.com/a.txt");
  CHECK(p.md5 == "Q2hlY2sgSW50ZWdyaXR5IQ==");

  for (const char* s : {"2", "3"}) {
    const Part& d = section(m, s);
    CHECK(d.type == "text");
    CHECK(d.subtype == "plain");
    CHECK(d.encoding == "7bit");
    CHECK(d.params.empty());
    CHECK(d.disposition.empty());
    CHECK(d.id.empty());
    CHECK(d.language.empty());
  }
  CHECK(header_of(msg, section(m, "2")) == "\r\n");  // an empty header: only the blank line
  CHECK(body_of(msg, section(m, "2")) == "defaults");
}

TEST_CASE("multipart/digest parts default to message/rfc822") {
  std::string msg = with_eol(
      "Content-Type: multipart/digest; boundary=d\n\n"
      "--d\n\nSubject: one\n\nfirst\n"
      "--d\nContent-Type: text/plain\n\nnot a message\n"
      "--d--\n",
      "\n");
  ParsedMessage m = parse_checked(msg);
  CHECK(section(m, "1").message());
  CHECK(m.envelopes.size() == 2);
  CHECK(m.envelopes[1].subject == "one");
  CHECK(body_of(msg, section(m, "1.1")) == "first");
  CHECK(section(m, "2").type == "text");
}

TEST_CASE("malformed structure: the most useful reading, never a crash") {
  std::string eol = GENERATE(std::string("\n"), std::string("\r\n"));
  auto x = [&](const char* text) { return with_eol(text, eol); };

  SECTION("no blank line after the header: it is all header") {
    std::string msg = x("Subject: x\nFrom: a@b.test");
    ParsedMessage m = parse_checked(msg);
    const Part& p = m.parts[0];
    CHECK(p.header_end == msg.size());
    CHECK(p.body_start == msg.size());
    CHECK(p.size() == 0);
    CHECK(p.lines == 0);
    CHECK(m.envelopes[0].subject == "x");
    CHECK(m.envelopes[0].from_list == std::vector<Address>{mbox("", "a", "b.test")});
  }
  SECTION("no header at all") {
    std::string msg = x("\nbody only\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(m.parts[0].header_end == 0);
    CHECK(body_of(msg, m.parts[0]) == x("body only\n"));
    CHECK_FALSE(m.envelopes[0].subject);
  }
  SECTION("empty input") {
    ParsedMessage m = parse_checked("");
    CHECK(m.parts.size() == 1);
    CHECK(m.parts[0].body_end == 0);
  }
  SECTION("lines that are not fields stay in the header and are ignored") {
    std::string msg = x("From nobody Mon Jul  7 2025\n continuation of nothing\nSubject: s\n\nb\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(m.envelopes[0].subject == "s");
    CHECK(body_of(msg, m.parts[0]) == x("b\n"));
  }
  SECTION("a part header cut short by the next boundary line") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=b\n\n"
                        "--b\nContent-Type: text/html\n--b\nContent-Type: text/plain\n\ntwo\n--b--\n");
    ParsedMessage m = parse_checked(msg);
    const Part& p = section(m, "1");
    CHECK(p.subtype == "html");
    CHECK(fields_of(msg, p) == "Content-Type: text/html");
    CHECK(p.size() == 0);
    CHECK(p.lines == 0);
    CHECK(body_of(msg, section(m, "2")) == "two");
  }
  SECTION("a boundary never closed: the last part runs to the end") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nlast\nmore\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(m.parts[0].children == 2);
    const Part& last = section(m, "2");
    CHECK(body_of(msg, last) == x("last\nmore\n"));
    CHECK(last.lines == 2);
    CHECK(last.body_end == msg.size());
  }
  SECTION("a boundary inside a line is text") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nsee --b here\n --b\n--b--\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(m.parts[0].children == 1);
    CHECK(body_of(msg, section(m, "1")) == x("see --b here\n --b"));
  }
  SECTION("a boundary that never appears: the multipart is an opaque text body") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=b\n\nno parts here\n--c\n");
    ParsedMessage m = parse_checked(msg);
    REQUIRE(m.parts.size() == 1);
    CHECK(m.parts[0].type == "text");
    CHECK(m.parts[0].opaque);
    CHECK(body_of(msg, m.parts[0]) == x("no parts here\n--c\n"));
    CHECK(m.parts[0].lines == 2);
    CHECK(find_section(m, "1") == 0);
  }
  SECTION("a multipart without a boundary parameter is opaque") {
    ParsedMessage m = parse_checked(x("Content-Type: multipart/mixed\n\n--\nx\n"));
    CHECK(m.parts.size() == 1);
    CHECK(m.parts[0].opaque);
  }
  SECTION("preamble and epilogue are no parts; boundary lines after the close are epilogue") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b--\npost\n--b\n\nlate\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(m.parts.size() == 2);
    CHECK(body_of(msg, section(m, "1")) == "one");
  }
  SECTION("an outer boundary ends an inner multipart that was never closed") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=outer\n\n"
                        "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n"
                        "--inner\n\ninner text\n"
                        "--outer\n\nsecond\n--outer--\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(section(m, "1").children == 1);
    CHECK(body_of(msg, section(m, "1.1")) == "inner text");
    CHECK(body_of(msg, section(m, "2")) == "second");
  }
  SECTION("boundaries that extend each other: the longest match wins") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=ab\n\n"
                        "--ab\nContent-Type: multipart/mixed; boundary=abc\n\n"
                        "--abc\n\nx\n--abc--\n--ab\n\ny\n--ab--\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(body_of(msg, section(m, "1.1")) == "x");
    CHECK(body_of(msg, section(m, "2")) == "y");
  }
  SECTION("a nested multipart reusing its parent's boundary: the innermost takes it until closed") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=b\n\n"
                        "--b\nContent-Type: multipart/alternative; boundary=b\n\n"
                        "--b\n\ninner one\n--b\n\ninner two\n--b--\n"
                        "--b\n\nouter two\n--b--\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(section(m, "1").children == 2);
    CHECK(body_of(msg, section(m, "1.1")) == "inner one");
    CHECK(body_of(msg, section(m, "1.2")) == "inner two");
    CHECK(body_of(msg, section(m, "2")) == "outer two");
  }
  SECTION("an embedded message cut short by the boundary") {
    std::string msg = x("Content-Type: multipart/mixed; boundary=b\n\n"
                        "--b\nContent-Type: message/rfc822\n\nSubject: cut\n--b\nContent-Type: message/rfc822\n\n--b--\n");
    ParsedMessage m = parse_checked(msg);
    CHECK(m.envelopes.size() == 3);
    CHECK(m.envelopes[1].subject == "cut");
    CHECK(section(m, "1.1").size() == 0);
    CHECK(section(m, "2.1").size() == 0);
  }
  SECTION("an embedded message at the very end") {
    ParsedMessage m = parse_checked(x("Content-Type: message/rfc822\n\n"));
    REQUIRE(m.parts.size() == 2);
    CHECK(m.parts[1].header_start == m.size);
  }
}

TEST_CASE("8-bit headers and bodies are kept as bytes") {
  std::string msg = "Subject: Gr\xc3\xbc\xc3\x9f\x65\r\nFrom: J\xf6rg <j@x.de>\r\n"
                    "Content-Type: text/plain; charset=\xff\xfe\r\n\r\n\x80\x81\r\n";
  ParsedMessage m = parse_checked(msg);
  CHECK(m.envelopes[0].subject == "Gr\xc3\xbc\xc3\x9f\x65");
  CHECK(m.envelopes[0].from_list == std::vector<Address>{mbox("J\xf6rg", "j", "x.de")});
  CHECK(m.parts[0].params == std::vector<Param>{{"charset", "\xff\xfe"}});
  CHECK(m.parts[0].lines == 1);
}

TEST_CASE("CRLF and LF give the same structure") {
  ParsedMessage lf = parse_checked(with_eol(real_message, "\n"));
  ParsedMessage crlf = parse_checked(with_eol(real_message, "\r\n"));
  REQUIRE(lf.parts.size() == crlf.parts.size());
  for (size_t i = 0; i < lf.parts.size(); i++) {
    CHECK(lf.parts[i].lines == crlf.parts[i].lines);
    CHECK(lf.parts[i].type == crlf.parts[i].type);
    CHECK(lf.parts[i].children == crlf.parts[i].children);
  }
  CHECK(lf.envelopes == crlf.envelopes);
}

TEST_CASE("limits: nesting depth") {
  std::string multi, rfc;
  for (int i = 0; i < 150; i++) {
    // "=_N_": no boundary is a prefix of another (a prefix is a match).
    std::string b = "=_" + std::to_string(i) + "_";
    multi += "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n";
    rfc += "Content-Type: message/rfc822\r\n\r\n";
  }
  multi += "\r\ndeep\r\n";
  rfc += "Subject: deepest\r\n\r\nx";
  ParsedMessage m = parse_checked(multi);
  REQUIRE(m.parts.size() == 101);  // depths 0 to 100
  CHECK(m.parts[99].multipart());
  CHECK(m.parts[100].opaque);
  CHECK(m.parts[100].type == "text");
  CHECK(m.parts[100].body_end == multi.size());
  ParsedMessage r = parse_checked(rfc);
  REQUIRE(r.parts.size() == 101);
  CHECK(r.envelopes.size() == 101);
  CHECK(r.parts[100].opaque);

  Limits shallow;
  shallow.max_depth = 1;
  ParsedMessage s = parse_checked(with_eol(real_message, "\n"), shallow);
  CHECK(s.parts.size() == 4);  // the top, and three opaque or leaf parts
  CHECK(section(s, "1").opaque);
  CHECK(section(s, "3").opaque);
}

TEST_CASE("limits: part count") {
  std::string msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 5; i++) msg += "--b\r\n\r\npart " + std::to_string(i) + "\r\n";
  msg += "--b--\r\n";
  Limits limits;
  limits.max_parts = 3;
  ParsedMessage m = parse_checked(msg, limits);
  REQUIRE(m.parts.size() == 3);
  CHECK(m.parts[0].children == 2);
  CHECK(body_of(msg, section(m, "2")) == "part 1");
  CHECK(m.parts[0].body_end == msg.size());  // the rest stays in the multipart's body

  limits.max_parts = 1;
  ParsedMessage one = parse_checked(msg, limits);
  REQUIRE(one.parts.size() == 1);
  CHECK(one.parts[0].opaque);

  std::string many = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 20000; i++) many += "--b\r\n";
  ParsedMessage big = parse_checked(many);
  CHECK(big.parts.size() == 10'000);
}

TEST_CASE("limits: header lines, addresses, parameters") {
  std::string msg = "Subject: kept\r\nX-1: a\r\nX-2: b\r\nFrom: late@x\r\nX-4: d\r\n\r\nbody\r\n";
  Limits limits;
  limits.max_header_lines = 3;
  ParsedMessage m = parse_checked(msg, limits);
  const Part& p = m.parts[0];
  CHECK(p.opaque);
  CHECK(fields_of(msg, p) == "Subject: kept\r\nX-1: a\r\nX-2: b\r\n");
  CHECK(p.body_start == p.header_end);
  CHECK(body_of(msg, p).starts_with("From: late@x\r\n"));
  CHECK(m.envelopes[0].subject == "kept");
  CHECK_FALSE(m.envelopes[0].from);

  limits = {};
  limits.max_addresses = 3;
  ParsedMessage a = parse_checked("To: a@x, b@x, c@x, d@x\r\nCc: e@x\r\n\r\n", limits);
  CHECK(a.envelopes[0].to_list.size() == 3);
  CHECK(a.envelopes[0].cc == "e@x");
  CHECK(a.envelopes[0].cc_list.empty());

  limits = {};
  limits.max_params = 3;
  ParsedMessage p3 = parse_checked(
      "Content-Type: multipart/mixed; boundary=b; x=1\r\n\r\n"
      "--b\r\nContent-Type: text/plain; a=1; b=2\r\nContent-Language: en\r\n\r\n--b--\r\n",
      limits);
  CHECK(p3.parts[0].params.size() == 2);
  CHECK(p3.parts[1].params == std::vector<Param>{{"a", "1"}});
  CHECK(p3.parts[1].language.empty());
}

TEST_CASE("hostile inputs stay linear") {
  auto start = std::chrono::steady_clock::now();
  // 100 open multiparts with long boundaries sharing a prefix, then many
  // lines that almost match them all.
  std::string prefix(190, 'x');
  std::string msg;
  for (int i = 0; i < 100; i++) {
    std::string b = prefix + std::to_string(i) + "z";
    msg += "Content-Type: multipart/mixed; boundary=\"" + b + "\"\n\n--" + b + "\n";
  }
  for (int i = 0; i < 20000; i++) msg += "--" + prefix + "y\n";
  parse_checked(msg);
  // Deep comments, long address lists, endless folding.
  std::string deep = "To: " + std::string(1 << 20, '(') + "\nCc: ";
  for (int i = 0; i < 200000; i++) deep += "a,";
  deep += "\nSubject: x\n";
  for (int i = 0; i < 100000; i++) deep += " folded\n";
  deep += "\n";
  ParsedMessage m = parse_checked(deep);
  CHECK(m.envelopes[0].cc_list.size() == 100'000);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 20);
}

TEST_CASE("well_formed refuses trees IMAP could not trust") {
  ParsedMessage real = parse_checked(with_eol(real_message, "\r\n"));
  ParsedMessage fwd = parse_checked("Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n");
  uint32_t pdf = find_section(real, "2"), html = find_section(real, "1.2"), inner = find_section(real, "3") + 1;
  struct Row {
    const char* what;
    ParsedMessage m;
    void (*breaks)(ParsedMessage&, uint32_t pdf, uint32_t html, uint32_t inner);
  } rows[] = {
      {"a multipart without children", parse_checked("Subject: x\r\n\r\nhi"),
       [](ParsedMessage& m, uint32_t, uint32_t, uint32_t) { m.parts[0].type = "multipart"; }},
      {"an embedded message not where the body starts", fwd,
       [](ParsedMessage& m, uint32_t, uint32_t, uint32_t) { m.parts[1].header_start++; }},
      {"a message part typed text", fwd,
       [](ParsedMessage& m, uint32_t, uint32_t, uint32_t) { m.parts[0].type = "text"; }},
      {"a text part with children", real,
       [](ParsedMessage& m, uint32_t, uint32_t html, uint32_t) { m.parts[html - 2].type = "text"; }},
      {"a child before its parent's body", real,
       [](ParsedMessage& m, uint32_t pdf, uint32_t, uint32_t) { m.parts[pdf].header_start = m.parts[0].body_start - 1; }},
      {"siblings overlapping", real,
       [](ParsedMessage& m, uint32_t pdf, uint32_t, uint32_t) {
         m.parts[pdf].header_start = m.parts[pdf - 1].body_end - 1;  // inside the last of part 1's subtree
       }},
      {"a child past its parent's end", real,
       [](ParsedMessage& m, uint32_t, uint32_t html, uint32_t) { m.parts[html].body_end = m.parts[html - 2].body_end + 1; }},
      {"offsets out of order", real,
       [](ParsedMessage& m, uint32_t pdf, uint32_t, uint32_t) { m.parts[pdf].header_end = m.parts[pdf].body_start + 1; }},
      {"an envelope out of order", real,
       [](ParsedMessage& m, uint32_t, uint32_t, uint32_t inner) { m.parts[inner].envelope = 0; }},
      {"an envelope missing", real, [](ParsedMessage& m, uint32_t, uint32_t, uint32_t) { m.envelopes.pop_back(); }},
      {"a wrong child count", real, [](ParsedMessage& m, uint32_t, uint32_t, uint32_t) { m.parts[0].children = 2; }},
  };
  for (Row& r : rows) {
    INFO(r.what);
    REQUIRE(well_formed(r.m));
    r.breaks(r.m, pdf, html, inner);
    CHECK_FALSE(well_formed(r.m));
    ParsedMessage out;
    if (r.m.parts[inner].envelope == 0) continue;  // meta has no envelope numbers: decoding renumbers
    CHECK_FALSE(decode_meta(encode_meta(r.m), out));
  }
}

TEST_CASE("meta: compact, versioned, and refusing anything broken") {
  std::string msg = with_eol(real_message, "\r\n");
  ParsedMessage m = parse_checked(msg);
  std::string meta = encode_meta(m);
  CHECK(meta[0] == 1);  // the format byte
  CHECK(meta.size() < msg.size());

  ParsedMessage out;
  CHECK_FALSE(decode_meta("", out));
  CHECK_FALSE(decode_meta(meta + '\0', out));  // trailing bytes
  std::string v2 = meta;
  v2[0] = 2;
  CHECK_FALSE(decode_meta(v2, out));
  for (size_t n = 0; n < meta.size(); n++) {  // every truncation
    INFO(n);
    CHECK_FALSE(decode_meta(meta.substr(0, n), out));
  }
  // Any byte changed: refused, or still a tree IMAP can trust.
  for (size_t i = 0; i < meta.size(); i++) {
    for (int delta : {1, 0x40, 0x80}) {
      std::string bad = meta;
      bad[i] = char(bad[i] + delta);
      if (decode_meta(bad, out)) CHECK(well_formed(out));
    }
  }
  // A tree whose shape is wrong is refused even though every field reads.
  ParsedMessage broken = m;
  broken.parts[1].children = 0;  // multipart/alternative with no children
  CHECK_FALSE(decode_meta(encode_meta(broken), out));
  broken = m;
  broken.parts.back().body_end = m.size + 1;
  CHECK_FALSE(decode_meta(encode_meta(broken), out));
}

TEST_CASE("delivery caches the parse with the body") {
  using namespace gannet::store;
  TempDir dir;
  std::string err;
  auto store = Store::open(dir.path + "/data", 64u << 20, err);
  REQUIRE(store);
  uint32_t alice = 0;
  REQUIRE(store->write_now([&](Txn& t) {
    User u;
    Status s = t.add_domain("example.test");
    if (s == Status::ok) s = t.add_user("alice@example.test", "hash", &u);
    alice = u.id;
    return s;
  }) == Status::ok);
  std::string msg = with_eol(real_message, "\r\n");
  REQUIRE(store->write_now([&](Txn& t) { return t.deliver(msg, {alice}, 1000); }) == Status::ok);
  std::string meta = store->read([&](Txn& t) {
    auto inbox = t.mailbox(alice, "INBOX");
    auto m = t.message(inbox->id, 1);
    return t.body_info(m->body_id)->meta;
  });
  ParsedMessage cached;
  REQUIRE(decode_meta(meta, cached));
  CHECK(cached == parse_message(msg));
  CHECK(cached.envelopes[0].subject == "Quarterly report");
}
