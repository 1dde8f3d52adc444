#pragma once
// ExecSource: Flume's `exec` source (flume-components.md 1.3). Runs `command` (split on white
// space, or as one argument after the words of `shell`), and turns each line of its standard
// output into an event (Java's readLine: "\n", "\r" and "\r\n" end a line; the last line without
// a terminator is sent at EOF). Lines are put in batches of `batchSize`, or fewer once the oldest
// has waited `batchTimeout` ms; bodies are the line decoded and re-encoded in `charset` (UTF-8,
// ISO-8859-1, US-ASCII; others are a configuration error). No headers.
//
// Where it differs from Flume (whose exec source drops its batch and kills the command when the
// channel is full):
//  - a full channel is retried (1 ms doubling to 100 ms) with nothing read from the pipe
//    meanwhile, so the command blocks on its next write: nothing is dropped, memory stays bounded;
//  - another put error is retried too, with the same backoff, logged once a second at most and
//    counted in ChannelWriteFail;
//  - the command cannot outlive the agent (ChildProcess: process group, death signal) and cannot
//    inherit its sockets or files; stop() sends SIGTERM to its group, SIGKILL 2 s later;
//  - stdin is /dev/null; stderr, unless logged, goes to /dev/null (never blocks the command);
//  - a line is at most `maxLineLength` bytes (not in Flume): a longer one is cut into pieces.
// What it cannot do: resume. It keeps no position, so what the command printed before a crash or
// a restart of the agent is lost or read again, depending on the command (`tail -F` starts again
// at the last 10 lines). Lines read but not yet committed when the agent stops are lost.
//
// Exit statuses: one log line each ("Command [<command>] exited with <code> (<how>)", with
// "; restarting in <n> ms" under `restart`), counted in CommandExitCount, CommandNonZeroExitCount
// and CommandLastExitCode; failed starts (a missing program) in CommandStartFailCount.
// Memory: one 64 KiB read buffer (up to maxLineLength + 4 KiB while a long line needs it), the
// lines of one read (at most that many bytes) and the buffers events in the channel still hold.
// Threads: one of its own, which owns the command; stop() joins it.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/charset.h"
#include "base/log.h"
#include "core/config/spec.h"
#include "core/source.h"

namespace ingestor {

const ComponentSpec& exec_source_spec();

struct ExecSourceOptions {
  std::string command;
  std::string shell;
  std::vector<std::string> argv;  // what is executed
  bool restart = false;
  std::chrono::milliseconds restart_throttle{10000};
  bool log_stderr = false;
  size_t batch_size = 20;
  std::chrono::milliseconds batch_timeout{3000};
  Charset charset = Charset::kUtf8;
  size_t max_line_length = 1024 * 1024;
  // How long stop() waits after SIGTERM before SIGKILL.
  std::chrono::milliseconds stop_grace{2000};
};

// Errors name the key: an empty command, an unsupported charset.
[[nodiscard]] Result<ExecSourceOptions> exec_source_options(const Settings& s);

class ExecSource final : public Source {
 public:
  ExecSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
             ExecSourceOptions options);
  ~ExecSource() override;
  // Starts the thread that runs the command; a command that cannot be started is logged and
  // counted (and retried under `restart`), as Flume, and does not fail start().
  Status start() override;
  void stop() override;
  // Flume's source counters plus CommandStartCount, CommandStartFailCount, CommandExitCount,
  // CommandNonZeroExitCount, CommandLastExitCode (-1 before the first exit), CommandRunning and
  // LineCutCount.
  void collect_metrics(MetricList& out) const override;

  // The running command's process id, 0 when none runs (for tests).
  int child_pid() const { return child_pid_.load(); }

 private:
  struct Run;  // one run of the command, in the .cc
  void thread_main();
  bool wait_stop(std::chrono::milliseconds d);

  ExecSourceOptions opts_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int stop_fd_ = -1;  // eventfd: readable once stop() was called
  std::atomic<int> child_pid_{0};
  Counter start_count_, start_fail_, exit_count_, nonzero_exit_, last_exit_, running_, line_cut_;
  log::Throttle write_fail_log_, stderr_log_{std::chrono::milliseconds(10)};
  uint64_t stderr_lines_ = 0;
};

}  // namespace ingestor
