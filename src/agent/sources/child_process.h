#pragma once
// ChildProcess: a command run by the exec source, made so that it never outlives the agent:
//  - it leads a process group of its own (its children, the commands of a shell pipeline, are in
//    it too), so terminate() signals them all: SIGTERM, then SIGKILL after a grace period;
//  - PR_SET_PDEATHSIG(SIGKILL): the kernel kills it when the thread that spawned it ends, the
//    agent SIGKILLed included. (Its own children do not get that signal: a pipeline's other
//    commands die of SIGPIPE or EOF when they next use the pipe to the agent.)
// stdin is /dev/null, stdout a pipe, stderr a pipe or /dev/null. The signal mask and SIGPIPE's
// disposition are reset (the agent blocks SIGTERM/SIGINT and ignores SIGPIPE), and no other
// descriptor of the agent leaks into the command (they are all marked close-on-exec).
// The parent's ends of the pipes are non-blocking and close-on-exec.
//
// Thread-safety: one thread owns a ChildProcess; spawn() from the thread that stays alive as long
// as the command should (the death signal follows that thread).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ingestor {

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH when it has no '/') with argv. Fails when a pipe cannot be
  // made, fork() fails or the program cannot be executed (the message has exec's reason).
  [[nodiscard]] static Result<ChildProcess> spawn(const std::vector<std::string>& argv,
                                                  bool capture_stderr);

  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  // Terminates the command (as terminate() with a 1 s grace) if it still runs.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_fd_; }
  int stderr_fd() const { return err_fd_; }  // -1 when stderr goes to /dev/null
  void close_stdout();
  void close_stderr();
  // A descriptor that polls readable once the command has exited (a pidfd), or -1 where the
  // kernel has none (then poll try_wait()).
  int exit_fd() const { return pid_fd_; }

  // The wait status (waitpid's) once the command has exited, reaping it; nullopt while it runs.
  std::optional<int> try_wait();
  // SIGTERM to the process group, then SIGKILL to it when the command has not exited after
  // `grace`; returns the wait status. Also when it has exited already: the group's other
  // processes (a pipeline's, a backgrounded job's) get the signals too.
  int terminate(std::chrono::milliseconds grace);

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1, pid_fd_ = -1;
  std::optional<int> status_;
};

// The exit value as Java's Process.exitValue() gives it: the exit code, or 128 + the signal
// number for a command killed by a signal (143 for SIGTERM).
int exit_code_of(int wait_status);
// "exited with 3", "killed by signal 15 (Terminated)".
std::string describe_wait_status(int wait_status);

// Flume's ExecSource argv: `command` split on white space (no quoting), or with `shell`, the
// shell's words followed by the whole command as one argument ("/bin/sh -c" + command).
std::vector<std::string> exec_argv(std::string_view command, std::string_view shell);

}  // namespace ingestor
