#include "agent/sources/exec_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/sources/child_process.h"
#include "agent/sources/line_reader.h"

namespace ingestor {

namespace {
// stderr lines are logged up to this many bytes (a longer one is cut, the rest is a new line).
constexpr size_t kStderrLine = 4096;
constexpr std::chrono::milliseconds kFirstRetry{1}, kMaxRetry{100};

using Clock = std::chrono::steady_clock;

int poll_ms(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<int64_t>(d.count(), 0, 24 * 3600 * 1000));
}
}  // namespace

const ComponentSpec& exec_source_spec() {
  static const ComponentSpec spec{
      "source",
      "exec",
      "org.apache.flume.source.ExecSource",
      "Runs a command and sends each line of its standard output as an event, pushing back on "
      "it\n  (it blocks on its writes) while the channel is full. It cannot resume: lines the "
      "command printed\n  before a crash or a restart of the agent may be lost or read again, "
      "depending on the command\n  (tail -F re-reads its last 10 lines).",
      {
          {"command", KeyType::kString, std::nullopt, true,
           "Command to run; split on white space (no quoting) unless shell is set"},
          {"shell", KeyType::kString, std::nullopt, false,
           "Shell to run the command with, e.g. '/bin/sh -c' (the command is its last argument)"},
          {"restart", KeyType::kBool, "false", false, "Run the command again after it exits"},
          {"restartThrottle", KeyType::kLong, "10000", false,
           "Milliseconds to wait before running it again", 0},
          {"logStdErr", KeyType::kBool, "false", false,
           "Log the command's stderr lines (INFO, escaped, 100 a second at most); else discarded"},
          {"batchSize", KeyType::kInt, "20", false, "Lines put in one transaction", 1},
          {"batchTimeout", KeyType::kLong, "3000", false,
           "Milliseconds a line waits at most for its batch to fill", 1},
          {"charset", KeyType::kString, "UTF-8", false,
           "Charset of the output: UTF-8, ISO-8859-1 or US-ASCII"},
          {"maxLineLength", KeyType::kInt, "1048576", false,
           "Longest line in bytes (not in Flume): a longer one is cut into pieces", 1,
           64 * 1024 * 1024},
      }};
  return spec;
}

Result<ExecSourceOptions> exec_source_options(const Settings& s) {
  ExecSourceOptions o;
  o.command = s.str("command");
  o.shell = s.str("shell");
  o.argv = exec_argv(o.command, o.shell);
  if (o.command.find_first_not_of(" \t\r\n\f\v") == std::string::npos || o.argv.empty())
    return make_error(Errc::kConfig, "command: The parameter command must be specified");
  o.restart = s.boolean("restart");
  o.restart_throttle = std::chrono::milliseconds(s.i64("restartThrottle"));
  o.log_stderr = s.boolean("logStdErr");
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));
  o.batch_timeout = std::chrono::milliseconds(s.i64("batchTimeout"));
  o.max_line_length = static_cast<size_t>(s.i64("maxLineLength"));
  auto cs = exec_charset(s.str("charset"));
  if (!cs)
    return make_error(Errc::kConfig, "charset: '" + s.str("charset") +
                                         "' is not supported by the exec source (UTF-8, "
                                         "ISO-8859-1 or US-ASCII)");
  o.charset = *cs;
  return o;
}

// One run of the command: reads its output until EOF or stop, puts the lines, logs stderr.
struct ExecSource::Run {
  Run(ExecSource& s, ChildProcess& c)
      : src(s),
        child(c),
        out(s.opts_.max_line_length),
        err(kStderrLine, kStderrLine),
        err_open(c.stderr_fd() >= 0) {}

  ExecSource& src;
  ChildProcess& child;
  LineReader out, err;
  bool err_open;
  std::vector<Slice> lines;
  Batch pending;    // lines read, not yet committed
  size_t next = 0;  // first uncommitted event of `pending`
  Clock::time_point oldest;

  bool stopping() const { return src.stopping_.load(); }
  size_t waiting() const { return pending.size() - next; }

  // Reads stdout until EOF (true) or until the source stops (false).
  bool pump() {
    while (!stopping()) {
      pollfd fds[3] = {{src.stop_fd_, POLLIN, 0}, {child.stdout_fd(), POLLIN, 0}, {-1, 0, 0}};
      if (err_open) fds[2] = {child.stderr_fd(), POLLIN, 0};
      int timeout = -1;
      if (waiting())
        timeout = poll_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                              oldest + src.opts_.batch_timeout - Clock::now()) +
                          std::chrono::milliseconds(1));
      if (::poll(fds, 3, timeout) < 0 && errno != EINTR) {
        log::error("exec source {}: poll failed: {}", src.name(), std::strerror(errno));
        return false;
      }
      if (fds[0].revents) return false;
      if (fds[2].revents) drain_stderr();
      if (fds[1].revents && !read_stdout()) {
        add(out.finish(lines));
        flush_all();
        return true;
      }
      while (waiting() >= src.opts_.batch_size) flush(src.opts_.batch_size);
      if (waiting() && Clock::now() >= oldest + src.opts_.batch_timeout) flush_all();
    }
    return false;
  }

  // One read; false at EOF (or on a read error, logged).
  bool read_stdout() {
    auto room = out.room();
    ssize_t n = ::read(child.stdout_fd(), room.data(), room.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n < 0)
      log::error("exec source {}: reading the command's output: {}", src.name(),
                 std::strerror(errno));
    if (n <= 0) return false;
    const size_t cut_before = out.cut();
    add(out.commit(static_cast<size_t>(n), lines));
    if (out.cut() != cut_before) {
      src.line_cut_.add(static_cast<int64_t>(out.cut() - cut_before));
      if (src.write_fail_log_.allow())
        log::warn("exec source {}: a line longer than maxLineLength ({} bytes) was cut", src.name(),
                  src.opts_.max_line_length);
    }
    return true;
  }

  void add(size_t n) {
    if (!n) return;
    if (!waiting()) oldest = Clock::now();
    for (auto& l : lines) pending.emplace_back(recode_line(std::move(l), src.opts_.charset));
    lines.clear();
    src.counters_.event_received.add(static_cast<int64_t>(n));
  }

  void flush_all() {
    while (waiting() && flush(src.opts_.batch_size)) {
    }
  }

  // Puts the next `k` (or fewer) lines, retrying until they are committed; gives up (the lines
  // are lost) only when the source stops. Nothing is read from stdout meanwhile.
  bool flush(size_t k) {
    k = std::min({k, waiting(), std::max<size_t>(src.processor().max_batch(), 1)});
    Batch batch;
    batch.reserve(k);
    for (size_t i = 0; i < k; ++i) batch.push_back(std::move(pending[next + i]));
    next += k;
    if (next == pending.size()) {
      pending.clear();
      next = 0;
    } else {
      oldest = Clock::now();
    }
    PutProgress progress;
    auto delay = kFirstRetry;
    for (;;) {
      Status s = src.processor().process(batch, progress);
      if (s) {
        src.counters_.event_accepted.add(static_cast<int64_t>(k));
        return true;
      }
      if (s.error().code != Errc::kChannelFull) {
        src.counters_.channel_write_fail.add();
        if (src.write_fail_log_.allow())
          log::warn("exec source {}: cannot put {} events, retrying: {}", src.name(), k,
                    log::escape(s.error().message));
      }
      if (stopping() || !wait_retry(delay)) {
        log::warn("exec source {}: stopping: {} lines read from the command were not delivered",
                  src.name(), k + waiting());
        pending.clear();
        next = 0;
        return false;
      }
      delay = std::min(delay * 2, kMaxRetry);
    }
  }

  // Waits `d` while logging stderr; false when the source stops meanwhile.
  bool wait_retry(std::chrono::milliseconds d) {
    const auto until = Clock::now() + d;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return !stopping();
      pollfd fds[2] = {{src.stop_fd_, POLLIN, 0}, {err_open ? child.stderr_fd() : -1, POLLIN, 0}};
      ::poll(fds, 2, poll_ms(left));
      if (fds[0].revents) return false;
      if (fds[1].revents) drain_stderr();
    }
  }

  void drain_stderr() {
    for (int i = 0; i < 16 && err_open; ++i) {
      auto room = err.room();
      ssize_t n = ::read(child.stderr_fd(), room.data(), room.size());
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n <= 0) {
        err.finish(lines);
        err_open = false;
        child.close_stderr();
      } else {
        err.commit(static_cast<size_t>(n), lines);
      }
      for (const auto& l : lines) {
        ++src.stderr_lines_;
        if (!src.stderr_log_.allow()) continue;
        const uint64_t more = src.stderr_log_.take_suppressed();
        log::info("exec source {}: StderrLogger[{}] = '{}'{}", src.name(), src.stderr_lines_,
                  log::escape(l.view()),
                  more ? " (" + std::to_string(more) + " stderr lines not logged)" : std::string());
      }
      lines.clear();
    }
  }

  // After EOF: waits for the command to exit (stderr still logged) unless the source stops;
  // then, or when stopping, terminates what is left of its group. Returns the wait status.
  int finish(bool eof) {
    while (eof && !stopping() && !child.try_wait()) {
      pollfd fds[3] = {{src.stop_fd_, POLLIN, 0},
                       {child.exit_fd(), POLLIN, 0},
                       {err_open ? child.stderr_fd() : -1, POLLIN, 0}};
      ::poll(fds, 3, child.exit_fd() >= 0 ? -1 : 50);
      if (fds[2].revents) drain_stderr();
    }
    if (waiting()) flush_all();  // stopping: one try
    if (auto st = child.try_wait()) {
      drain_stderr();
      return *st;
    }
    return child.terminate(src.opts_.stop_grace);
  }
};

ExecSource::ExecSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                       ExecSourceOptions options)
    : Source(std::move(name), "exec", std::move(processor)), opts_(std::move(options)) {
  last_exit_.set(-1);
}

ExecSource::~ExecSource() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

Status ExecSource::start() {
  if (thread_.joinable()) return {};
  if (stop_fd_ < 0) stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return errno_error("exec source " + name() + ": eventfd", errno);
  stopping_ = false;
  counters_.started();
  try {
    thread_ = std::thread([this] { thread_main(); });
  } catch (const std::exception& e) {
    return make_error(Errc::kInternal, "exec source " + name() + ": " + e.what());
  }
  return {};
}

void ExecSource::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  counters_.stopped();
}

bool ExecSource::wait_stop(std::chrono::milliseconds d) {
  pollfd p{stop_fd_, POLLIN, 0};
  ::poll(&p, 1, poll_ms(d));
  return stopping_;
}

void ExecSource::thread_main() {
  const std::string cmd = log::escape(opts_.command);
  while (!stopping_) {
    start_count_.add();
    auto child = ChildProcess::spawn(opts_.argv, opts_.log_stderr);
    if (!child) {
      start_fail_.add();
      log::error("exec source {}: Failed while running command: {}: {}{}", name(), cmd,
                 log::escape(child.error().message),
                 opts_.restart
                     ? "; trying again in " + std::to_string(opts_.restart_throttle.count()) + " ms"
                     : std::string());
    } else {
      log::info("Exec source {} starting with command: {}", name(), cmd);
      child_pid_ = child->pid();
      running_.set(1);
      int status;
      {
        Run run(*this, *child);
        status = run.finish(run.pump());
      }
      child_pid_ = 0;
      running_.set(0);
      const int code = exit_code_of(status);
      exit_count_.add();
      last_exit_.set(code);
      if (code != 0) nonzero_exit_.add();
      const bool again = opts_.restart && !stopping_;
      std::string line =
          "exec source " + name() + ": Command [" + cmd + "] exited with " + std::to_string(code);
      if (WIFSIGNALED(status)) line += " (" + describe_wait_status(status) + ")";
      if (again)
        line += "; restarting in " + std::to_string(opts_.restart_throttle.count()) + " ms";
      if (code != 0 && !stopping_) {
        log::warn("{}", line);
      } else {
        log::info("{}", line);
      }
    }
    if (!opts_.restart || wait_stop(opts_.restart_throttle)) break;
  }
}

void ExecSource::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("CommandStartCount", std::to_string(start_count_.get()));
  out.emplace_back("CommandStartFailCount", std::to_string(start_fail_.get()));
  out.emplace_back("CommandExitCount", std::to_string(exit_count_.get()));
  out.emplace_back("CommandNonZeroExitCount", std::to_string(nonzero_exit_.get()));
  out.emplace_back("CommandLastExitCode", std::to_string(last_exit_.get()));
  out.emplace_back("CommandRunning", std::to_string(running_.get()));
  out.emplace_back("LineCutCount", std::to_string(line_cut_.get()));
}

}  // namespace ingestor
