// ingestor-loadgen: sends N lines of S bytes over C TCP connections, as fast as the peer reads.
//
//   ingestor-loadgen --port P [--host 127.0.0.1] --lines N --size S --connections C [--acks]
//                    [--prefix TEXT]
//   ingestor-loadgen --loopback --lines N --size S --connections C
//
// Each line is --prefix (default none; e.g. a syslog header "<13>Dec  7 14:00:00 host app: ")
// then 'x' up to S bytes, '\n' included.
// With --acks it reads the peer's "OK\n" replies and waits for all of them (netcat with
// ack-every-event), keeping at most --window lines in flight per connection.
// --loopback measures the loopback TCP limit for the same load: the generator sends to a discard
// listener in this process, which reads and drops everything.
// Prints one JSON line: {"lines":N,"bytes":B,"seconds":T,"lines_per_s":...,"mib_per_s":...}.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Args {
  std::string host = "127.0.0.1";
  int port = 0;
  long long lines = 1000000;
  int size = 100;
  int connections = 1;
  bool acks = false;
  bool loopback = false;
  int window = 1000;
  std::string prefix;
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

int connect_to(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Sends `count` lines of `size` bytes (the last one '\n').
void sender(const Args& a, int port, long long count) {
  int fd = connect_to(a.host, port);
  std::string line = a.prefix.substr(0, static_cast<size_t>(a.size - 1));
  line.resize(static_cast<size_t>(a.size - 1), 'x');
  line += '\n';
  const long long per_buf = std::max<long long>(1, (256 * 1024) / a.size);
  std::string buf;
  for (long long i = 0; i < per_buf; ++i) buf += line;
  long long sent = 0, acked = 0;
  std::vector<char> rbuf(64 * 1024);
  while (sent < count) {
    long long n = std::min(per_buf, count - sent);
    if (a.acks) n = std::min<long long>(n, a.window - (sent - acked));
    if (n > 0) {
      write_all(fd, buf.data(), static_cast<size_t>(n) * a.size);
      sent += n;
    }
    if (a.acks && (sent - acked >= a.window || sent == count)) {
      ssize_t r = ::read(fd, rbuf.data(), rbuf.size());
      if (r <= 0) die("read acks");
      for (ssize_t i = 0; i < r; ++i) acked += rbuf[static_cast<size_t>(i)] == '\n';
    }
  }
  while (a.acks && acked < count) {
    ssize_t r = ::read(fd, rbuf.data(), rbuf.size());
    if (r <= 0) die("read acks");
    for (ssize_t i = 0; i < r; ++i) acked += rbuf[static_cast<size_t>(i)] == '\n';
  }
  ::shutdown(fd, SHUT_WR);
  if (!a.acks) {
    // Wait for the peer to close: everything was read.
    while (::read(fd, rbuf.data(), rbuf.size()) > 0) {
    }
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--host") a.host = val();
    else if (k == "--port") a.port = std::stoi(val());
    else if (k == "--lines") a.lines = std::stoll(val());
    else if (k == "--size") a.size = std::stoi(val());
    else if (k == "--connections") a.connections = std::stoi(val());
    else if (k == "--window") a.window = std::stoi(val());
    else if (k == "--acks") a.acks = true;
    else if (k == "--prefix") a.prefix = val();
    else if (k == "--loopback") a.loopback = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      return 2;
    }
  }
  if (a.size < 1) a.size = 1;

  int port = a.port;
  int lfd = -1;
  std::vector<std::thread> readers;
  std::atomic<long long> discarded{0};
  if (a.loopback) {
    lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
    ::listen(lfd, 128);
    socklen_t len = sizeof addr;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    for (int c = 0; c < a.connections; ++c) {
      readers.emplace_back([&, lfd] {
        int fd = ::accept(lfd, nullptr, nullptr);
        std::vector<char> buf(256 * 1024);
        long long total = 0;
        for (;;) {
          ssize_t r = ::read(fd, buf.data(), buf.size());
          if (r <= 0) break;
          // Touch the data as a parser would look for newlines.
          total += r;
          const char* p = buf.data();
          const char* end = p + r;
          while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))))
            ++p;
        }
        discarded += total;
        ::close(fd);
      });
    }
  }

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  for (int c = 0; c < a.connections; ++c) {
    long long share = a.lines / a.connections + (c < a.lines % a.connections ? 1 : 0);
    senders.emplace_back([&, share] { sender(a, port, share); });
  }
  for (auto& t : senders) t.join();
  for (auto& t : readers) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (lfd >= 0) ::close(lfd);
  double bytes = static_cast<double>(a.lines) * a.size;
  std::printf(
      "{\"lines\":%lld,\"bytes\":%.0f,\"seconds\":%.6f,\"lines_per_s\":%.0f,\"mib_per_s\":%.2f}\n",
      a.lines, bytes, secs, a.lines / secs, bytes / secs / (1024.0 * 1024.0));
  return 0;
}
