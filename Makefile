# Ingestor: the front door. `make up` runs the pipeline, `make test` runs every test.
SHELL := /bin/bash
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PYTHON ?= $(shell ls /root/.pyenv/versions/3.11*/bin/python3 2>/dev/null | head -n1 || command -v python3)

# Debian bookworm packages the build, the tests and the benchmarks need.
DEB_PACKAGES := build-essential cmake ninja-build ccache pkg-config \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libssl-dev libpugixml-dev libsqlite3-dev zlib1g-dev libzstd-dev \
  libspdlog-dev libfmt-dev libcli11-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  curl socat netcat-openbsd zstd gzip procps python3

.PHONY: all deps build test up bench clean format

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "make deps: all Debian packages present"; fi

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DINGESTOR_PYTHON=$(PYTHON)

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

up: deps build
	$(BUILD_DIR)/ingestor up

bench: deps build
	$(PYTHON) bench/run_bench.py --build $(BUILD_DIR)

format:
	find src bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
