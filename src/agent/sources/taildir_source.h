#pragma once
// TaildirSource: Flume's `taildir` source (reference/flume-components.md 1.1; alias TAILDIR,
// org.apache.flume.source.taildir.TaildirSource): tails the files of each group
// (`filegroups.<g>` = <dir>/<regex on the file name>), one event per line, Flume's headers
// (byteoffset, headers.<g>.<key>, the file header), Flume's position file.
//
// Positions commit with the events (DESIGN.md guarantee 8; core/source_position.h): each batch
// (lines of one file) carries the update of that file's entry (inode -> "<offset> <path>"), plus
// the erasures of files dropped since the last batch. With a file channel that stores positions
// the update is in the same commit record as the events: after a kill -9 the source resumes
// exactly after the last committed line. Otherwise the position file is rewritten atomically after
// each commit: at most one batch per crash is sent again, nothing is skipped. The position file is
// Flume's JSON (taildir_position_file.h) either way, so Flume's offsets are resumed and Flume can
// resume ours. A position file that cannot be parsed stops the start with its name.
//
// A pollable source as Flume's (0.1): one thread runs process(); READY runs it again at once,
// BACKOFF waits min(n x backoffSleepIncrement, maxBackoffSleep), cut short by inotify when a
// watched directory changes. A full channel retries the same batch after 10 ms doubling to
// maxBackoffSleep (Flume: 1 s doubling to 5 s), counted in ChannelWriteFail; nothing is re-read.
// File tracking, rotation and memory bounds: taildir_files.h.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/sources/pollable_source.h"
#include "agent/sources/taildir_files.h"
#include "base/log.h"
#include "core/config/spec.h"
#include "core/source.h"
#include "core/source_position.h"

namespace ingestor {

const ComponentSpec& taildir_source_spec();

// Parses and checks the keys; `warnings` gets the non-fatal findings (maxBatchCount <= 0, a
// filegroups.<g> not listed in filegroups). Relative group directories are made absolute from the
// working directory, "~/" in positionFile is $HOME.
Result<TaildirOptions> taildir_source_options(const Settings& s,
                                              std::vector<std::string>* warnings);

class TaildirSource final : public Source {
 public:
  TaildirSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                TaildirOptions options);
  ~TaildirSource() override;

  // prepare(), then the polling thread.
  Status start() override;
  // Stops the thread (a batch being retried is abandoned uncommitted) and writes the position
  // file. Idempotent.
  void stop() override;

  // For tests, without the thread: loads the positions and places the files (start() does it).
  [[nodiscard]] Status prepare();
  // One Flume process() call: every file with news, batch by batch; idle files read to the end
  // and closed when their time has come. kReady when a file stopped at maxBatchCount.
  PollStatus process();
  // Tests: the next process() runs the idle checker as if every open file had gone without a
  // commit for idleTimeout.
  void check_idle_now() {
    next_idle_check_ = {};
    idle_all_ = true;
  }

  const TaildirFiles& files() const { return *files_; }
  const SourcePositions& positions() const { return *positions_; }

 private:
  void run();
  // Puts `batch` (read from `f`, possibly empty) with its position update, retrying while the
  // channel refuses it. False when stopping first.
  bool deliver(TailFile* f, Batch& batch);
  void read_to_end(TailFile& f, bool partial_ok, bool& ready);
  void wait(std::chrono::milliseconds d, bool wake_on_files);

  TaildirOptions opts_;
  std::unique_ptr<SourcePositions> positions_;
  std::unique_ptr<TaildirFiles> files_;
  PositionUpdate pending_;  // position changes not yet sent with a batch
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int wake_fd_ = -1;  // eventfd: stop() wakes the thread
  std::chrono::steady_clock::time_point next_idle_check_{};
  bool idle_all_ = false;
  log::Throttle full_log_, fail_log_;
};

}  // namespace ingestor
