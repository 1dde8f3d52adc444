// ingestor_kafka_mock: librdkafka's mock cluster (librdkafka 2.0.2, rdkafka_mock.h) as a process,
// for the Kafka tests and benchmarks (shared reference kafka.md §3.5). No real Kafka server can run
// on the test machines; this one speaks the Kafka protocol on 127.0.0.1 and kcat talks to it.
//
//   ingestor_kafka_mock BROKERS [TOPIC:PARTITIONS ...]
//
// Prints the bootstrap list ("127.0.0.1:P1,127.0.0.1:P2,...") as its first stdout line, then reads
// one command per stdin line and answers "ok <line>" or "error <line>: <reason>":
//   topic NAME PARTITIONS         create a topic
//   down ID|-1 / up ID|-1         take a broker (or all) down: connections dropped and refused
//   rtt ID MS                     constant latency of a broker
//   leader TOPIC PARTITION ID|-1  move a partition's leader (-1: leaderless)
//   topicerr TOPIC CODE           error returned for the topic in Metadata
//   coord group|transaction KEY ID  pin a coordinator
//   err APIKEY CODE...            the next requests of that API (cluster-wide) fail with CODEs
//   clear APIKEY                  drop the queued errors of an API
// Exits 0 on stdin EOF, SIGTERM or SIGINT (the cluster is destroyed first).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::string run(rd_kafka_mock_cluster_t* mc, const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (cmd == "topic") {
    std::string t;
    int p = 0;
    if (!(in >> t >> p)) return "usage: topic NAME PARTITIONS";
    err = rd_kafka_mock_topic_create(mc, t.c_str(), p, 1);
  } else if (cmd == "down" || cmd == "up") {
    int id = 0;
    if (!(in >> id)) return "usage: down|up ID";
    err =
        cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id) : rd_kafka_mock_broker_set_up(mc, id);
  } else if (cmd == "rtt") {
    int id = 0, ms = 0;
    if (!(in >> id >> ms)) return "usage: rtt ID MS";
    err = rd_kafka_mock_broker_set_rtt(mc, id, ms);
  } else if (cmd == "leader") {
    std::string t;
    int p = 0, id = 0;
    if (!(in >> t >> p >> id)) return "usage: leader TOPIC PARTITION ID";
    err = rd_kafka_mock_partition_set_leader(mc, t.c_str(), p, id);
  } else if (cmd == "topicerr") {
    std::string t;
    int code = 0;
    if (!(in >> t >> code)) return "usage: topicerr TOPIC CODE";
    rd_kafka_mock_topic_set_error(mc, t.c_str(), static_cast<rd_kafka_resp_err_t>(code));
  } else if (cmd == "coord") {
    std::string type, key;
    int id = 0;
    if (!(in >> type >> key >> id)) return "usage: coord group|transaction KEY ID";
    err = rd_kafka_mock_coordinator_set(mc, type.c_str(), key.c_str(), id);
  } else if (cmd == "err") {
    int api = 0, code = 0;
    if (!(in >> api)) return "usage: err APIKEY CODE...";
    std::vector<rd_kafka_resp_err_t> codes;
    while (in >> code) codes.push_back(static_cast<rd_kafka_resp_err_t>(code));
    if (codes.empty()) return "usage: err APIKEY CODE...";
    rd_kafka_mock_push_request_errors_array(mc, static_cast<int16_t>(api), codes.size(),
                                            codes.data());
  } else if (cmd == "clear") {
    int api = 0;
    if (!(in >> api)) return "usage: clear APIKEY";
    rd_kafka_mock_clear_request_errors(mc, static_cast<int16_t>(api));
  } else {
    return "unknown command";
  }
  if (err) return rd_kafka_err2name(err);
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BROKERS [TOPIC:PARTITIONS ...]\n", argv[0]);
    return 2;
  }
  const int brokers = std::atoi(argv[1]);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (const char* d = std::getenv("KAFKA_MOCK_DEBUG"))
    rd_kafka_conf_set(conf, "debug", d, errstr, sizeof errstr);
  // The host handle never connects anywhere; silence its "no bootstrap.servers" warning.
  rd_kafka_conf_set(conf, "log_level", std::getenv("KAFKA_MOCK_DEBUG") ? "7" : "3", errstr,
                    sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    std::fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto colon = a.rfind(':');
    int parts = colon == std::string::npos ? 1 : std::atoi(a.c_str() + colon + 1);
    std::string topic = a.substr(0, colon);
    if (auto e = rd_kafka_mock_topic_create(mc, topic.c_str(), parts, 1))
      std::fprintf(stderr, "topic %s: %s\n", topic.c_str(), rd_kafka_err2name(e));
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);
  std::string line;
  char buf[4096];
  while (!g_stop) {
    pollfd p{0, POLLIN, 0};
    int r = poll(&p, 1, 200);
    if (r < 0) continue;  // EINTR: g_stop is checked
    if (r == 0) continue;
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) break;  // stdin closed
    line.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = line.find('\n')) != std::string::npos) {
      std::string cmd = line.substr(0, nl);
      line.erase(0, nl + 1);
      if (cmd.empty()) continue;
      std::string e = run(mc, cmd);
      if (e.empty())
        std::printf("ok %s\n", cmd.c_str());
      else
        std::printf("error %s: %s\n", cmd.c_str(), e.c_str());
      std::fflush(stdout);
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
