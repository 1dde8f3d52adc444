#include "agent/builtin_components.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "agent/channel_selectors.h"
#include "agent/channels/file_channel.h"
#ifndef INGESTOR_NO_KAFKA
#include "agent/channels/kafka_channel.h"
#endif
#include "agent/channels/memory_channel.h"
#include "agent/channels/spillable_channel.h"
#include "agent/interceptors/host_interceptor.h"
#include "agent/interceptors/regex_extractor_interceptor.h"
#include "agent/interceptors/regex_filter_interceptor.h"
#include "agent/interceptors/remove_header_interceptor.h"
#include "agent/interceptors/search_replace_interceptor.h"
#include "agent/interceptors/static_interceptor.h"
#include "agent/interceptors/timestamp_interceptor.h"
#include "agent/interceptors/uuid_interceptor.h"
#include "agent/sink_processors.h"
#include "agent/sinks/avro_sink.h"
#include "agent/sinks/hdfs_local_sink.h"
#include "agent/sinks/http_sink.h"
#ifndef INGESTOR_NO_KAFKA
#include "agent/sinks/kafka_sink.h"
#endif
#include "agent/sinks/logger_sink.h"
#include "agent/sinks/null_sink.h"
#include "agent/sinks/rolling_file_sink.h"
#include "agent/sinks/s3_sink.h"
#include "agent/sources/avro_source.h"
#include "agent/sources/exec_source.h"
#include "agent/sources/http_source.h"
#ifndef INGESTOR_NO_KAFKA
#include "agent/sources/kafka_source.h"
#endif
#include "agent/sources/netcat_source.h"
#include "agent/sources/seq_source.h"
#include "agent/sources/stress_source.h"
#include "agent/sources/spooldir_source.h"
#include "agent/sources/syslog_source_options.h"
#include "agent/sources/syslog_tcp_source.h"
#include "agent/sources/taildir_source.h"
#include "agent/sources/udp_source.h"
#include "base/strings.h"

namespace ingestor {

namespace {

std::chrono::milliseconds keep_alive_of(const ChannelProcessor& p) {
  const auto& req = p.selector().required;
  return req.empty() ? std::chrono::seconds(3) : req.front()->keep_alive();
}

// Flume's jdbc channel: known, so that it is refused with a clear message, not as a typo.
const ComponentSpec& jdbc_channel_spec() {
  static const ComponentSpec spec{"channel",
                                  "jdbc",
                                  "org.apache.flume.channel.jdbc.JdbcChannel",
                                  "Not supported (Apache Derby): use file or spillablememory.",
                                  {{"*", KeyType::kPrefix, std::nullopt, false, "Any key"}}};
  return spec;
}

template <class T>
const T* find_in(const std::vector<T>& types, std::string_view type) {
  for (const auto& t : types) {
    const ComponentSpec& s = t.spec();
    if (ascii_iequals(s.alias, type) || (!s.class_name.empty() && s.class_name == type)) return &t;
  }
  return nullptr;
}

Result<std::unique_ptr<Sink>> make_s3_sink(const std::string& type, const std::string& name,
                                           const Settings& s, BuildEnv& env,
                                           const std::string& s3_path = "") {
  std::vector<std::string> warnings;
  auto o = s3_sink_options(type, name, s, env.conf_dir, &warnings, s3_path);
  if (!o) return o.error();
  for (auto& w : warnings) env.diags->warning("sink", name, "", w);
  auto sink = S3Sink::create(name, type, std::move(*o));
  if (!sink) return sink.error();
  return std::unique_ptr<Sink>(std::move(*sink));
}

// type = hdfs: S3 for s3a:// paths, local files for file:// and bare paths (fs.defaultFS).
Result<std::unique_ptr<Sink>> make_hdfs_sink(const std::string& name, const Settings& s,
                                             BuildEnv& env) {
  auto target = resolve_hdfs_path("hdfs.path", s.str("hdfs.path"), env.conf_dir);
  if (!target) return target.error();
  if (!target->local) return make_s3_sink("hdfs", name, s, env, target->path);
  auto o = hdfs_local_options(name, s, target->path);
  if (!o) return o.error();
  auto sink = HdfsLocalSink::create(name, std::move(*o));
  if (!sink) return sink.error();
  return std::unique_ptr<Sink>(std::move(*sink));
}

template <class T>
Result<std::unique_ptr<T>> upcast(auto r) {
  if (!r) return r.error();
  return std::unique_ptr<T>(std::move(*r));
}

template <auto Options>
Result<std::unique_ptr<Source>> make_syslog_tcp_source(const std::string& name, const Settings& s,
                                                       std::shared_ptr<ChannelProcessor> p,
                                                       BuildEnv& env) {
  auto o = Options(s);
  if (!o) return o.error();
  return std::unique_ptr<Source>(
      std::make_unique<SyslogTcpSource>(name, std::move(p), *env.pool, std::move(*o)));
}

template <auto Options>
Result<std::unique_ptr<Source>> make_udp_source(const std::string& name, const Settings& s,
                                                std::shared_ptr<ChannelProcessor> p,
                                                BuildEnv& env) {
  auto o = Options(s);
  if (!o) return o.error();
  return std::unique_ptr<Source>(
      std::make_unique<UdpSource>(name, std::move(p), *env.pool, std::move(*o)));
}

}  // namespace

const std::vector<SourceType>& source_types() {
  static const std::vector<SourceType> types{
      {netcat_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv& env) -> Result<std::unique_ptr<Source>> {
         auto o = netcat_source_options(s);
         if (!o) return o.error();
         o->keep_alive = keep_alive_of(*p);
         return std::unique_ptr<Source>(
             std::make_unique<NetcatSource>(name, std::move(p), *env.pool, std::move(*o)));
       }},
      {http_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv& env) -> Result<std::unique_ptr<Source>> {
         auto o = HttpSource::options_from(s);
         if (!o) return o.error();
         o->keep_alive = keep_alive_of(*p);
         return std::unique_ptr<Source>(
             std::make_unique<HttpSource>(name, std::move(p), *env.pool, std::move(*o)));
       }},
      // Issue 19: exec (org.apache.flume.source.ExecSource) and seq
      // (org.apache.flume.source.SequenceGeneratorSource).
      {exec_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv&) -> Result<std::unique_ptr<Source>> {
         auto o = exec_source_options(s);
         if (!o) return o.error();
         return std::unique_ptr<Source>(
             std::make_unique<ExecSource>(name, std::move(p), std::move(*o)));
       }},
      {seq_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv&) -> Result<std::unique_ptr<Source>> {
         auto o = seq_source_options(s);
         if (!o) return o.error();
         return std::unique_ptr<Source>(
             std::make_unique<SequenceGeneratorSource>(name, std::move(p), *o));
       }},
      // org.apache.flume.source.StressSource (flume-ng-core; no alias in Flume).
      {stress_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv&) -> Result<std::unique_ptr<Source>> {
         auto o = stress_source_options(s);
         if (!o) return o.error();
         return std::unique_ptr<Source>(std::make_unique<StressSource>(name, std::move(p), *o));
       }},
      // Issue 19: taildir (TAILDIR, org.apache.flume.source.taildir.TaildirSource).
      {taildir_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv& env) -> Result<std::unique_ptr<Source>> {
         std::vector<std::string> warnings;
         auto o = taildir_source_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("source", name, "", w);
         return std::unique_ptr<Source>(
             std::make_unique<TaildirSource>(name, std::move(p), std::move(*o)));
       }},
#ifndef INGESTOR_NO_KAFKA
      // Issue 20: kafka (org.apache.flume.source.kafka.KafkaSource).
      {kafka_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv& env) -> Result<std::unique_ptr<Source>> {
         std::vector<std::string> warnings;
         auto o = kafka_source_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("source", name, "", w);
         return std::unique_ptr<Source>(
             std::make_unique<KafkaSource>(name, std::move(p), std::move(*o)));
       }},
#endif
      // Issue 19: spooldir (org.apache.flume.source.SpoolDirectorySource)
      {spooldir_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv& env) -> Result<std::unique_ptr<Source>> {
         std::vector<std::string> warnings;
         auto o = spooldir_source_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("source", name, "", w);
         return std::unique_ptr<Source>(
             std::make_unique<SpoolDirectorySource>(name, std::move(p), std::move(*o)));
       }},
      // Issue 21: syslogtcp (org.apache.flume.source.SyslogTcpSource), multiport_syslogtcp
      // (org.apache.flume.source.MultiportSyslogTCPSource), syslogudp
      // (org.apache.flume.source.SyslogUDPSource), netcatudp
      // (org.apache.flume.source.NetcatUdpSource).
      {syslog_tcp_source_spec, make_syslog_tcp_source<syslog_tcp_source_options>},
      {multiport_syslog_tcp_source_spec,
       make_syslog_tcp_source<multiport_syslog_tcp_source_options>},
      {syslog_udp_source_spec, make_udp_source<syslog_udp_source_options>},
      {netcat_udp_source_spec, make_udp_source<netcat_udp_source_options>},
      // Issue 21: avro (org.apache.flume.source.AvroSource), Flume's Avro RPC.
      {avro_source_spec,
       [](const std::string& name, const Settings& s, std::shared_ptr<ChannelProcessor> p,
          BuildEnv& env) -> Result<std::unique_ptr<Source>> {
         std::vector<std::string> warnings;
         auto o = avro_source_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("source", name, "", w);
         return std::unique_ptr<Source>(
             std::make_unique<AvroSource>(name, std::move(p), *env.pool, std::move(*o)));
       }},
  };
  return types;
}

const std::vector<ChannelType>& channel_types() {
  static const std::vector<ChannelType> types{
      {memory_channel_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Channel>> {
         auto o = memory_channel_options(s, *env.diags, name);
         if (!o) return o.error();
         return std::unique_ptr<Channel>(std::make_unique<MemoryChannel>(name, *o));
       }},
      {file_channel_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Channel>> {
         auto o = file_channel_options(s, *env.diags, name);
         if (!o) return o.error();
         return std::unique_ptr<Channel>(std::make_unique<FileChannel>(name, std::move(*o)));
       }},
#ifndef INGESTOR_NO_KAFKA
      // Issue 20: kafka (org.apache.flume.channel.kafka.KafkaChannel).
      {kafka_channel_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Channel>> {
         std::vector<std::string> warnings;
         auto o = kafka_channel_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("channel", name, "", w);
         return std::unique_ptr<Channel>(std::make_unique<KafkaChannel>(name, std::move(*o)));
       }},
#endif
      // Issue 18 (storage): spillablememory, and jdbc refused.
      {spillable_channel_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Channel>> {
         auto o = spillable_channel_options(s, *env.diags, name);
         if (!o) return o.error();
         return std::unique_ptr<Channel>(std::make_unique<SpillableChannel>(name, std::move(*o)));
       }},
      {jdbc_channel_spec,
       [](const std::string&, const Settings&, BuildEnv&) -> Result<std::unique_ptr<Channel>> {
         return make_error(Errc::kConfig,
                           "the jdbc channel (Flume's Apache Derby channel, removed after Flume "
                           "1.11) is not supported: use type = file (durable) or "
                           "spillablememory");
       }},
  };
  return types;
}

const std::vector<SinkType>& sink_types() {
  static const std::vector<SinkType> types{
      {null_sink_spec,
       [](const std::string& name, const Settings& s, BuildEnv&) -> Result<std::unique_ptr<Sink>> {
         return std::unique_ptr<Sink>(std::make_unique<NullSink>(name, s));
       }},
      {logger_sink_spec,
       [](const std::string& name, const Settings& s, BuildEnv&) -> Result<std::unique_ptr<Sink>> {
         return std::unique_ptr<Sink>(std::make_unique<LoggerSink>(name, s));
       }},
      {rolling_file_sink_spec,
       [](const std::string& name, const Settings& s, BuildEnv&) -> Result<std::unique_ptr<Sink>> {
         auto o = rolling_file_sink_options(s);
         if (!o) return o.error();
         return std::unique_ptr<Sink>(std::make_unique<RollingFileSink>(name, std::move(*o)));
       }},
      {s3_sink_spec,
       [](const std::string& name, const Settings& s, BuildEnv& env)
           -> Result<std::unique_ptr<Sink>> { return make_s3_sink("s3", name, s, env); }},
      {hdfs_sink_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Sink>> { return make_hdfs_sink(name, s, env); }},
#ifndef INGESTOR_NO_KAFKA
      // Issue 20: kafka (org.apache.flume.sink.kafka.KafkaSink).
      {kafka_sink_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Sink>> {
         std::vector<std::string> warnings;
         auto o = kafka_sink_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("sink", name, "", w);
         return upcast<Sink>(KafkaSink::create(name, std::move(*o)));
       }},
#endif
      // Issue 18 (storage): the http sink.
      {http_sink_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Sink>> {
         std::vector<std::string> warnings;
         auto o = http_sink_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("sink", name, "", w);
         return std::unique_ptr<Sink>(std::make_unique<HttpSink>(name, std::move(*o)));
       }},
      // Issue 21: avro (org.apache.flume.sink.AvroSink), Flume's Avro RPC.
      {avro_sink_spec,
       [](const std::string& name, const Settings& s,
          BuildEnv& env) -> Result<std::unique_ptr<Sink>> {
         std::vector<std::string> warnings;
         auto o = avro_sink_options(s, &warnings);
         if (!o) return o.error();
         for (auto& w : warnings) env.diags->warning("sink", name, "", w);
         return std::unique_ptr<Sink>(std::make_unique<AvroSink>(name, std::move(*o)));
       }},
  };
  return types;
}

const std::vector<InterceptorType>& interceptor_types() {
  static const std::vector<InterceptorType> types{
      {timestamp_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return std::unique_ptr<Interceptor>(std::make_unique<TimestampInterceptor>(s));
       }},
      {host_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return std::unique_ptr<Interceptor>(std::make_unique<HostInterceptor>(s));
       }},
      {static_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return std::unique_ptr<Interceptor>(std::make_unique<StaticInterceptor>(s));
       }},
      {remove_header_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return upcast<Interceptor>(RemoveHeaderInterceptor::create(s));
       }},
      {uuid_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return std::unique_ptr<Interceptor>(std::make_unique<UuidInterceptor>(s));
       }},
      {search_replace_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return upcast<Interceptor>(SearchReplaceInterceptor::create(s));
       }},
      {regex_filter_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return upcast<Interceptor>(RegexFilterInterceptor::create(s));
       }},
      {regex_extractor_interceptor_spec,
       [](const Settings& s) -> Result<std::unique_ptr<Interceptor>> {
         return upcast<Interceptor>(RegexExtractorInterceptor::create(s));
       }},
  };
  return types;
}

const SourceType* find_source_type(std::string_view t) { return find_in(source_types(), t); }
const ChannelType* find_channel_type(std::string_view t) { return find_in(channel_types(), t); }
const SinkType* find_sink_type(std::string_view t) { return find_in(sink_types(), t); }
const InterceptorType* find_interceptor_type(std::string_view t) {
  return find_in(interceptor_types(), t);
}

const ComponentSpec* find_spec(std::string_view type) {
  if (auto* t = find_source_type(type)) return &t->spec();
  if (auto* t = find_channel_type(type)) return &t->spec();
  if (auto* t = find_sink_type(type)) return &t->spec();
  if (auto* t = find_interceptor_type(type)) return &t->spec();
  // Selectors and sink processors, by alias or class name.
  for (auto* spec :
       {&replicating_selector_spec, &multiplexing_selector_spec, &default_sink_processor_spec,
        &failover_sink_processor_spec, &load_balance_sink_processor_spec}) {
    const ComponentSpec& s = (*spec)();
    if (ascii_iequals(s.alias, type) || s.class_name == type) return &s;
  }
  return nullptr;
}

std::optional<std::string> refused_type(std::string_view kind, std::string_view type) {
  std::string t(type);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (kind == "interceptor" && t.find("morphline") != std::string::npos)
    return "morphline interceptors are not supported (they need Kite Morphlines, a Java library); "
           "use regex_extractor, search_replace, regex_filter or remove_header for the same "
           "header and body edits";
  // Flume built-ins (aliases and class names, lower case) that are not provided, with why and
  // what to use instead: said as such, not as a typo.
  struct Refusal {
    std::string_view kind;
    std::initializer_list<std::string_view> names;
    std::string_view why;
  };
  static const Refusal kRefused[] = {
      {"source",
       {"thrift", "org.apache.flume.source.thriftsource"},
       "the thrift source (Flume's Thrift RPC) is not supported; between agents use the avro "
       "source and sink (Flume's Avro RPC), which Flume agents speak too"},
      {"sink",
       {"thrift", "org.apache.flume.sink.thriftsink"},
       "the thrift sink (Flume's Thrift RPC) is not supported; between agents use the avro sink "
       "and source (Flume's Avro RPC), which Flume agents speak too"},
      {"source",
       {"jms", "org.apache.flume.source.jms.jmssource"},
       "the jms source is not supported: it needs a JMS provider's Java client"},
      {"source",
       {"twitter", "org.apache.flume.source.twitter.twittersource"},
       "the twitter source is not supported: the Twitter v1.1 streaming API it reads has been "
       "retired"},
      {"source",
       {"scribe", "org.apache.flume.source.scribe.scribesource"},
       "the scribe source is not supported"},
      {"sink",
       {"hbase", "hbase2", "asynchbase", "org.apache.flume.sink.hbase.hbasesink",
        "org.apache.flume.sink.hbase2.hbase2sink", "org.apache.flume.sink.hbase.asynchbasesink"},
       "HBase sinks are not supported: they need an HBase cluster's Java client; land the events "
       "in S3 (hdfs sink on an s3a:// path) or Kafka (KafkaSink) and load them from there"},
      {"sink",
       {"hive", "org.apache.flume.sink.hive.hivesink"},
       "the hive sink is not supported: it needs Hive streaming (Java); write to the table's "
       "location with the hdfs sink on an s3a:// or file:// path instead"},
      {"sink",
       {"elasticsearch", "org.apache.flume.sink.elasticsearch.elasticsearchsink"},
       "the elasticsearch sink left Flume's distribution before 1.11 (FLUME-3414) and is not "
       "provided; send the events through Kafka or the http sink"},
      {"sink",
       {"org.apache.flume.sink.kite.datasetsink"},
       "the Kite dataset sink was removed from Flume before 1.11 and is not provided; use the hdfs "
       "sink with serializer = avro_event"},
      {"sink",
       {"morphline_solr", "org.apache.flume.sink.solr.morphline.morphlinesolrsink"},
       "the morphline Solr sink is not supported (Kite Morphlines and Solr's Java client)"},
      {"sink",
       {"irc", "org.apache.flume.sink.irc.ircsink"},
       "the irc sink is not supported"},
  };
#ifdef INGESTOR_NO_KAFKA
  if (t == "kafka" || t.starts_with("org.apache.flume.source.kafka.") ||
      t.starts_with("org.apache.flume.sink.kafka.") ||
      t.starts_with("org.apache.flume.channel.kafka."))
    return "this ingestor binary was built without Kafka (the static build: librdkafka cannot be "
           "linked statically with Debian's packages); use the dynamic build or the container "
           "image";
#endif
  for (const Refusal& r : kRefused) {
    if (r.kind != kind) continue;
    for (std::string_view n : r.names)
      if (t == n) return std::string(r.why);
  }
  return std::nullopt;
}

std::string known_aliases(std::string_view kind) {
  std::string out;
  auto add = [&](const ComponentSpec& s) {
    if (!out.empty()) out += ", ";
    out += s.alias;
  };
  if (kind == "source")
    for (auto& t : source_types()) add(t.spec());
  if (kind == "channel")
    for (auto& t : channel_types()) add(t.spec());
  if (kind == "sink")
    for (auto& t : sink_types()) add(t.spec());
  if (kind == "interceptor")
    for (auto& t : interceptor_types()) add(t.spec());
  return out;
}

}  // namespace ingestor
