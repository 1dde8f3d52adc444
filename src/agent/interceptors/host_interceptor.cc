#include "agent/interceptors/host_interceptor.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace ingestor {

const ComponentSpec& host_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "host",
      "org.apache.flume.interceptor.HostInterceptor$Builder",
      "Adds this host's IP address or name.",
      {
          {"hostHeader", KeyType::kString, "host", false, "Header to set"},
          {"useIP", KeyType::kBool, "true", false, "IP address (true) or canonical host name"},
          {"preserveExisting", KeyType::kBool, "false", false, "Keep a value already there"},
      }};
  return spec;
}

const HostFacts& host_facts() {
  static const HostFacts facts = [] {
    HostFacts f;
    char name[256] = {0};
    if (::gethostname(name, sizeof name - 1) == 0) f.hostname = name;
    f.fqdn = f.hostname;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    if (!f.hostname.empty() && ::getaddrinfo(f.hostname.c_str(), nullptr, &hints, &res) == 0) {
      if (res && res->ai_canonname) f.fqdn = res->ai_canonname;
      for (addrinfo* p = res; p; p = p->ai_next) {
        if (p->ai_family == AF_INET) {
          char buf[INET_ADDRSTRLEN];
          auto* sin = reinterpret_cast<sockaddr_in*>(p->ai_addr);
          if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) {
            f.ip = buf;
            break;
          }
        }
      }
      ::freeaddrinfo(res);
    }
    if (f.ip.empty() || f.ip.rfind("127.", 0) == 0) {
      ifaddrs* ifs = nullptr;
      if (::getifaddrs(&ifs) == 0) {
        for (ifaddrs* p = ifs; p; p = p->ifa_next) {
          if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET) continue;
          char buf[INET_ADDRSTRLEN];
          auto* sin = reinterpret_cast<sockaddr_in*>(p->ifa_addr);
          if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) &&
              std::strncmp(buf, "127.", 4) != 0) {
            f.ip = buf;
            break;
          }
        }
        ::freeifaddrs(ifs);
      }
    }
    if (f.ip.empty()) f.ip = "127.0.0.1";
    return f;
  }();
  return facts;
}

HostInterceptor::HostInterceptor(const Settings& s)
    : header_(s.str("hostHeader")),
      value_(s.boolean("useIP") ? host_facts().ip : host_facts().fqdn),
      preserve_(s.boolean("preserveExisting")) {}

void HostInterceptor::intercept(Batch& events) {
  for (Event& e : events) {
    if (preserve_) {
      e.headers.set_if_absent(header_, value_);
    } else {
      e.headers.set(header_, value_);
    }
  }
}

}  // namespace ingestor
