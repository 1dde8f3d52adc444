#include "core/source_position.h"

#include <charconv>
#include <filesystem>

#include "core/channel.h"
#include "core/channel_processor.h"

namespace ingestor {

namespace {

constexpr std::string_view kHeader = "ingestor-positions 1\n";

std::string write_default(const PositionMap& map) {
  std::string out(kHeader);
  for (const auto& [k, v] : map) {
    out += std::to_string(k.size());
    out += ' ';
    out += std::to_string(v.size());
    out += '\n';
    out += k;
    out += v;
    out += '\n';
  }
  return out;
}

bool read_number(std::string_view& in, char end, size_t& out) {
  auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), out);
  if (ec != std::errc() || p == in.data() || p == in.data() + in.size() || *p != end) return false;
  in.remove_prefix(static_cast<size_t>(p - in.data()) + 1);
  return true;
}

Result<PositionMap> read_default(std::string_view in) {
  if (in.substr(0, kHeader.size()) != kHeader)
    return make_error(Errc::kCorrupt,
                      "not an Ingestor position file (no 'ingestor-positions 1' line)");
  in.remove_prefix(kHeader.size());
  PositionMap map;
  while (!in.empty()) {
    size_t klen = 0, vlen = 0;
    if (!read_number(in, ' ', klen) || !read_number(in, '\n', vlen) ||
        in.size() < klen + vlen + 1 || in[klen + vlen] != '\n')
      return Error{Errc::kCorrupt, "position file truncated or damaged after " +
                                       std::to_string(map.size()) + " entries"};
    map.insert_or_assign(std::string(in.substr(0, klen)), std::string(in.substr(klen, vlen)));
    in.remove_prefix(klen + vlen + 1);
  }
  return map;
}

}  // namespace

void apply_position_update(PositionMap& map, const PositionUpdate& update) {
  for (const auto& [k, v] : update) {
    if (v.empty())
      map.erase(k);
    else
      map.insert_or_assign(k, v);
  }
}

PositionFileFormat default_position_format() { return {write_default, read_default}; }

SourcePositions::SourcePositions(std::string source, const ChannelProcessor& processor,
                                 std::string file, PositionFileFormat format, Fs& fs)
    : source_(std::move(source)), file_(std::move(file)), format_(std::move(format)), fs_(fs) {
  const ChannelSelector& sel = processor.selector();
  if (!sel.multiplexing && sel.required.size() == 1 && sel.required[0]->stores_positions())
    channel_ = sel.required[0];
}

Result<std::optional<PositionMap>> SourcePositions::load() {
  if (channel_) {
    if (auto m = channel_->committed_positions(source_)) {
      current_ = std::move(*m);
      return std::optional<PositionMap>(current_);
    }
  }
  if (!fs_.exists(file_)) return std::optional<PositionMap>();
  auto text = read_whole_file(fs_, file_);
  if (!text) return text.error();
  auto map = format_.read(*text);
  if (!map) return make_error(map.error().code, file_ + ": " + map.error().message);
  current_ = std::move(*map);
  return std::optional<PositionMap>(current_);
}

void SourcePositions::attach(PutProgress& progress, PositionUpdate update) const {
  progress.position.emplace(source_, std::move(update));
}

Status SourcePositions::committed(const PositionUpdate& update) {
  apply_position_update(current_, update);
  dirty_ = true;
  const bool due = std::chrono::steady_clock::now() - last_sync_ >= write_interval_;
  if (channel_ && !due) return {};
  return write(due);
}

Status SourcePositions::write(bool durable) {
  if (!dirty_ && fs_.exists(file_) && !durable) return {};
  std::filesystem::path p(file_);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  if (Status s = fs_.make_dirs(dir); !s) return s;
  if (Status s =
          write_file_atomic(fs_, dir, p.filename().string(), format_.write(current_), durable);
      !s)
    return s;
  dirty_ = false;
  if (durable) last_sync_ = std::chrono::steady_clock::now();
  return {};
}

}  // namespace ingestor
