// Cidr::Parse on arbitrary text, and IpRules::ClientAddress on an arbitrary peer and
// X-Forwarded-For (policy/ip_rules.h). Input lines: a CIDR, the peer, then the header (its
// remaining lines joined back with '\n'). Whatever the bytes, no exception escapes, parsing
// either succeeds or explains itself, and the client found is the peer or a real address.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/ip_rules.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using portico::policy::Cidr;
using portico::policy::IpRules;

// A bare address parses as a one-address network.
bool IsAddress(std::string_view text) {
  return text.find('/') == std::string_view::npos && Cidr::Parse(text).ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = portico::fuzz::AsView(data, size);
  const std::size_t first = input.find('\n');
  const std::string_view cidr_text = input.substr(0, first);
  std::string_view rest =
      first == std::string_view::npos ? std::string_view() : input.substr(first + 1);
  const std::size_t second = rest.find('\n');
  const std::string_view peer = rest.substr(0, second);
  const std::string_view xff =
      second == std::string_view::npos ? std::string_view() : rest.substr(second + 1);

  auto cidr = Cidr::Parse(cidr_text);
  if (!cidr.ok()) {
    FUZZ_CHECK(cidr.status().code() == portico::Code::kInvalidArgument, cidr.status().message());
    FUZZ_CHECK(!cidr.status().message().empty(), "a rejection needs a message");
  } else {
    (void)cidr->Contains(peer);
  }

  portico::registry::IpPolicy policy;
  policy.trusted_proxies = {"10.0.0.0/8", "127.0.0.1", "fd00::/8"};
  if (cidr.ok()) policy.trusted_proxies.emplace_back(cidr_text);
  policy.deny = {"192.0.2.0/24"};
  auto rules = IpRules::Build(policy);
  FUZZ_CHECK(rules.ok(), rules.status().message());

  const std::string client = rules->ClientAddress(peer, xff);
  // Either the peer as given (not an address), or an address in canonical text.
  if (!IsAddress(peer)) {
    FUZZ_CHECK(client == peer, "a peer that is not an address consulted X-Forwarded-For");
    return 0;
  }
  FUZZ_CHECK(IsAddress(client), "the client is not an address: " + client);
  FUZZ_CHECK(rules->ClientAddress(client, "") == client, "canonical text is not stable");
  // An untrusted peer's header is never read.
  bool trusted = false;
  for (const std::string& t : policy.trusted_proxies) trusted |= Cidr::Parse(t)->Contains(peer);
  if (!trusted) {
    FUZZ_CHECK(client == rules->ClientAddress(peer, ""), "an untrusted peer's header was read");
  }
  (void)rules->Allowed(client);
  return 0;
}
