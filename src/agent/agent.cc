#include "agent/agent.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "agent/channel_selectors.h"
#include "agent/sink_processors.h"
#ifndef INGESTOR_NO_KAFKA
#include "agent/sinks/kafka_sink.h"
#include "agent/sources/kafka_source.h"
#endif
#include "base/log.h"

namespace ingestor {

namespace {
std::string prefix_of(const std::string& agent, const char* kinds, const std::string& name) {
  return agent + "." + kinds + "." + name + ".";
}
// A whole component's key ("a1.channels.c1"), for errors its factory reports about no single key.
std::string whole(std::string prefix) {
  if (!prefix.empty() && prefix.back() == '.') prefix.pop_back();
  return prefix;
}
}  // namespace

Result<std::unique_ptr<Agent>> Agent::build(const AgentConfig& config, Diagnostics& diags,
                                            const AgentOptions& options) {
  std::unique_ptr<Agent> agent(new Agent());
  agent->name_ = config.name;
  agent->pool_ = std::make_unique<net::IoPool>(options.io_threads);
  BuildEnv env{agent->pool_.get(), options.conf_dir, &diags, options.lenient};
  const std::string& a = config.name;

  // Channels.
  std::map<std::string, Channel*> channels;
  for (const auto& cc : config.channels) {
    if (diags.has_errors_for("channel", cc.name)) continue;
    const ChannelType* t = find_channel_type(cc.type);
    if (!t) {
      diags.error("channel", cc.name, prefix_of(a, "channels", cc.name) + "type",
                  "unknown channel type '" + cc.type + "' (known: " + known_aliases("channel") +
                      ", or a Flume class name)");
      continue;
    }
    Settings s = Settings::validate(t->spec(), cc.context, "channel", cc.name,
                                    prefix_of(a, "channels", cc.name), diags, options.lenient);
    if (diags.has_errors_for("channel", cc.name)) continue;
    auto ch = t->make(cc.name, s, env);
    if (!ch) {
      diags.error("channel", cc.name, whole(prefix_of(a, "channels", cc.name)), ch.error().message);
      continue;
    }
    channels[cc.name] = ch->get();
    agent->channels_.push_back(std::move(*ch));
  }

  // Sinks.
  std::set<std::string> used_channels;
  for (const auto& sc : config.sinks) {
    if (diags.has_errors_for("sink", sc.name)) continue;
    const std::string pfx = prefix_of(a, "sinks", sc.name);
    const SinkType* t = find_sink_type(sc.type);
    if (!t) {
      std::string msg = "unknown sink type '" + sc.type + "' (known: " + known_aliases("sink") +
                        ", or a Flume class name)";
      if (auto why = refused_type("sink", sc.type)) msg = *why;
      diags.error("sink", sc.name, pfx + "type", msg);
      continue;
    }
    Settings s =
        Settings::validate(t->spec(), sc.context, "sink", sc.name, pfx, diags, options.lenient);
    if (diags.has_errors_for("sink", sc.name)) continue;
    auto it = channels.find(sc.channel);
    if (it == channels.end()) {
      diags.error("sink", sc.name, pfx + "channel",
                  "channel '" + sc.channel + "' is not an active channel");
      continue;
    }
    auto sink = t->make(sc.name, s, env);
    if (!sink) {
      diags.error("sink", sc.name, whole(pfx), sink.error().message);
      continue;
    }
    Channel* ch = it->second;
    if ((*sink)->batch_size() > ch->transaction_capacity()) {
      // The key as the sink spells it (the avro sink's is Flume's `batch-size`).
      std::string batch_key = "batchSize";
      for (const auto& k : t->spec().keys)
        if (k.key == "batch-size") batch_key = "batch-size";
      diags.error("sink", sc.name, pfx + batch_key,
                  "batch size " + std::to_string((*sink)->batch_size()) +
                      " is greater than channel " + ch->name() + "'s transactionCapacity " +
                      std::to_string(ch->transaction_capacity()));
      continue;
    }
    (*sink)->set_channel(ch);
    used_channels.insert(ch->name());
    agent->sinks_.push_back(std::move(*sink));
  }

  // Sink groups: one runner each; their sinks are driven by the group only. A group that cannot
  // run takes its sinks with it (Flume runs them not at all).
  {
    std::map<std::string, Sink*> built;
    for (auto& k : agent->sinks_) built[k->name()] = k.get();
    for (const auto& g : config.sinkgroups) {
      const std::string pfx = prefix_of(a, "sinkgroups", g.name);
      std::unique_ptr<SinkGroup> group;
      if (!diags.has_errors_for("sinkgroup", g.name))
        group = build_sink_group(g, built, pfx, diags, options.lenient);
      if (group) {
        for (Sink* m : group->members()) agent->grouped_.insert(m->name());
        agent->groups_.push_back(std::move(group));
      } else if (diags.has_errors_for("sinkgroup", g.name)) {
        for (const auto& m : g.sinks) {
          if (!built.count(m)) continue;
          agent->grouped_.insert(m);
          if (options.lenient)
            diags.warning("sink", m, "",
                          "not run: its sink group " + g.name + " was removed (as Flume)");
        }
      }
    }
  }

  // Sources.
  for (const auto& sc : config.sources) {
    if (diags.has_errors_for("source", sc.name)) continue;
    const std::string pfx = prefix_of(a, "sources", sc.name);
    const SourceType* t = find_source_type(sc.type);
    if (!t) {
      auto why = refused_type("source", sc.type);
      diags.error("source", sc.name, pfx + "type",
                  why ? *why
                      : "unknown source type '" + sc.type + "' (known: " +
                            known_aliases("source") + ", or a Flume class name)");
      continue;
    }
    Settings s =
        Settings::validate(t->spec(), sc.context, "source", sc.name, pfx, diags, options.lenient);
    ChannelSelector selector;
    const bool selector_ok =
        build_channel_selector(sc, channels, pfx, diags, selector, used_channels);
    if (selector_ok && selector.required.empty() && selector.optional.empty()) {
      diags.error("source", sc.name, pfx + "channels", "No Channels configured for " + sc.name);
      continue;
    }
    // Interceptors.
    std::vector<std::unique_ptr<Interceptor>> interceptors;
    for (const auto& ic : sc.interceptors) {
      const std::string ipfx = pfx + "interceptors." + ic.name + ".";
      const InterceptorType* it = find_interceptor_type(ic.type);
      if (auto why = refused_type("interceptor", ic.type); !it && why) {
        diags.error("source", sc.name, ipfx + "type", *why);
        continue;
      }
      if (!it) {
        diags.error("source", sc.name, ipfx + "type",
                    "unknown interceptor type '" + ic.type +
                        "' (known: " + known_aliases("interceptor") + ", or a Flume class name)");
        continue;
      }
      Settings is = Settings::validate(it->spec(), ic.context, "source", sc.name, ipfx, diags,
                                       options.lenient);
      auto i = it->make(is);
      if (!i) {
        diags.error("source", sc.name, whole(ipfx), i.error().message);
        continue;
      }
      interceptors.push_back(std::move(*i));
    }
    if (diags.has_errors_for("source", sc.name)) continue;
    auto processor = std::make_shared<ChannelProcessor>(std::move(interceptors), selector);
    auto src = t->make(sc.name, s, processor, env);
    if (!src) {
      diags.error("source", sc.name, whole(pfx), src.error().message);
      continue;
    }
    agent->sources_.push_back(std::move(*src));
  }

  warn_kafka_topic_loops(*agent, diags);
  for (auto& sink : agent->sinks_) {
    size_t takers = 0;
    for (auto& other : agent->sinks_) takers += other->channel() == sink->channel();
    sink->set_sole_taker(takers == 1);
  }
  for (const auto& ch : agent->channels_) {
    if (!used_channels.count(ch->name()))
      diags.warning("channel", ch->name(), "",
                    "Channel " + ch->name() + " has no components connected");
  }
  agent->topology_ = describe_topology(config, *agent);
  if (diags.has_errors() && !options.lenient)
    return make_error(Errc::kConfig, "the configuration of agent '" + a + "' has errors");
  if (agent->sources_.empty() && agent->sinks_.empty())
    return make_error(Errc::kConfig, "agent '" + a + "' has no valid source and no valid sink");
  return agent;
}

// Flume's topic loop (shared reference kafka.md §4.10): a Kafka source writes the record's topic
// into header `topic`, and a Kafka sink with allowTopicOverride sends an event to the topic named
// there, so a source feeding a sink through the same header name sends every event back to the
// topic it came from. Kept for compatibility, warned about.
void Agent::warn_kafka_topic_loops(const Agent& agent, Diagnostics& diags) {
#ifdef INGESTOR_NO_KAFKA
  (void)agent;
  (void)diags;
#else
  for (const auto& src : agent.sources_) {
    const auto* ks = dynamic_cast<const KafkaSource*>(src.get());
    if (!ks || !ks->options().set_topic_header) continue;
    const ChannelSelector& sel = ks->processor().selector();
    for (const auto& sink : agent.sinks_) {
      const auto* kk = dynamic_cast<const KafkaSink*>(sink.get());
      if (!kk || !kk->options().allow_topic_override ||
          kk->options().topic_header != ks->options().topic_header)
        continue;
      bool fed = false;
      for (const auto* list : {&sel.required, &sel.optional})
        for (const Channel* c : *list) fed = fed || c == sink->channel();
      if (!fed) continue;
      diags.warning("sink", sink->name(), "",
                    "kafka source " + src->name() + " puts each record's topic in header '" +
                        ks->options().topic_header + "' and this sink's allowTopicOverride sends "
                        "the event to the topic named there: events go back to the topic they "
                        "were read from (Flume's topic loop). Set setTopicHeader = false on the "
                        "source, allowTopicOverride = false on the sink, or another topicHeader");
    }
  }
#endif
}

// The wiring of what was built, from the configuration it was built from. Multiplexing selectors
// and sink groups (issue 18) need nothing here: describe_selector() and describe_sinkgroup() read
// their Flume keys; a group is listed with the members that were built.
AgentTopology Agent::describe_topology(const AgentConfig& config, const Agent& agent) {
  AgentTopology t;
  t.agent = config.name;
  std::set<std::string> channels, sinks;
  for (const auto& c : agent.channels_) {
    t.channels.push_back({c->name(), c->type()});
    channels.insert(c->name());
  }
  for (const auto& k : agent.sinks_) {
    t.sinks.push_back({k->name(), k->type(), k->channel() ? k->channel()->name() : ""});
    sinks.insert(k->name());
  }
  for (const auto& src : agent.sources_) {
    auto sc = std::find_if(config.sources.begin(), config.sources.end(),
                           [&](const SourceConfig& c) { return c.name == src->name(); });
    if (sc == config.sources.end()) continue;
    SourceTopology s{src->name(), src->type(), {}, describe_selector(*sc), {}};
    for (const auto& c : sc->channels)
      if (channels.count(c)) s.channels.push_back(c);
    for (const auto& i : sc->interceptors) s.interceptors.emplace_back(i.name, i.type);
    t.sources.push_back(std::move(s));
  }
  for (const auto& g : config.sinkgroups) {
    SinkGroupTopology group = describe_sinkgroup(g);
    std::erase_if(group.sinks, [&](const std::string& k) { return !sinks.count(k); });
    if (!group.sinks.empty()) t.sinkgroups.push_back(std::move(group));
  }
  return t;
}

Agent::~Agent() { stop(); }

Status Agent::start() {
  pool_->start();
  for (auto& c : channels_) {
    if (auto s = c->start(); !s) {
      stop();
      return make_error(s.error().code, "channel " + c->name() + ": " + s.error().message);
    }
  }
  for (auto& k : sinks_) {
    if (auto s = k->start(); !s) {
      stop();
      return make_error(s.error().code, "sink " + k->name() + ": " + s.error().message);
    }
    if (grouped_.count(k->name())) continue;  // driven by its group
    runners_.push_back(std::make_unique<SinkRunner>(*k));
    runners_.back()->start();
  }
  for (auto& g : groups_) {
    runners_.push_back(std::make_unique<SinkRunner>(*g));
    runners_.back()->start();
  }
  started_ = true;
  for (auto& src : sources_) {
    if (auto s = src->start(); !s) {
      stop();
      return make_error(s.error().code, "source " + src->name() + ": " + s.error().message);
    }
  }
  log::info("agent {} started: {} sources, {} channels, {} sinks", name_, sources_.size(),
            channels_.size(), sinks_.size());
  return {};
}

void Agent::stop() {
  if (!pool_) return;
  for (auto& s : sources_) s->stop();
  for (auto& r : runners_) r->stop();  // drains briefly, then joins
  runners_.clear();
  for (auto& k : sinks_) k->stop();
  for (auto& c : channels_) c->stop();
  pool_->stop();
  if (started_) log::info("agent {} stopped", name_);
  started_ = false;
}

std::vector<const Component*> Agent::components() const {
  std::vector<const Component*> out;
  for (auto& s : sources_) out.push_back(s.get());
  for (auto& c : channels_) out.push_back(c.get());
  for (auto& k : sinks_) out.push_back(k.get());
  return out;
}

}  // namespace ingestor
