#include "agent/sources/taildir_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <unordered_set>

#include "agent/sources/taildir_position_file.h"
#include "base/log.h"

namespace ingestor {

namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

TaildirFiles::TaildirFiles(const TaildirOptions& opts, SourceCounters& counters)
    : opts_(opts), counters_(counters), listings_(opts.groups.size()) {}

TaildirFiles::~TaildirFiles() {
  for (auto& [ino, f] : files_) close_fd(*f);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

std::string TaildirFiles::path_in(size_t g, const std::string& name) const {
  const std::string& dir = opts_.groups[g].dir;
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string TaildirFiles::value_of(const TailFile& f) {
  return taildir_position_value(f.read_pos, f.path);
}

const TailFile* TaildirFiles::find(uint64_t inode) const {
  auto it = files_.find(inode);
  return it == files_.end() ? nullptr : it->second.get();
}

size_t TaildirFiles::open_files() const {
  size_t n = 0;
  for (const auto& [ino, f] : files_) n += f->fd >= 0;
  return n;
}

void TaildirFiles::add_watch(size_t g) {
  if (inotify_fd_ < 0 || listings_[g].watch >= 0) return;
  const uint32_t mask = IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                        IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  const int wd = inotify_add_watch(inotify_fd_, opts_.groups[g].dir.c_str(), mask);
  if (wd < 0) {
    if (errno == ENOENT) return;  // not there yet: watched once it appears
    log::warn("taildir: cannot watch {} ({}): polling it instead", log::escape(opts_.groups[g].dir),
              std::strerror(errno));
    counters_.generic_processing_fail.add(1);
    return;
  }
  listings_[g].watch = wd;
}

bool TaildirFiles::drain_events() {
  if (inotify_fd_ < 0) return false;
  alignas(struct inotify_event) char buf[16 * 1024];
  bool any = false;
  for (;;) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;
    any = true;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        for (auto& l : listings_)
          if (l.watch == ev->wd) l.watch = -1, l.dir_mtime_ns = -1;  // re-watched when relisted
      }
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
    }
  }
  return any;
}

void TaildirFiles::list_group(size_t g) {
  Listing& l = listings_[g];
  const TaildirGroup& grp = opts_.groups[g];
  struct stat st;
  if (::stat(grp.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    if (!l.warned_missing) {
      log::warn("taildir: Directory does not exist: {} (looked for again at every poll)",
                log::escape(grp.dir));
      l.warned_missing = true;
    }
    l.exists = false;
    l.entries.clear();
    l.watch = -1;
    return;
  }
  if (!l.exists && l.warned_missing)
    log::info("taildir: directory {} appeared", log::escape(grp.dir));
  l.exists = true;
  add_watch(g);
  // Flume's TaildirMatcher cache lists again when the directory's mtime grew, or is not yet
  // older than the last check, in whole seconds. File times come from the kernel's coarse clock,
  // which lags time() by up to a tick, so that rule can miss a rename made just after a check
  // (a stale listing, and a rotated file not found). Here: list again when the mtime changed at
  // all, or is less than 2 s old.
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  const int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
  const int64_t dir_mtime = mtime_ns(st);
  if (opts_.cache_pattern_matching && dir_mtime == l.dir_mtime_ns &&
      now_ns - dir_mtime > 2000000000)
    return;
  DIR* d = ::opendir(grp.dir.c_str());
  if (!d) {
    log::warn("taildir: cannot list {}: {}", log::escape(grp.dir), std::strerror(errno));
    counters_.event_read_fail.add(1);
    return;
  }
  l.entries.clear();
  while (struct dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = de->d_type == DT_DIR;
    if (de->d_type == DT_UNKNOWN) {
      struct stat es;
      is_dir = ::fstatat(::dirfd(d), de->d_name, &es, 0) == 0 && S_ISDIR(es.st_mode);
    }
    if (is_dir) continue;  // no recursion; directories never match
    const bool m = grp.pattern.matches(name);
    l.entries.push_back({std::move(name), static_cast<uint64_t>(de->d_ino), m});
  }
  ::closedir(d);
  l.dir_mtime_ns = dir_mtime;
}

void TaildirFiles::start(const std::optional<PositionMap>& saved, PositionUpdate& update) {
  if (opts_.use_inotify) {
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) {
      log::warn("taildir: inotify unavailable ({}): polling every {} to {} ms instead",
                std::strerror(errno), opts_.backoff_increment.count(), opts_.max_backoff.count());
      counters_.generic_processing_fail.add(1);
    }
  }
  PositionUpdate ignored;
  (void)scan(ignored);  // lists and places every matched file at 0
  if (opts_.skip_to_end)
    for (auto& [ino, f] : files_) f->pos = f->read_pos = f->size;
  if (saved) apply_saved(*saved, update);
  if (opts_.skip_to_end)  // remember where skipped files start, so a crash does not skip again
    for (auto& [ino, f] : files_)
      if (!saved || !saved->count(key_of(*f))) update.emplace_back(key_of(*f), value_of(*f));
  started_ = true;
}

void TaildirFiles::apply_saved(const PositionMap& saved, PositionUpdate& update) {
  for (const auto& [k, v] : saved) {
    auto inode = parse_taildir_inode(k);
    auto p = parse_taildir_position_value(v);
    if (!inode || !p) {
      update.emplace_back(k, "");
      continue;
    }
    auto it = files_.find(*inode);
    if (it == files_.end()) {
      // Renamed to a name the pattern does not match, while the agent was down or while it was
      // still reading the renamed file to its end (the saved path is then the new name): found
      // again by its inode in the saved path's directory, when a group lists that directory.
      std::optional<size_t> group;
      std::string name;
      for (size_t g = 0; g < opts_.groups.size() && !group; ++g) {
        if (opts_.groups[g].dir != dir_of(p->path)) continue;
        for (const Entry& e : listings_[g].entries)
          if (e.inode == *inode) group = g, name = e.name;
      }
      auto f = std::make_unique<TailFile>();
      struct stat st {};
      if (group) {
        f->inode = *inode;
        f->group = *group;
        f->path = path_in(*group, name);
        f->matched = false;
        f->last_active = std::chrono::steady_clock::now();
        // Shorter than what was read of it: the inode now holds another file.
        if (!open_file(*f) || ::fstat(f->fd, &st) != 0 ||
            static_cast<uint64_t>(st.st_size) < p->pos) {
          group.reset();
          close_fd(*f);
        }
      }
      if (!group) {
        log::info("taildir: Missing file: {}, inode: {}, pos: {}", log::escape(p->path), *inode,
                  p->pos);
        update.emplace_back(k, "");
        continue;
      }
      f->size = static_cast<uint64_t>(st.st_size);
      it = files_.emplace(*inode, std::move(f)).first;
      log::info("taildir: {} was renamed to {} while stopped: reading it on from {}",
                log::escape(p->path), log::escape(it->second->path), p->pos);
    }
    TailFile& f = *it->second;
    f.pos = f.read_pos = p->pos;
    if (p->pos > f.size) {
      log::info(
          "taildir: Pos {} is larger than file size! Restarting from pos 0, file: {}, inode: {}",
          p->pos, log::escape(f.path), f.inode);
      f.pos = f.read_pos = 0;
    } else {
      log::info("taildir: Updated position, file: {}, inode: {}, pos: {}", log::escape(f.path),
                f.inode, f.pos);
    }
    if (f.pos != p->pos || f.path != p->path) update.emplace_back(k, value_of(f));
  }
}

bool TaildirFiles::open_file(TailFile& f) {
  if (f.fd >= 0) return true;
  const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_ino) != f.inode) {
    ::close(fd);  // the name points at another file now: the next scan sorts it out
    return false;
  }
  f.fd = fd;
  return true;
}

void TaildirFiles::close_fd(TailFile& f) {
  if (f.fd >= 0) ::close(f.fd);
  f.fd = -1;
}

void TaildirFiles::drop(uint64_t inode, PositionUpdate& update) {
  auto it = files_.find(inode);
  if (it == files_.end()) return;
  close_fd(*it->second);
  update.emplace_back(std::to_string(inode), "");
  files_.erase(it);
}

std::vector<TailFile*> TaildirFiles::scan(PositionUpdate& update) {
  std::vector<TailFile*> out;
  std::unordered_set<uint64_t> seen;
  const auto now = std::chrono::steady_clock::now();
  auto truncated = [&](TailFile& f) {
    if (f.size >= f.pos) return;
    log::info(
        "taildir: Pos {} is larger than file size! Restarting from pos 0, file: {}, inode: {}",
        f.pos, log::escape(f.path), f.inode);
    f.pos = f.read_pos = 0;
    update.emplace_back(key_of(f), value_of(f));
  };
  for (size_t g = 0; g < opts_.groups.size(); ++g) {
    list_group(g);
    for (const Entry& e : listings_[g].entries) {
      if (!e.matches) continue;
      const std::string path = path_in(g, e.name);
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) {
        log::debug("taildir: File has been deleted in the meantime: {}", log::escape(path));
        continue;
      }
      const auto ino = static_cast<uint64_t>(st.st_ino);
      if (!seen.insert(ino).second) continue;  // matched by an earlier group too
      auto& slot = files_[ino];
      if (!slot) {
        slot = std::make_unique<TailFile>();
        slot->inode = ino;
        slot->path = path;
        slot->last_active = now;
      } else if (slot->path != path) {
        slot->path = path;  // renamed to another matching name: same inode, same position
        update.emplace_back(key_of(*slot), taildir_position_value(slot->pos, path));
      }
      TailFile& f = *slot;
      f.group = g;
      f.matched = true;
      f.size = static_cast<uint64_t>(st.st_size);
      f.mtime_ns = mtime_ns(st);
      truncated(f);
      if (f.size != f.read_pos || f.mtime_ns != f.read_mtime_ns) out.push_back(&f);
    }
  }
  // Files no longer matched: renamed away (read on under their new name until idle) or deleted
  // (read to the end through the open descriptor, then dropped).
  for (auto it = files_.begin(); it != files_.end();) {
    TailFile& f = *it->second;
    ++it;
    if (seen.count(f.inode)) continue;
    std::optional<std::string> renamed;
    for (const Entry& e : listings_[f.group].entries)
      if (e.inode == f.inode) renamed = path_in(f.group, e.name);
    struct stat st;
    bool have = false;
    if (f.fd >= 0) {
      have = ::fstat(f.fd, &st) == 0;
      if (have && st.st_nlink == 0) f.deleted = true;
    } else if (renamed) {
      have = ::stat(renamed->c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == f.inode;
    }
    if (!have) {
      drop(f.inode, update);
      continue;
    }
    f.matched = false;
    if (renamed && !f.deleted && f.path != *renamed) {
      log::info("taildir: {} was renamed to {}: reading it to its end", log::escape(f.path),
                log::escape(*renamed));
      f.path = *renamed;
      update.emplace_back(key_of(f), taildir_position_value(f.pos, f.path));
    }
    f.size = static_cast<uint64_t>(st.st_size);
    f.mtime_ns = mtime_ns(st);
    truncated(f);
    if (f.fd < 0 && f.size == f.read_pos) {
      drop(f.inode, update);  // nothing more to read and nowhere to find it again
      continue;
    }
    if (f.deleted || f.size != f.read_pos) out.push_back(&f);
  }
  // Oldest first within a group (Flume), files renamed away (rotated) before the live ones: their
  // lines were written first.
  std::stable_sort(out.begin(), out.end(), [](const TailFile* a, const TailFile* b) {
    if (a->group != b->group) return a->group < b->group;
    if (a->matched != b->matched) return !a->matched;
    return a->mtime_ns < b->mtime_ns;
  });
  return out;
}

void TaildirFiles::emit(const TailFile& f, Slice body, uint64_t offset, Batch& out) const {
  Event& e = out.emplace_back(std::move(body));
  if (opts_.byte_offset_header) e.headers.set("byteoffset", std::to_string(offset));
  for (const auto& [k, v] : opts_.groups[f.group].headers) e.headers.set(k, v);
  if (opts_.file_header) e.headers.set(opts_.file_header_key, f.path);
}

Result<size_t> TaildirFiles::read_lines(TailFile& f, size_t max, bool partial_ok, Batch& out) {
  if (f.fd < 0 && !open_file(f)) return size_t{0};  // gone meanwhile: the next scan sees it
  f.read_mtime_ns = f.mtime_ns;
  size_t lines = 0;
  size_t want = kChunk / 16;  // the least room worth a read
  while (lines < max) {
    if (!chunk_ || chunk_->capacity() - fill_ < want) {
      if (chunk_ && chunk_->refs() == 1 && chunk_->capacity() >= want) {
        // No event refers to it any more: reuse it (the fence orders the sinks' last reads,
        // released by their unref, before our writes).
        std::atomic_thread_fence(std::memory_order_acquire);
        fill_ = 0;
      } else {
        chunk_ = ChunkRef::adopt(Chunk::make(std::max(kChunk, want)));
        fill_ = 0;
      }
    }
    char* buf = chunk_->data() + fill_;
    const size_t room = chunk_->capacity() - fill_;
    const bool fresh = fill_ == 0;
    ssize_t n;
    do {
      n = ::pread(f.fd, buf, room, static_cast<off_t>(f.read_pos));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
      return make_error(Errc::kIo, "read " + log::escape(f.path) + ": " + std::strerror(errno));
    if (n == 0) break;
    const auto got = static_cast<size_t>(n);
    size_t start = 0;
    while (lines < max) {
      const void* nl = std::memchr(buf + start, '\n', got - start);
      if (!nl) break;
      const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - buf);
      size_t len = end - start;
      if (len > 0 && buf[end - 1] == '\r') --len;
      emit(f, Slice(chunk_, buf + start, len), f.read_pos + start, out);
      start = end + 1;
      ++lines;
    }
    f.read_pos += start;
    fill_ += start;
    if (lines >= max || start == got) {
      if (got < room) break;  // at the end of the file
      want = kChunk / 16;
      continue;
    }
    if (start > 0) {  // read on from the unfinished line
      want = kChunk / 16;
      continue;
    }
    // No newline in what was read.
    if (got == room) {  // the line does not fit in the room there was
      if (!fresh) {
        want = std::max(kChunk, room + 1);  // a new buffer first
        fill_ = chunk_->capacity();
        continue;
      }
      if (room < kMaxLine) {
        want = std::min(kMaxLine, room * 2);
        fill_ = chunk_->capacity();
        continue;
      }
      log::warn("taildir: a line of {} longer than {} bytes at offset {} is cut there",
                log::escape(f.path), kMaxLine, f.read_pos);
      emit(f, Slice(chunk_, buf, got), f.read_pos, out);
      f.read_pos += got;
      fill_ += got;
      ++lines;
      continue;
    }
    if (partial_ok) {  // idle or deleted: the unterminated last line goes as it is (Flume)
      emit(f, Slice(chunk_, buf, got), f.read_pos, out);
      f.read_pos += got;
      fill_ += got;
      ++lines;
    } else {
      log::debug("taildir: Backing off in file without newline: {}, inode: {}, pos: {}",
                 log::escape(f.path), f.inode, f.read_pos);
    }
    break;
  }
  return lines;
}

void TaildirFiles::committed(TailFile& f) {
  f.pos = f.read_pos;
  f.last_active = std::chrono::steady_clock::now();
}

std::vector<TailFile*> TaildirFiles::idle_files(std::chrono::steady_clock::time_point now,
                                                bool deleted_only) {
  std::vector<TailFile*> out;
  for (auto& [ino, f] : files_)
    if (f->deleted || (!deleted_only && f->fd >= 0 && now - f->last_active >= opts_.idle_timeout))
      out.push_back(f.get());
  return out;
}

void TaildirFiles::close(TailFile& f, PositionUpdate& update) {
  if (!f.matched || f.deleted) {
    drop(f.inode, update);
    return;
  }
  close_fd(f);
}

}  // namespace ingestor
