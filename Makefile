# The front door. CMake does the building; this file only names the usual
# commands. Each of demo, test, bench and install first installs missing Debian
# packages (scripts/deps.sh).
#
#   make demo                  build and run examples/tour.c
#   make test                  the suite, then the suite again under ASan+UBSan,
#                              built by GCC, then by Clang
#   make valgrind              the suite under Valgrind (CTest label "valgrind")
#   make bench                 the benchmarks, in a Release build
#   make install PREFIX=/usr   install headers, libraries, rcgc.pc, CMake config
#   make clean                 remove the build directories made here

PREFIX ?= /usr/local
JOBS ?= 2
BUILD := build
ASAN_BUILD := build-asan
CLANG_BUILD := build-clang
BENCH_BUILD := build-bench
INSTALL_BUILD := build-install
# Per-test time limits (seconds), far above what any test needs.
CTEST := ctest -j$(JOBS) --output-on-failure --no-tests=error
TEST_TIMEOUT ?= 600
VALGRIND_TIMEOUT ?= 3000

.PHONY: all deps configure demo test test-plain test-asan test-clang valgrind bench install clean
.NOTPARALLEL:

all: configure
	cmake --build $(BUILD) -j$(JOBS)

deps:
	bash scripts/deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DRCGC_TESTS=ON -DRCGC_EXAMPLES=ON -DRCGC_SANITIZE=OFF

demo: configure
	cmake --build $(BUILD) -j$(JOBS) --target tour
	./$(BUILD)/tour

# Every run happens even when one fails; any failing fails the target.
test:
	@status=0; \
	$(MAKE) --no-print-directory test-plain || status=1; \
	$(MAKE) --no-print-directory test-asan || status=1; \
	$(MAKE) --no-print-directory test-clang || status=1; \
	exit $$status

test-plain: all
	$(CTEST) --test-dir $(BUILD) -LE valgrind --timeout $(TEST_TIMEOUT)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DRCGC_TESTS=ON -DRCGC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --test-dir $(ASAN_BUILD) -LE valgrind --timeout $(TEST_TIMEOUT)

# Clang's sanitizers check what GCC's do not (NULL + 0, for one), and its
# objects carry no .debug_aranges, which the tracebacks must do without.
test-clang: deps
	CC=clang cmake -S . -B $(CLANG_BUILD) -DRCGC_TESTS=ON -DRCGC_SANITIZE=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(CLANG_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --test-dir $(CLANG_BUILD) -LE valgrind --timeout $(TEST_TIMEOUT)

valgrind: all
	$(CTEST) --test-dir $(BUILD) -L valgrind --timeout $(VALGRIND_TIMEOUT)

bench:
	bash scripts/deps.sh bench
	cmake -S . -B $(BENCH_BUILD) -DRCGC_BENCH=ON -DRCGC_TESTS=OFF -DRCGC_EXAMPLES=OFF \
	  -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BENCH_BUILD) -j$(JOBS)
	if [ -f bench/run.sh ]; then sh bench/run.sh $(BENCH_BUILD); \
	else cmake --build $(BENCH_BUILD) --target bench; fi

# The library and the rcgc command alone, in a build of their own configured
# with the prefix itself; it installs only what building them needs.
install:
	bash scripts/deps.sh lib
	cmake -S . -B $(INSTALL_BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) \
	  -DRCGC_TESTS=OFF -DRCGC_EXAMPLES=OFF -DRCGC_BENCH=OFF
	cmake --build $(INSTALL_BUILD) -j$(JOBS)
	cmake --install $(INSTALL_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(BENCH_BUILD) $(INSTALL_BUILD)
