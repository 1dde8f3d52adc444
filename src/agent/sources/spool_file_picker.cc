#include "agent/sources/spool_file_picker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "agent/sources/spool_state.h"
#include "base/fs.h"

namespace ingestor {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return !suffix.empty() && s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

int64_t mtime_ns_of(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::optional<ConsumeOrder> consume_order_from_name(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "oldest") return ConsumeOrder::kOldest;
  if (lower == "youngest") return ConsumeOrder::kYoungest;
  if (lower == "random") return ConsumeOrder::kRandom;
  return std::nullopt;
}

SpoolFilePicker::SpoolFilePicker(SpoolPickerOptions o, uint64_t seed)
    : o_(std::move(o)), rng_(seed) {}

bool SpoolFilePicker::wanted_name(const std::string& name) const {
  if (name.empty() || name[0] == '.') return false;
  if (ends_with(name, o_.file_suffix) || ends_with(name, o_.error_suffix)) return false;
  if (o_.include && !o_.include->matches(name)) return false;
  if (o_.ignore ? o_.ignore->matches(name) : name.empty()) return false;
  return true;
}

bool SpoolFilePicker::already_completed(SpoolCandidate& c, uint64_t inode, uint64_t size) const {
  if (o_.use_markers) {
    const std::string marker = marker_path(c.rel);
    struct stat st;
    if (::stat(marker.c_str(), &st) != 0) return false;
    auto text = read_whole_file(Fs::posix(), marker);
    if (!text) return true;  // unreadable marker: leave the file alone, as Flume would skip it
    auto id = parse_spool_marker(*text);
    if (!id || !*id) return true;  // Flume's empty marker (or a foreign one): completed
    if (**id == SpoolFileId{inode, size, c.mtime_ns}) return true;
    c.conflict = "its tracker marker " + marker +
                 " names another file (the name was reused, or the file changed after it was "
                 "completed)";
    return false;
  }
  if (o_.check_completed_name) {
    const std::string done = c.path + o_.file_suffix;
    struct stat st;
    if (::stat(done.c_str(), &st) == 0)
      c.conflict = "a file named " + done + " exists already (the name was reused)";
  }
  return false;
}

Status SpoolFilePicker::scan(const std::string& dir, const std::string& rel_prefix,
                             std::vector<SpoolCandidate>& out) const {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return make_error(Errc::kIo, "cannot list " + dir + ": " + std::strerror(errno));
  std::vector<std::string> subdirs;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name[0] == '.') continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, 0) != 0) continue;  // vanished or a broken link
    if (S_ISDIR(st.st_mode)) {
      if (o_.recursive && !(o_.ignore && o_.ignore->matches(name))) subdirs.push_back(name);
      continue;
    }
    if (!S_ISREG(st.st_mode) || !wanted_name(name)) continue;
    SpoolCandidate c;
    c.rel = rel_prefix + name;
    c.path = o_.spool_dir + "/" + c.rel;
    c.mtime_ns = mtime_ns_of(st);
    if (already_completed(c, st.st_ino, static_cast<uint64_t>(st.st_size))) continue;
    out.push_back(std::move(c));
  }
  ::closedir(d);
  for (const std::string& s : subdirs) {
    const std::string path = dir + "/" + s;
    if (path == o_.tracker_dir) continue;
    if (Status st = scan(path, rel_prefix + s + "/", out); !st) return st;
  }
  return {};
}

Result<std::vector<SpoolCandidate>> SpoolFilePicker::list() const {
  std::vector<SpoolCandidate> out;
  if (Status s = scan(o_.spool_dir, "", out); !s) return s.error();
  switch (o_.order) {
    case ConsumeOrder::kOldest:
      std::sort(out.begin(), out.end(), [](const SpoolCandidate& a, const SpoolCandidate& b) {
        return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.path < b.path;
      });
      break;
    case ConsumeOrder::kYoungest:
      std::sort(out.begin(), out.end(), [](const SpoolCandidate& a, const SpoolCandidate& b) {
        return a.mtime_ns != b.mtime_ns ? a.mtime_ns > b.mtime_ns : a.path < b.path;
      });
      break;
    case ConsumeOrder::kRandom:
      std::shuffle(out.begin(), out.end(), rng_);
      break;
  }
  return out;
}

Result<std::optional<SpoolCandidate>> SpoolFilePicker::next() {
  if (queue_.empty()) {
    auto l = list();
    if (!l) return l.error();
    queue_.assign(std::make_move_iterator(l->begin()), std::make_move_iterator(l->end()));
  }
  if (queue_.empty()) return std::optional<SpoolCandidate>();
  SpoolCandidate c = std::move(queue_.front());
  queue_.pop_front();
  return std::optional<SpoolCandidate>(std::move(c));
}

}  // namespace ingestor
