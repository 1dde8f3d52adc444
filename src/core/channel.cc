#include "core/channel.h"

namespace ingestor {

void Tx::commit_async(std::function<void(Status)> done) {
  t_->commit_async([this, done = std::move(done)](Status s) {
    if (s) done_ = true;
    done(std::move(s));
  });
}

void Channel::collect_metrics(MetricList& out) const {
  size_t sz = size();
  size_t cap = capacity();
  out.emplace_back("ChannelSize", std::to_string(sz));
  out.emplace_back("ChannelCapacity", std::to_string(cap));
  out.emplace_back("ChannelFillPercentage",
                   java_double_string(cap == 0 ? 1.7976931348623157e308 : sz * 100.0 / cap));
  counters_.collect(out);
}

}  // namespace ingestor
