#include "store/file_pins.h"

#include <unistd.h>

namespace ingestor::store {

FilePins::Lease& FilePins::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = o.owner_;
    paths_ = std::move(o.paths_);
    o.owner_ = nullptr;
  }
  return *this;
}

void FilePins::Lease::reset() {
  if (owner_) owner_->unpin(paths_);
  owner_ = nullptr;
  paths_.clear();
}

FilePins::~FilePins() {
  for (const auto& [path, e] : entries_)
    if (e.released) ::unlink(path.c_str());
}

FilePins::Lease FilePins::pin(std::vector<std::string> paths) {
  {
    std::lock_guard lock(mu_);
    for (const auto& p : paths) ++entries_[p].leases;
  }
  return Lease(this, std::move(paths));
}

void FilePins::unpin(const std::vector<std::string>& paths) {
  std::lock_guard lock(mu_);
  for (const auto& p : paths) {
    auto it = entries_.find(p);
    if (it == entries_.end() || --it->second.leases > 0) continue;
    // Under the lock: a reader pinning this path now must find the file gone, not see it vanish.
    if (it->second.released) ::unlink(p.c_str());
    entries_.erase(it);
  }
}

void FilePins::unlink(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(path);
  if (it != entries_.end())
    it->second.released = true;
  else
    ::unlink(path.c_str());
}

size_t FilePins::pinned() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

size_t FilePins::deferred() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [path, e] : entries_) n += e.released ? 1 : 0;
  return n;
}

}  // namespace ingestor::store
