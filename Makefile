# onnx-chat: the two commands of the README are `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
MODEL ?= onnx-community/gemma-3n-E2B-it-ONNX
ARGS ?=
ORT_ROOT = $(shell scripts/fetch-onnxruntime.sh)

.PHONY: setup configure build run test unit e2e fixtures bench bench-real bench-concurrency soak replicas fuzz format clean

setup:
	scripts/setup.sh

configure:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DONNXRUNTIME_ROOT=$(ORT_ROOT)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Set up, build, and run the server. MODEL is a model folder or a hub repo id.
run: setup build
	$(BUILD_DIR)/onnx-chat serve $(if $(MODEL),--model $(MODEL)) $(ARGS)

# Set up, build, and run every test (C++ units through CTest, then node's test runner).
test: setup build
	scripts/run-tests.sh $(BUILD_DIR)

bench: setup build
	scripts/run-bench.sh $(BUILD_DIR)

# Aggregate throughput and latency at 1-16 concurrent streams (bench/concurrency.sh).
bench-concurrency: setup build
	bench/concurrency.sh $(BUILD_DIR)

# The real Gemma 3 4B q4 graphs with random weights (3.5 GB written once; MODEL=DIR reuses a
# prepared folder): exact vs auto matmul precision, server / model layer / bare loop, load time,
# peak RSS, and the agreement of auto with exact (bench/real_graph_bench.sh).
bench-real: build
	$(if $(MODEL_DIR),MODEL=$(MODEL_DIR)) bench/real_graph_bench.sh $(BUILD_DIR)

# Soak: SOAK_SECONDS of mixed load (text, image, audio, streams, n > 1, clients hanging up) on the
# Gemma-3n fixture; fails on a 5xx, RSS growth >= 5 %, or fds / threads not back to baseline.
SOAK_SECONDS ?= 1800
soak: setup build fixtures
	ONNX_CHAT_BIN=$(BUILD_DIR)/onnx-chat ONNX_CHAT_FIXTURES=$(BUILD_DIR)/fixtures \
	  node tests/soak/soak.mjs --seconds $(SOAK_SECONDS) --report $(BUILD_DIR)/soak-report.json

# REPLICAS servers of MODEL behind nginx on 127.0.0.1:LB_PORT (docs/DEPLOY.md); Ctrl-C stops all.
REPLICAS ?= 2
LB_PORT ?= 8080
replicas: setup build
	scripts/replicas.sh --replicas $(REPLICAS) --port $(LB_PORT) --model $(MODEL) --bin $(BUILD_DIR)/onnx-chat -- $(ARGS)

# The fuzz targets (tests/fuzz) under ASan + UBSan in build-fuzz, each until FUZZ_RUNS executions
# (a target the FUZZ_SECONDS limit stops short of them fails).
FUZZ_RUNS ?= 1000000
FUZZ_SECONDS ?= 3600
fuzz: setup
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Fixture models (tools/fixtures/README.md); BENCH=1 adds the benchmark fixture.
fixtures:
	/usr/bin/python3 tools/fixtures/make_fixtures.py --out $(BUILD_DIR)/fixtures $(if $(BENCH),--bench)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
