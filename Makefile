# onnx-chat: the two commands of the README are `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
MODEL ?= onnx-community/gemma-3n-E2B-it-ONNX
ARGS ?=
ORT_ROOT = $(shell scripts/fetch-onnxruntime.sh)

.PHONY: setup configure build run test unit e2e fixtures bench fuzz format clean

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

# The fuzz targets (tests/fuzz) under ASan + UBSan in build-fuzz, each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 900
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Fixture models (tools/fixtures/README.md); BENCH=1 adds the benchmark fixture.
fixtures:
	/usr/bin/python3 tools/fixtures/make_fixtures.py --out $(BUILD_DIR)/fixtures $(if $(BENCH),--bench)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
