# lens — a native Jupyter kernel for mechanistic interpretability of GPT-2 models.
# Read top to bottom; `make help` lists the targets.

CC      ?= cc
SANITIZE ?= 0
PYTHON  ?= python3
VENV    := .venv
PREFIX  ?= $(HOME)/.local

ifeq ($(SANITIZE),1)
BUILD   := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1 -g
else
BUILD   := build
SANFLAGS :=
OPT     := -O2 -g
endif

# Libraries: the engine needs cJSON, PCRE2 and OpenBLAS (BLAS + LAPACK);
# the kernel adds ZeroMQ, OpenSSL, libuuid and libcurl (lens download).
# OpenBLAS: the OpenMP build (Debian's libopenblas-openmp-dev) when present, so
# BLAS and the engine's own parallel loops share one OpenMP thread pool instead
# of two pools spinning against each other; else whatever pkg-config offers.
OPENBLAS_OMP := /usr/lib/$(shell gcc -print-multiarch 2>/dev/null)/openblas-openmp
ifneq ($(wildcard $(OPENBLAS_OMP)/libopenblas.so),)
OPENBLAS_CFLAGS := -I/usr/include/$(shell gcc -print-multiarch)/openblas-openmp
OPENBLAS_LIBS   := -L$(OPENBLAS_OMP) -Wl,-rpath,$(OPENBLAS_OMP) -lopenblas
else
OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
endif
ENGINE_PKGS := libcjson libpcre2-8
KERNEL_PKGS := libzmq openssl uuid libcurl
ENGINE_CFLAGS := $(shell pkg-config --cflags $(ENGINE_PKGS) 2>/dev/null) $(OPENBLAS_CFLAGS)
ENGINE_LIBS   := $(shell pkg-config --libs $(ENGINE_PKGS) 2>/dev/null) $(OPENBLAS_LIBS) -lm -lpthread
KERNEL_CFLAGS := $(shell pkg-config --cflags $(KERNEL_PKGS) 2>/dev/null)
KERNEL_LIBS   := $(shell pkg-config --libs $(KERNEL_PKGS) 2>/dev/null)

# -fno-trapping-math: nothing reads floating-point exception flags, and it lets
# the compiler vectorise loops with comparisons (engine/backend_cpu_rows.c).
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wno-format-truncation -Wno-missing-field-initializers -fno-math-errno -fno-trapping-math -pthread -fopenmp $(SANFLAGS) \
           -Iengine/include -Ikernel -Ikernel/lang -Ikernel/display $(ENGINE_CFLAGS)
LDFLAGS := $(SANFLAGS) -pthread -fopenmp

# CUDA: kernels/ (the .cu kernels and the cuda_*.c host part) is built into
# $(BUILD)/liblens-cuda.so when nvcc is found (`make NVCC=` builds without it).
# The engine dlopen()s that library when the cuda backend is first asked for
# (engine/backend_cuda_loader.c), so build/lens links no CUDA library and runs
# unchanged on a machine without a GPU or driver. Machine code for sm_90
# (H100/H200) plus compute_80 PTX that the driver compiles for other GPUs.
NVCC    := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_SRC := $(wildcard kernels/*.cu)
ifneq ($(NVCC),)
ifneq ($(CUDA_SRC),)
CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC))
CFLAGS  += -DLENS_HAVE_CUDA
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=compute_80
CUDA_LIB := $(BUILD)/liblens-cuda.so
CUDA_OBJ := $(patsubst %.cu,$(BUILD)/obj/%.cu.o,$(CUDA_SRC)) \
            $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard kernels/*.c))
# The library is never sanitized (it is dlopen()ed into plain and ASan programs alike).
CUDA_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -fPIC -fvisibility=hidden \
               -Iengine -Iengine/include -I$(CUDA_HOME)/include
NVCC_FLAGS := -O3 -std=c++17 $(CUDA_ARCH) -Iengine -Iengine/include \
              -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Werror
endif
endif

ENGINE_SRC  := $(wildcard engine/*.c)
LANG_SRC    := $(wildcard kernel/lang/*.c) $(wildcard kernel/display/*.c)
KERNEL_SRC  := $(filter-out kernel/main.c,$(wildcard kernel/*.c))
ENGINE_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(ENGINE_SRC))
LANG_OBJ    := $(patsubst %.c,$(BUILD)/obj/%.o,$(LANG_SRC))
KERNEL_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(KERNEL_SRC))

LIBLENS := $(BUILD)/liblens.a
LIBLANG := $(BUILD)/liblang.a
LIBKERNEL := $(BUILD)/libkernel.a
LENS    := $(BUILD)/lens
BENCH   := $(BUILD)/lens-bench
BENCH_MEMORY := $(BUILD)/lens-bench-memory

# Tests: tests/engine/*.c link the engine only; tests/lang/*.c add the language
# and display; tests/kernel/*.c add the protocol code.
TEST_ENGINE := $(patsubst tests/engine/%.c,$(BUILD)/tests/%,$(wildcard tests/engine/test_*.c))
TEST_LANG   := $(patsubst tests/lang/%.c,$(BUILD)/tests/%,$(wildcard tests/lang/test_*.c))
TEST_KERNEL := $(patsubst tests/kernel/%.c,$(BUILD)/tests/%,$(wildcard tests/kernel/test_*.c))
TESTS := $(TEST_ENGINE) $(TEST_LANG) $(TEST_KERNEL)
# tests/gpu/run.sh's helpers (engine only): device-against-device comparison, random model.
GPU_PROGRAMS := $(BUILD)/gpu/compare_devices $(BUILD)/gpu/random_model
# Helper programs the Python suites drive: tests/engine/*_driver.c (engine only)
# and tests/lang/*_driver.c (display and language).
TEST_DRIVERS := $(patsubst tests/engine/%.c,$(BUILD)/tests/%,$(wildcard tests/engine/*_driver.c)) \
                $(patsubst tests/lang/%.c,$(BUILD)/tests/%,$(wildcard tests/lang/*_driver.c))

.PHONY: all help deps test test-c-programs test-c test-python bench install demo docs clean engine fuzz fuzz-programs valgrind
all: $(LENS) $(BENCH) $(BENCH_MEMORY) $(TESTS) $(TEST_DRIVERS)

help:
	@echo "make            build build/lens, the benchmark and the test programs"
	@echo "make gpu-programs   only what tests/gpu/run.sh needs on a GPU machine (no ZeroMQ)"
	@echo "make deps       install what is missing: Debian -dev packages, the Python test venv"
	@echo "make test       run every test suite; ends with 'N passed, N failed'"
	@echo "make test SANITIZE=1   the same under AddressSanitizer + UBSan (build/san/)"
	@echo "make bench      run the benchmarks (bench/README.md has the latest table)"
	@echo "make fuzz SECONDS=N   build the libFuzzer targets (clang) and run each N s (default 60)"
	@echo "make valgrind   every C test under valgrind memcheck (leaks included; small workloads)"
	@echo "make demo       run the demo notebook headless with the best model available"
	@echo "make docs       regenerate docs/LANGUAGE.md from the builtin and module tables"
	@echo "make install    install build/lens, the kernelspec, the shipped models and papermill's lens translator"
	@echo "make clean      remove build/"

engine: $(LIBLENS)

# `make` also builds the CUDA library (when nvcc is found) and tests/gpu's helpers.
all: $(CUDA_LIB) $(GPU_PROGRAMS)

# What tests/gpu/run.sh needs on a GPU machine, none of it needing ZeroMQ: the
# engine, its tests, the bench, the CUDA library and the helpers.
.PHONY: gpu-programs
gpu-programs: $(BENCH) $(TEST_ENGINE) $(CUDA_LIB) $(GPU_PROGRAMS)

$(BUILD)/gpu/compare_devices: tests/gpu/compare_devices.c $(LIBLENS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(LIBLENS) $(ENGINE_LIBS)

$(BUILD)/gpu/random_model: tests/gpu/random_model.c $(BUILD)/obj/kernel/cmd_random_model.o $(LIBLENS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/obj/kernel/cmd_random_model.o -o $@ $(LDFLAGS) $(LIBLENS) $(ENGINE_LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(KERNEL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/kernels/%.cu.o: kernels/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/kernels/%.o: kernels/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CUDA_CFLAGS) -MMD -MP -c $< -o $@

# cudart is linked statically (nvcc's default); cuBLAS is found through the rpath.
$(CUDA_LIB): $(CUDA_OBJ)
	$(NVCC) -shared $(CUDA_ARCH) $^ -o $@ -L$(CUDA_HOME)/lib64 -lcublas -Xlinker -rpath,$(CUDA_HOME)/lib64

# make install also puts the library in PREFIX/lib, where PREFIX/bin/lens finds it.
ifneq ($(CUDA_LIB),)
.PHONY: install-cuda
install: install-cuda
install-cuda: $(CUDA_LIB)
	install -D -m 0755 $(CUDA_LIB) $(PREFIX)/lib/liblens-cuda.so
endif

$(LIBLENS): $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBLANG): $(LANG_OBJ)
	@rm -f $@
	ar rcs $@ $^ $(if $(LANG_OBJ),,)

$(LIBKERNEL): $(KERNEL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LENS): $(BUILD)/obj/kernel/main.o $(LIBKERNEL) $(LIBLANG) $(LIBLENS)
	$(CC) $(LDFLAGS) $^ -o $@ $(KERNEL_LIBS) $(ENGINE_LIBS)

$(BENCH): $(BUILD)/obj/bench/bench.o $(LIBLENS)
	$(CC) $(LDFLAGS) $^ -o $@ $(ENGINE_LIBS)

$(BENCH_MEMORY): $(BUILD)/obj/bench/peak_memory.o $(LIBLENS)
	$(CC) $(LDFLAGS) $^ -o $@ $(ENGINE_LIBS)

$(BUILD)/tests/%: tests/engine/%.c $(LIBLENS) tests/harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(LIBLENS) $(ENGINE_LIBS)

# A library with another CUDA backend ABI version, which the loader test opens.
$(BUILD)/tests/test_cuda_loader: $(BUILD)/tests/libfake_cuda_backend.so
$(BUILD)/tests/libfake_cuda_backend.so: tests/engine/fake_cuda_backend.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -Iengine/include $< -o $@

$(BUILD)/tests/%: tests/lang/%.c $(LIBLANG) $(LIBLENS) tests/harness.h tests/lang/lang_test_util.h tests/lang/cell_cases.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(LIBLANG) $(LIBLENS) $(ENGINE_LIBS)

$(BUILD)/tests/%: tests/kernel/%.c $(LIBKERNEL) $(LIBLANG) $(LIBLENS) tests/harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(KERNEL_CFLAGS) $< -o $@ $(LDFLAGS) $(LIBKERNEL) $(LIBLANG) $(LIBLENS) $(KERNEL_LIBS) $(ENGINE_LIBS)

# Every suite: the C test programs, then the Python (protocol, notebook, browser)
# tests in the venv. One summary line at the end.
# `make test` also builds the C test programs with AddressSanitizer + UBSan
# (build/san/) and runs them beside the plain ones, so every run of the suite,
# CI's included, exercises the sanitizer build. `make test SANITIZE=1` runs
# every suite, the Python ones too, against the sanitized build.
ifeq ($(SANITIZE),1)
SAN_TESTS :=
test-c-programs: $(TESTS) $(CUDA_LIB)
else
SAN_TESTS := $(patsubst $(BUILD)/tests/%,build/san/tests/%,$(TESTS))
endif

# With FUZZ_SECONDS > 0 (60 when CI is set, as CI runs it; 0 otherwise: `make fuzz`
# is the developer's command) `make test` also runs each libFuzzer target that long,
# from a fixed seed, and counts each as a test.
ifneq ($(CI),)
FUZZ_SECONDS ?= 60
else
FUZZ_SECONDS ?= 0
endif

# The engine fixture tests that pass on the simulated device run a second time
# there (LENS_DEVICE=sim: device memory the host cannot touch).
SIM_TESTS := $(addprefix $(BUILD)/tests/,test_model test_analysis test_lazy_logits test_activation_memory test_backward test_patching test_analysis_lang test_shared_prefix)

test: all $(if $(filter-out 0,$(FUZZ_SECONDS)),fuzz-programs)
ifneq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory SANITIZE=1 test-c-programs
endif
	@BUILD=$(BUILD) VENV=$(VENV) SANITIZE=$(SANITIZE) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_BINS="$(if $(filter-out 0,$(FUZZ_SECONDS)),$(FUZZ_BINS))" \
	    SIM_TESTS="$(filter $(TESTS),$(SIM_TESTS))" tests/run-all.sh $(TESTS) $(SAN_TESTS)

deps:
	@./scripts/deps.sh

bench: $(BENCH) $(BENCH_MEMORY) $(LENS)
	@BUILD=$(BUILD) bench/run.sh

# Fuzzing: tests/fuzz/fuzz_*.c are libFuzzer targets, built with clang (ASan +
# UBSan, GCC's OpenMP runtime like OpenBLAS) under build/fuzz/; `make fuzz` runs
# each for SECONDS and fails on a crash (tests/fuzz/README.md).
FUZZ_CC     ?= clang
FUZZ_BUILD  := build/fuzz
SECONDS     ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unknown-warning-option -pthread \
               -fopenmp=libgomp -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=undefined -Iengine/include -Ikernel -Ikernel/lang -Ikernel/display \
               -Itests/fuzz $(ENGINE_CFLAGS) $(KERNEL_CFLAGS)
FUZZ_OBJ    := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(ENGINE_SRC) $(LANG_SRC) $(KERNEL_SRC))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ -fopenmp=libgomp $(KERNEL_LIBS) $(ENGINE_LIBS)

.SECONDARY: $(FUZZ_OBJ)

fuzz-programs: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@SECONDS=$(SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh $(FUZZ_BINS)

# valgrind: every C test program of the plain build under memcheck, leaks
# included (tests/valgrind.sh says how it stays fast and what it suppresses).
valgrind: $(TESTS)
ifeq ($(SANITIZE),1)
	$(error make valgrind runs the plain build; AddressSanitizer and valgrind do not mix)
endif
	@tests/valgrind.sh $(TESTS)

install: $(LENS)
	@VENV=$(VENV) ./scripts/install.sh $(LENS) $(PREFIX)

demo: $(LENS)
	@./scripts/demo.sh $(LENS)

# docs/LANGUAGE.md is generated from the builtin and module tables.
docs: $(LENS)
	@mkdir -p docs && $(LENS) docs > docs/LANGUAGE.md

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
ifneq ($(filter fuzz $(FUZZ_BUILD)/%,$(MAKECMDGOALS)),)
-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
endif
