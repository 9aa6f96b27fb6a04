// dkim keygen and dns show: what a domain must publish before its mail is
// trusted, printed in zone-file syntax ready to paste.
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "core_module.h"
#include "ctl/ctl.h"
#include "dkim_keys.h"

namespace gannet::ctl {

namespace {

// Short names rotate easily: the next key is s2, published beside s1.
constexpr const char* default_selector = "s1";

// The domain as the store spells it; empty, having said why, if the store
// does not serve it (keys and records for it would be of no use).
std::string stored_domain(Ctl& c, const std::string& arg) {
  std::string d = store::normalize_domain(arg);
  if (d.empty()) {
    fail("\"" + arg + "\" is not a domain name");
    return {};
  }
  if (!c.store->read([&](store::Txn& t) { return t.has_domain(d); })) {
    fail("domain " + d + " is not in the store (add it first: gannetctl domain add " + d + ")");
    return {};
  }
  return d;
}

// A TXT value in zone-file syntax. One string holds at most 255 bytes (RFC
// 1035 3.3.14), so a longer value is split into several that resolvers join:
// first after the last tag that fits ("v=DKIM1; k=rsa; "), then every 255.
std::string txt(std::string_view v) {
  std::vector<std::string_view> parts;
  if (v.size() > 255) {
    auto cut = v.rfind("; ", 253);
    if (cut != std::string_view::npos) {
      parts.push_back(v.substr(0, cut + 2));
      v.remove_prefix(cut + 2);
    }
  }
  for (; v.size() > 255; v.remove_prefix(255)) parts.push_back(v.substr(0, 255));
  parts.push_back(v);
  if (parts.size() == 1) return "\"" + std::string(v) + "\"";
  std::string out = "(";
  for (auto p : parts) out += " \"" + std::string(p) + "\"";
  return out + " )";
}

std::string dkim_record(const std::string& domain, const std::string& selector, const EVP_PKEY* key) {
  return selector + "._domainkey." + domain + ". IN TXT " + txt(dkim_txt_value(key));
}

// The mail block's server_name, unless it names no host the world can reach.
std::string mx_host(const Cycle& cycle, const std::string& domain) {
  std::string name;
  size_t i = mail_module.index;
  if (cycle.mail && i < cycle.mail->size() && (*cycle.mail)[i]) {
    auto& mc = static_cast<const MailSrvConf&>(*(*cycle.mail)[i]);
    if (mc.server_name) name = store::normalize_domain(*mc.server_name);
  }
  if (name.empty() || name == "localhost" || name.find('.') == std::string::npos) return "mail." + domain;
  return name;
}

int dkim_keygen(Ctl& c) {
  std::string domain = stored_domain(c, c.args[0]);
  if (domain.empty()) return 1;
  std::string arg = c.option("--selector", default_selector);
  std::string selector = store::normalize_domain(arg);
  if (selector.empty()) return fail("selector \"" + arg + "\": use letters, digits, '-' and '.'");
  std::string algo = c.option("--algo", "rsa2048");
  if (algo != "rsa2048" && algo != "ed25519") return fail("--algo=" + algo + ": expected rsa2048 or ed25519");
  bool force = c.has_option("--force");

  std::string path = dkim_key_path(*c.cycle, domain, selector);
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec))
    return fail("a key for selector " + selector + " of " + domain + " exists already: " + path +
                " (--force replaces it, --selector=NAME adds another)");
  auto key = dkim_generate(algo == "ed25519" ? DkimAlgo::ed25519 : DkimAlgo::rsa2048);
  if (!key) return fail("generating the " + algo + " key failed");
  std::string err;
  if (!dkim_save_key(key.get(), path, force, err)) return fail(err);
  printf("; %s key for %s written to %s; publish:\n%s\n", algo.c_str(), domain.c_str(), path.c_str(),
         dkim_record(domain, selector, key.get()).c_str());
  return 0;
}

// A reports address with no local recipient: the reports would bounce.
void note_unreachable(Ctl& c, const std::string& address, const char* what) {
  std::vector<uint32_t> ids;
  if (c.store->read([&](store::Txn& t) { return t.resolve(address, ids); }) != store::Status::ok)
    printf("; note: %s go to %s, which no local user receives yet (gannetctl user add / alias add)\n", what,
           address.c_str());
}

int dns_show(Ctl& c) {
  std::string d = stored_domain(c, c.args[0]);
  if (d.empty()) return 1;
  // Every key loads before anything prints: no half output on a bad key.
  std::vector<std::pair<std::string, bssl::UniquePtr<EVP_PKEY>>> keys;
  for (auto& selector : dkim_selectors(*c.cycle, d)) {
    std::string err;
    auto key = dkim_load_key(dkim_key_path(*c.cycle, d, selector), err);
    if (!key) return fail(err);
    keys.emplace_back(selector, std::move(key));
  }
  std::string mx = mx_host(*c.cycle, d);
  // Senders fetch the MTA-STS policy again whenever the id changes.
  char id[32];
  time_t now = time(nullptr);
  tm utc;
  strftime(id, sizeof id, "%Y%m%d%H%M%S", gmtime_r(&now, &utc));

  printf("; DNS records for %s, ready to paste into its zone.\n", d.c_str());
  printf("; Point the MX host at this server's public addresses:\n");
  printf(";   %s. IN A    <IPv4 address>\n;   %s. IN AAAA <IPv6 address>\n", mx.c_str(), mx.c_str());
  printf("%s. IN MX 10 %s.\n", d.c_str(), mx.c_str());
  printf("%s. IN TXT %s\n", d.c_str(), txt("v=spf1 mx -all").c_str());
  for (auto& [selector, key] : keys) printf("%s\n", dkim_record(d, selector, key.get()).c_str());
  if (keys.empty()) printf("; no DKIM key yet: gannetctl dkim keygen %s\n", d.c_str());
  printf("_dmarc.%s. IN TXT %s\n", d.c_str(), txt("v=DMARC1; p=quarantine; rua=mailto:postmaster@" + d).c_str());
  printf("_mta-sts.%s. IN TXT %s\n", d.c_str(), txt(std::string("v=STSv1; id=") + id).c_str());
  printf("_smtp._tls.%s. IN TXT %s\n", d.c_str(), txt("v=TLSRPTv1; rua=mailto:tlsrpt@" + d).c_str());
  note_unreachable(c, "postmaster@" + d, "DMARC reports");
  note_unreachable(c, "tlsrpt@" + d, "TLS reports");
  // Testing mode first: enforce makes senders refuse mail on any TLS fault.
  printf("; mta-sts.%s also needs an A/AAAA record and an HTTPS server with a valid\n"
         "; certificate for it, serving this file (not DNS) as\n"
         "; https://mta-sts.%s/.well-known/mta-sts.txt:\n",
         d.c_str(), d.c_str());
  printf("version: STSv1\nmode: testing\nmx: %s\nmax_age: 604800\n", mx.c_str());
  return 0;
}

const Command commands[] = {
    {"dkim", "keygen", 1, 1, "dkim keygen DOMAIN [--selector=s1] [--algo=rsa2048|ed25519] [--force]", dkim_keygen},
    {"dns", "", 1, 1, "dns DOMAIN", dns_show},
};

}  // namespace

std::span<const Command> dns_commands() { return commands; }

}  // namespace gannet::ctl
