// ExecSource: the config table, the line rules, the child process contract (group, death signal,
// no leaked descriptors) and Flume's checklist (flume-components.md 1.3) against a MemoryChannel.
#include "agent/sources/exec_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/sources/child_process.h"
#include "agent/sources/line_reader.h"
#include "agent/sources/test_channel.h"

namespace ingestor {
namespace {

using namespace std::chrono_literals;

template <class F>
bool eventually(F cond, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool process_gone(pid_t pid) {
  return !std::filesystem::exists("/proc/" + std::to_string(pid)) ||
         [&] {  // a zombie not yet reaped by its new parent is gone too
           std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
           std::string s;
           std::getline(f, s);
           auto p = s.rfind(')');
           return p == std::string::npos || (p + 2 < s.size() && s[p + 2] == 'Z');
         }();
}

// ---- configuration -----------------------------------------------------------------------------

Settings settings(Context ctx, Diagnostics& d) {
  return Settings::validate(exec_source_spec(), ctx, "source", "r1", "a1.sources.r1.", d);
}

TEST(ExecSourceConfig, DefaultsAreFlumes) {
  Diagnostics d;
  auto o = exec_source_options(settings({{"command", "tail -F /var/log/x"}}, d));
  ASSERT_FALSE(d.has_errors());
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->argv, (std::vector<std::string>{"tail", "-F", "/var/log/x"}));
  EXPECT_FALSE(o->restart);
  EXPECT_EQ(o->restart_throttle, 10000ms);
  EXPECT_FALSE(o->log_stderr);
  EXPECT_EQ(o->batch_size, 20u);
  EXPECT_EQ(o->batch_timeout, 3000ms);
  EXPECT_EQ(o->charset, Charset::kUtf8);
  EXPECT_EQ(exec_source_spec().alias, "exec");
  EXPECT_EQ(exec_source_spec().class_name, "org.apache.flume.source.ExecSource");
  // --describe says that exec cannot resume.
  EXPECT_NE(describe(exec_source_spec()).find("cannot resume"), std::string::npos);
}

TEST(ExecSourceConfig, CommandIsRequiredAndShellTakesItWhole) {
  Diagnostics d;
  settings({{"shell", "/bin/sh -c"}}, d);
  EXPECT_TRUE(d.has_errors());
  Diagnostics d2;
  auto blank = exec_source_options(settings({{"command", "   "}}, d2));
  ASSERT_FALSE(blank);
  EXPECT_NE(blank.error().message.find("command"), std::string::npos);

  Diagnostics d3;
  auto o = exec_source_options(
      settings({{"command", "tail -F x | grep 'a b'"}, {"shell", "/bin/bash  -c"}}, d3));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->argv, (std::vector<std::string>{"/bin/bash", "-c", "tail -F x | grep 'a b'"}));
  // Without a shell there is no quoting, as Flume's split("\\s+").
  EXPECT_EQ(exec_argv(" echo 'a  b'\t", ""), (std::vector<std::string>{"echo", "'a", "b'"}));
}

TEST(ExecSourceConfig, KeysAreTypedAndCharsetsChecked) {
  Diagnostics d;
  auto o = exec_source_options(settings({{"command", "x"},
                                         {"restart", "true"},
                                         {"restartThrottle", "10"},
                                         {"logStdErr", "true"},
                                         {"batchSize", "5"},
                                         {"batchTimeout", "750"},
                                         {"charset", "iso-8859-1"}},
                                        d));
  ASSERT_FALSE(d.has_errors());
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->restart);
  EXPECT_EQ(o->restart_throttle, 10ms);
  EXPECT_TRUE(o->log_stderr);
  EXPECT_EQ(o->batch_size, 5u);
  EXPECT_EQ(o->batch_timeout, 750ms);
  EXPECT_EQ(o->charset, Charset::kLatin1);

  for (const char* bad : {"UTF-16", "UTF-32LE", "EBCDIC"}) {
    Diagnostics dc;
    auto r = exec_source_options(settings({{"command", "x"}, {"charset", bad}}, dc));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kConfig);
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
  Diagnostics db;
  settings({{"command", "x"}, {"batchSize", "0"}}, db);
  EXPECT_TRUE(db.has_errors());
  Diagnostics du;
  settings({{"command", "x"}, {"comand", "y"}}, du);
  EXPECT_TRUE(du.has_errors());
}

// ---- lines -------------------------------------------------------------------------------------

std::vector<std::string> feed(LineReader& r, std::initializer_list<std::string_view> reads,
                              bool eof = true) {
  std::vector<Slice> out;
  for (auto s : reads) {
    while (!s.empty()) {
      auto room = r.room();
      size_t n = std::min(room.size(), s.size());
      std::memcpy(room.data(), s.data(), n);
      r.commit(n, out);
      s.remove_prefix(n);
    }
  }
  if (eof) r.finish(out);
  std::vector<std::string> lines;
  for (auto& l : out) lines.push_back(l.str());
  return lines;
}

TEST(LineReader, EndsLinesLikeReadLine) {
  LineReader r(100);
  EXPECT_EQ(feed(r, {"a\nb\rc\r\nd\n\ne\r\rlast"}),
            (std::vector<std::string>{"a", "b", "c", "d", "", "e", "", "last"}));
  LineReader split(100);  // "\r" and "\n" in two reads are one terminator
  EXPECT_EQ(feed(split, {"one\r", "\ntwo\r", "three\n"}),
            (std::vector<std::string>{"one", "two", "three"}));
  LineReader none(100);
  EXPECT_TRUE(feed(none, {""}).empty());
}

TEST(LineReader, CutsLongLinesAndKeepsBytesAcrossBuffers) {
  LineReader r(4);
  EXPECT_EQ(feed(r, {"abcd\nabcdefghij\nxy", "zzz"}),
            (std::vector<std::string>{"abcd", "abcd", "efgh", "ij", "xyzz", "z"}));
  EXPECT_EQ(r.cut(), 3u);
  // Many small buffers: every line comes back intact, in order.
  LineReader small(1000, 16);
  std::string in, expect_joined;
  for (int i = 0; i < 5000; ++i) in += "line-" + std::to_string(i) + "\n";
  auto lines = feed(small, {in});
  ASSERT_EQ(lines.size(), 5000u);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(lines[i], "line-" + std::to_string(i));
}

TEST(LineReader, RecodesAsFlumeDoes) {
  EXPECT_EQ(recode_line(Slice::copy_of("caf\xc3\xa9"), Charset::kUtf8).str(), "caf\xc3\xa9");
  EXPECT_EQ(recode_line(Slice::copy_of("bad\xff"), Charset::kUtf8).str(), "bad\xef\xbf\xbd");
  EXPECT_EQ(recode_line(Slice::copy_of("caf\xe9"), Charset::kLatin1).str(), "caf\xe9");
  EXPECT_EQ(recode_line(Slice::copy_of("caf\xe9"), Charset::kAscii).str(), "caf?");
}

// ---- the child process -------------------------------------------------------------------------

TEST(ChildProcess, ExecFailureIsAnErrorAndExitCodesAreJavas) {
  auto missing = ChildProcess::spawn({"/nonexistent/program"}, false);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/program"), std::string::npos);

  auto c = ChildProcess::spawn({"/bin/sh", "-c", "exit 3"}, false);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(eventually([&] { return c->try_wait().has_value(); }));
  EXPECT_EQ(exit_code_of(*c->try_wait()), 3);

  auto s = ChildProcess::spawn({"sleep", "100"}, false);
  ASSERT_TRUE(s);
  int st = s->terminate(2s);
  EXPECT_EQ(exit_code_of(st), 143);  // as Flume's after destroy()
  EXPECT_NE(describe_wait_status(st).find("signal 15"), std::string::npos);
}

TEST(ChildProcess, TerminateKillsTheWholeGroupEvenWhenTermIsIgnored) {
  // A pipeline, and a shell that ignores SIGTERM: SIGKILL follows after the grace period.
  auto c = ChildProcess::spawn(
      {"/bin/sh", "-c", "trap '' TERM; sleep 100 | sleep 101 & echo $!; wait"}, false);
  ASSERT_TRUE(c);
  std::string out;
  ASSERT_TRUE(eventually([&] {
    char buf[64];
    ssize_t n = ::read(c->stdout_fd(), buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    return out.find('\n') != std::string::npos;
  }));
  const pid_t sleeper = std::stoi(out);
  const auto t0 = std::chrono::steady_clock::now();
  int st = c->terminate(300ms);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(exit_code_of(st), 137);
  EXPECT_TRUE(eventually([&] { return process_gone(sleeper); })) << sleeper;
}

TEST(ChildProcess, DiesWithTheThreadThatStartedItAndInheritsNoDescriptor) {
  std::optional<ChildProcess> c;
  std::thread([&] {
    auto r = ChildProcess::spawn({"sleep", "100"}, false);
    ASSERT_TRUE(r);
    c.emplace(std::move(*r));
  }).join();
  ASSERT_TRUE(c);
  ASSERT_TRUE(eventually([&] { return c->try_wait().has_value(); }));
  EXPECT_TRUE(WIFSIGNALED(*c->try_wait()));
  EXPECT_EQ(WTERMSIG(*c->try_wait()), SIGKILL);

  // Not close-on-exec, and far from 3 (where ls opens /proc/self/fd).
  const int raw = ::open("/dev/null", O_RDONLY);
  const int leaked = ::fcntl(raw, F_DUPFD, 100);
  ::close(raw);
  ASSERT_GE(leaked, 100);
  auto ls = ChildProcess::spawn({"ls", "/proc/self/fd"}, false);
  ASSERT_TRUE(ls);
  std::string out;
  ASSERT_TRUE(eventually([&] {
    char buf[256];
    ssize_t n = ::read(ls->stdout_fd(), buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    return n == 0;
  }));
  ::close(leaked);
  EXPECT_EQ(out.find("\n" + std::to_string(leaked) + "\n"), std::string::npos) << out;
}

// ---- the source against a memory channel -------------------------------------------------------

class ExecSourceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (source_) source_->stop();
  }

  void start(const std::string& command, const std::string& shell = "",
             std::function<void(ExecSourceOptions&)> tweak = {}, int64_t capacity = 100000) {
    tc_ = std::make_unique<TestChannel>(capacity, std::min<int64_t>(capacity, 1000));
    ExecSourceOptions o;
    o.command = command;
    o.shell = shell;
    o.argv = exec_argv(command, shell);
    o.batch_timeout = 50ms;
    if (tweak) tweak(o);
    source_ = std::make_unique<ExecSource>("r1", tc_->processor, o);
    ASSERT_TRUE(source_->start());
  }

  size_t drain() { return tc_->drain(got_); }
  bool wait_bodies(size_t n, std::chrono::milliseconds timeout = 10s) {
    return eventually(
        [&] {
          drain();
          return got_.size() >= n;
        },
        timeout);
  }
  std::string metric(const std::string& key) {
    MetricList m;
    source_->collect_metrics(m);
    for (auto& [k, v] : m)
      if (k == key) return v;
    return "?";
  }

  std::unique_ptr<TestChannel> tc_;
  std::unique_ptr<ExecSource> source_;
  std::vector<std::string> got_;
};

TEST_F(ExecSourceTest, CatOfAFileComesBackByteForByte) {
  auto path = std::filesystem::temp_directory_path() / ("exec-test-" + std::to_string(getpid()));
  std::string content;
  for (int i = 0; i < 10; ++i) {
    content.append(200, static_cast<char>('a' + i));
    content.push_back('\n');
  }
  std::ofstream(path) << content;
  start("cat " + path.string());
  ASSERT_TRUE(wait_bodies(10));
  std::string joined;
  for (auto& b : got_) joined += b + "\n";
  EXPECT_EQ(joined, content);
  std::filesystem::remove(path);
  ASSERT_TRUE(eventually([&] { return metric("CommandExitCount") == "1"; }));
  EXPECT_EQ(metric("CommandLastExitCode"), "0");
  EXPECT_STREQ(source_->metrics_group(), "SOURCE");
  EXPECT_EQ(metric("EventReceivedCount"), "10");
  EXPECT_EQ(metric("EventAcceptedCount"), "10");
}

TEST_F(ExecSourceTest, ShellCommandsBehaveAsInBash) {
  struct Case {
    const char* command;
    std::vector<std::string> bodies;
  } cases[] = {
      {"seq 5", {"1", "2", "3", "4", "5"}},
      {"echo `seq 5`", {"1 2 3 4 5"}},
      {"printf 'b\\na\\nc\\n' | sort", {"a", "b", "c"}},
      {"for i in 1 2 3; do echo x$i; done", {"x1", "x2", "x3"}},
      {"if ((2+2>3)); then echo yes; else echo no; fi", {"yes"}},
  };
  for (const auto& c : cases) {
    got_.clear();
    start(c.command, "/bin/bash -c");
    ASSERT_TRUE(wait_bodies(c.bodies.size())) << c.command;
    ASSERT_TRUE(eventually([&] { return metric("CommandExitCount") == "1"; }));
    drain();
    EXPECT_EQ(got_, c.bodies) << c.command;
    source_->stop();
  }
}

TEST_F(ExecSourceTest, BatchTimeoutSendsAPartialBatch) {
  const auto t0 = std::chrono::steady_clock::now();
  start("echo one; echo two; exec sleep 30", "/bin/sh -c", [](ExecSourceOptions& o) {
    o.batch_size = 50000;
    o.batch_timeout = 750ms;
  });
  ASSERT_TRUE(wait_bodies(2, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(got_, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(metric("CommandRunning"), "1");
}

TEST_F(ExecSourceTest, RestartRunsTheCommandAgainAndCountsExits) {
  start("sh -c 'echo flume; exit 3'", "/bin/sh -c", [](ExecSourceOptions& o) {
    o.restart = true;
    o.restart_throttle = 10ms;
  });
  ASSERT_TRUE(wait_bodies(3));
  for (auto& b : got_) EXPECT_EQ(b, "flume");
  ASSERT_TRUE(eventually([&] { return std::stoi(metric("CommandExitCount")) >= 3; }));
  EXPECT_EQ(metric("CommandLastExitCode"), "3");
  EXPECT_GE(std::stoi(metric("CommandNonZeroExitCount")), 3);
  EXPECT_GE(std::stoi(metric("CommandStartCount")), 3);
}

TEST_F(ExecSourceTest, MissingProgramIsCountedNotFatal) {
  start("/nonexistent/program arg");
  ASSERT_TRUE(eventually([&] { return metric("CommandStartFailCount") == "1"; }));
  EXPECT_EQ(metric("CommandExitCount"), "0");
}

TEST_F(ExecSourceTest, StopKillsTheCommand) {
  start("sleep 100");
  ASSERT_TRUE(eventually([&] { return source_->child_pid() != 0; }));
  const pid_t pid = source_->child_pid();
  source_->stop();
  EXPECT_TRUE(process_gone(pid));
  EXPECT_EQ(metric("CommandLastExitCode"), "143");
  EXPECT_EQ(metric("CommandRunning"), "0");
}

TEST_F(ExecSourceTest, FullChannelBlocksTheCommandAndLosesNothing) {
  const int n = 50000;
  start("seq 1 " + std::to_string(n), "", {}, 100);
  // The channel fills; the source stops reading, the pipe fills, seq blocks on its write.
  ASSERT_TRUE(eventually([&] { return tc_->channel->size() == 100; }));
  const auto received = std::stoll(metric("EventReceivedCount"));
  std::this_thread::sleep_for(200ms);  // a window in which a source that kept reading would
  EXPECT_EQ(std::stoll(metric("EventReceivedCount")), received);  // have read everything
  EXPECT_LT(received, n / 2);
  EXPECT_EQ(metric("CommandRunning"), "1");
  ASSERT_TRUE(wait_bodies(n, 60s));
  ASSERT_EQ(got_.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(got_[i], std::to_string(i + 1));
  EXPECT_EQ(metric("ChannelWriteFail"), "0");
}

TEST_F(ExecSourceTest, StderrNeverBlocksTheCommand) {
  for (bool log_it : {false, true}) {
    got_.clear();
    start("head -c 2000000 /dev/zero | tr '\\0' 'e' | fold -w 100 >&2; echo done", "/bin/sh -c",
          [&](ExecSourceOptions& o) { o.log_stderr = log_it; });
    ASSERT_TRUE(wait_bodies(1)) << log_it;
    EXPECT_EQ(got_, (std::vector<std::string>{"done"}));
    source_->stop();
  }
}

TEST_F(ExecSourceTest, LastLineWithoutNewlineAndInvalidUtf8) {
  start("printf 'a\\r\\nb\\377\\nno-newline'", "/bin/sh -c");
  ASSERT_TRUE(wait_bodies(3));
  EXPECT_EQ(got_, (std::vector<std::string>{"a", "b\xef\xbf\xbd", "no-newline"}));
}

}  // namespace
}  // namespace ingestor
