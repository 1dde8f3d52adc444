#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "core/config/spec.h"

namespace ingestor::cli {

CLI::Validator whole_number(int64_t min, int64_t max, std::string_view unit) {
  const std::string expected = expected_whole_number(min, max, unit);
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        auto v = parse_whole_number(s, min, max);
        if (!v) return expected + ", got '" + s + "'";
        s = std::to_string(*v);
        return {};
      },
      max == kNoMax ? ">= " + std::to_string(min)
                    : std::to_string(min) + ".." + std::to_string(max));
}

CLI::Validator listen_address() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        std::string host;
        uint16_t port = 0;
        if (split_listen(s, host, port)) return {};
        return std::string(kExpectedListen) + ", got '" + s + "'";
      },
      "HOST:PORT");
}

bool split_listen(const std::string& listen, std::string& host, uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  try {
    size_t used = 0;
    int p = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

bool write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << content;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace ingestor::cli
