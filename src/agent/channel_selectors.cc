#include "agent/channel_selectors.h"

#include <algorithm>

#include "base/strings.h"

namespace ingestor {

namespace {

void add_unique(std::vector<Channel*>& v, Channel* c) {
  if (std::find(v.begin(), v.end(), c) == v.end()) v.push_back(c);
}

}  // namespace

const ComponentSpec& replicating_selector_spec() {
  static const ComponentSpec spec{
      "selector",
      "replicating",
      "org.apache.flume.channel.ReplicatingChannelSelector",
      "Puts every event into every channel of the source (the default selector).",
      {
          {"type", KeyType::kString, "replicating", false, "replicating or multiplexing"},
          {"optional", KeyType::kList, std::nullopt, false,
           "Channels whose failures are ignored (the others are required)"},
      }};
  return spec;
}

const ComponentSpec& multiplexing_selector_spec() {
  static const ComponentSpec spec{
      "selector",
      "multiplexing",
      "org.apache.flume.channel.MultiplexingChannelSelector",
      "Picks the channels of each event by the value of one header.",
      {
          {"type", KeyType::kString, "multiplexing", false, "replicating or multiplexing"},
          {"header", KeyType::kString, "flume.selector.header", false,
           "Header whose value picks the channels"},
          {"mapping.*", KeyType::kPrefix, std::nullopt, false,
           "mapping.<value> = required channels for that exact header value"},
          {"optional.*", KeyType::kPrefix, std::nullopt, false,
           "optional.<value> = optional channels for that value (minus its required ones)"},
          {"default", KeyType::kList, std::nullopt, false,
           "Channels for a missing, blank or unmapped header (none: the event is dropped)"},
      }};
  return spec;
}

bool build_channel_selector(const SourceConfig& sc, const std::map<std::string, Channel*>& channels,
                            const std::string& pfx, Diagnostics& diags, ChannelSelector& out,
                            std::set<std::string>& used) {
  const std::string spfx = pfx + "selector.";
  std::string type = "replicating";
  if (auto it = sc.selector.find("type"); it != sc.selector.end()) type = ascii_lower(it->second);
  const ComponentSpec* spec = nullptr;
  if (type == "replicating" || type == "org.apache.flume.channel.replicatingchannelselector")
    spec = &replicating_selector_spec();
  if (type == "multiplexing" || type == "org.apache.flume.channel.multiplexingchannelselector")
    spec = &multiplexing_selector_spec();
  if (spec == nullptr) {
    diags.error("source", sc.name, spfx + "type",
                "selector type '" + sc.selector.at("type") +
                    "' is not supported (supported: replicating, multiplexing; custom selector "
                    "classes cannot be loaded)");
    return false;
  }
  // Unknown keys are errors here even with --lenient: a misspelt mapping would route silently.
  Settings s = Settings::validate(*spec, sc.selector, "source", sc.name, spfx, diags, false);
  if (diags.has_errors_for("source", sc.name)) return false;

  // The source's channels that were built, in the source's order.
  std::vector<Channel*> active;
  bool ok = true;
  for (const auto& cname : sc.channels) {
    auto it = channels.find(cname);
    if (it == channels.end()) {
      if (!diags.has_errors_for("channel", cname)) {
        diags.error("source", sc.name, pfx + "channels",
                    "channel '" + cname + "' is not an active channel");
        ok = false;
      }
      continue;
    }
    add_unique(active, it->second);
    used.insert(cname);
  }
  // Channels named by a selector key, active ones only.
  auto resolve = [&](const std::vector<std::string>& names) {
    std::vector<Channel*> v;
    for (const auto& n : names)
      if (auto it = channels.find(n);
          it != channels.end() &&
          std::find(active.begin(), active.end(), it->second) != active.end())
        add_unique(v, it->second);
    return v;
  };

  if (spec == &replicating_selector_spec()) {
    std::vector<Channel*> optional = resolve(s.list("optional"));
    for (Channel* c : active)
      add_unique(std::find(optional.begin(), optional.end(), c) != optional.end() ? out.optional
                                                                                  : out.required,
                 c);
    return ok;
  }

  auto rules = std::make_shared<MultiplexingRules>();
  rules->header = s.str("header");
  rules->defaults = resolve(s.list("default"));
  std::vector<Channel*> required_any = rules->defaults, optional_any;
  for (const auto& [value, list] : s.sub("mapping.")) {
    std::vector<Channel*> chans = resolve(split_words(list));
    if (chans.empty()) {
      diags.error("source", sc.name, spfx + "mapping." + value,
                  "No channel configured for when header value is: " + value);
      ok = false;
      continue;
    }
    for (Channel* c : chans) add_unique(required_any, c);
    rules->mapping[value] = std::move(chans);
  }
  for (const auto& [value, list] : s.sub("optional.")) {
    std::vector<Channel*> chans = resolve(split_words(list));
    for (Channel* c : chans) add_unique(optional_any, c);
    rules->optional[value] = std::move(chans);
  }
  // Both lists in the source's channel order.
  for (Channel* c : active) {
    if (std::find(required_any.begin(), required_any.end(), c) != required_any.end())
      out.required.push_back(c);
    if (std::find(optional_any.begin(), optional_any.end(), c) != optional_any.end())
      out.optional.push_back(c);
  }
  if (rules->defaults.empty() && s.has("default") == false)
    diags.warning("source", sc.name, spfx + "default",
                  "no default channels: events whose '" + rules->header +
                      "' header is missing or unmapped reach no required channel and are dropped");
  out.multiplexing = std::move(rules);
  return ok;
}

}  // namespace ingestor
