#include "agent/sources/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace ingestor {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// In the child between fork() and exec: async-signal-safe calls only (no allocation, no lock).
[[noreturn]] void run_child(char* const* argv, pid_t parent, int devnull, int out, int err,
                            int report, int max_fd) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the agent died before the death signal was armed
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  if (::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err >= 0 ? err : devnull, 2) < 0) {
    int e = errno;
    [[maybe_unused]] auto n = ::write(report, &e, sizeof e);
    ::_exit(127);
  }
  // No descriptor of the agent (sockets, WAL files) may live on in the command.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::execvp(argv[0], argv);
  int e = errno;
  [[maybe_unused]] auto n = ::write(report, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                         bool capture_stderr) {
  if (argv.empty() || argv[0].empty()) return make_error(Errc::kConfig, "empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  rlimit rl{};
  int max_fd = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20)
                   ? static_cast<int>(rl.rlim_cur)
                   : (1 << 20);

  int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  auto close_all = [&] {
    for (int* fd : {&out[0], &out[1], &err[0], &err[1], &report[0], &report[1], &devnull})
      close_fd(*fd);
  };
  if (devnull < 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
      (capture_stderr && ::pipe2(err, O_CLOEXEC) != 0) || ::pipe2(report, O_CLOEXEC) != 0) {
    Error e = errno_error("cannot create the pipes for the command", errno);
    close_all();
    return e;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) run_child(args.data(), parent, devnull, out[1], err[1], report[1], max_fd);
  if (pid < 0) {
    Error e = errno_error("fork", errno);
    close_all();
    return e;
  }
  ::setpgid(pid, pid);  // also here, so the group exists before either side goes on
  close_fd(out[1]);
  close_fd(err[1]);
  close_fd(report[1]);
  close_fd(devnull);

  ChildProcess c;
  c.pid_ = pid;
  c.out_fd_ = std::exchange(out[0], -1);
  c.err_fd_ = std::exchange(err[0], -1);
  // The report pipe closes on exec (nothing read) or carries exec's errno.
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close_fd(report[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    c.status_ = st;
    return errno_error("cannot run '" + argv[0] + "'", exec_errno);
  }
  for (int fd : {c.out_fd_, c.err_fd_})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
#ifdef SYS_pidfd_open
  c.pid_fd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (c.pid_fd_ >= 0) ::fcntl(c.pid_fd_, F_SETFD, FD_CLOEXEC);
#endif
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      out_fd_(std::exchange(o.out_fd_, -1)),
      err_fd_(std::exchange(o.err_fd_, -1)),
      pid_fd_(std::exchange(o.pid_fd_, -1)),
      status_(std::exchange(o.status_, std::nullopt)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) terminate(std::chrono::seconds(1));
  close_stdout();
  close_stderr();
  close_fd(pid_fd_);
}

void ChildProcess::close_stdout() { close_fd(out_fd_); }
void ChildProcess::close_stderr() { close_fd(err_fd_); }

std::optional<int> ChildProcess::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = st;
    close_fd(pid_fd_);
  }
  return status_;
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_.value_or(0);
  ::kill(-pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!try_wait()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (pid_fd_ >= 0) {
      pollfd p{pid_fd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      ::poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left.count(), 10)));
    }
  }
  // What is left of the group (the command itself past its grace, or a pipeline's commands
  // that outlived it) is killed.
  ::kill(-pid_, SIGKILL);
  if (!status_) {
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
    close_fd(pid_fd_);
  }
  return *status_;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name ? " (" + std::string(name) + ")" : "");
  }
  return "ended with wait status " + std::to_string(wait_status);
}

std::vector<std::string> exec_argv(std::string_view command, std::string_view shell) {
  std::vector<std::string> out;
  auto split = [&](std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      size_t j = i;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j > i) out.emplace_back(s.substr(i, j - i));
      i = j;
    }
  };
  if (shell.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos) {
    split(command);
  } else {
    split(shell);
    out.emplace_back(command);
  }
  return out;
}

}  // namespace ingestor
