#include "tests/support/dns_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace portico::testing {
namespace {

void WriteFile(const std::string& path, const std::string& content) {
  // Written aside and renamed, so that dnsmasq never reads half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp);
}

}  // namespace

LocalDnsServer::LocalDnsServer() {
  char path[] = "/tmp/portico-dns-hosts-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  ::chmod(path, 0644);  // dnsmasq may read it after dropping privileges
  hosts_path_ = path;
}

LocalDnsServer::~LocalDnsServer() {
  process_.Kill();
  ::unlink(hosts_path_.c_str());
}

std::string LocalDnsServer::Binary() {
  for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

void LocalDnsServer::Start(const std::string& hosts, const std::vector<std::string>& srv) {
  const std::string binary = Binary();
  if (binary.empty()) throw std::runtime_error("dnsmasq is not installed");
  SetHosts(hosts);
  for (int attempt = 0; attempt < 5; ++attempt) {  // the free port may be taken meanwhile
    port_ = PickFreePort();
    std::vector<std::string> args = {
        "--keep-in-foreground", "--log-facility=-", "--pid-file=", "--conf-file=/dev/null",
        "--port=" + std::to_string(port_), "--listen-address=127.0.0.1", "--bind-interfaces",
        "--no-resolv", "--no-hosts", "--no-negcache", "--addn-hosts=" + hosts_path_,
        "--local-ttl=1", "--local=/test/"};
    if (::geteuid() == 0) args.push_back("--user=root");  // nothing to drop to in a container
    for (const std::string& record : srv) args.push_back("--srv-host=" + record);
    process_.Start(binary, args, "", std::chrono::minutes(10));
    // dnsmasq says "started" once its sockets are bound.
    if (process_.WaitFor([&] { return process_.Stderr().find("started") != std::string::npos; },
                         std::chrono::seconds(10)) &&
        process_.Running()) {
      return;
    }
    process_.Kill();
  }
  throw std::runtime_error("dnsmasq did not start: " + process_.Stderr());
}

void LocalDnsServer::SetHosts(const std::string& hosts) {
  WriteFile(hosts_path_, hosts);
  if (process_.Running()) process_.Signal(SIGHUP);
}

}  // namespace portico::testing
