# Thin entry points over the CMake presets; CMakePresets.json holds the
# actual configuration.
#
#   make deps       install the Debian packages the build needs
#   make test       the format check of the changed lines, the dev (ASan+UBSan)
#                   and tsan builds and their tests (tsan skips the
#                   single-threaded suites: MUSTER_BUILD_SINGLE_THREADED_TESTS),
#                   then test-deploy; each preset's tests run while the next
#                   one builds
#   make test-dev   one of them (also test-tsan, test-release)
#   make test-quick the release build's tests without sanitizers (and without
#                   the deploy tests): the fast inner loop
#   make check-format  the C++ lines changed since this branch left main follow
#                   .clang-format (scripts/check-format.sh)
#   make test-deploy  release build of the libraries, the CLI and the thumbnail
#                   function's zip only, then the deploy tests (the consumer's
#                   static and bundled Lambda zips and thumbnails.zip run in a
#                   chroot, the SAM template checked against the build) and
#                   the other consumer tests, with GCC, the compiler users build
#                   with (the sanitizer presets use Clang); part of `make test`,
#                   since the sanitizer builds cannot link a static bootstrap
#   make demo       release build of the thumbnail pipeline (the thumbnails function,
#                   thumbnails_samples, thumbnails_origin, the muster CLI), then
#                   examples/thumbnails/demo/demo.py: sample images served on 127.0.0.1,
#                   a cold and a warm SQS invocation under `muster invoke`, the results
#                   checked against the samples' manifest; outputs in build/release/demo
#   make fuzz       dev build (Clang, ASan+UBSan) of the libFuzzer harnesses in fuzz/, then
#                   each runs FUZZ_SECONDS (default 60) over its corpus (scripts/fuzz.sh);
#                   crashes are kept in build/dev/fuzz/crashes/<name>/. `make test` runs
#                   each for a few seconds (the ctest label `fuzz`)
#   make bench      release build, then bench/run.sh
#   make clean      remove build/

SANITIZER_PRESETS := dev tsan
TEST_TARGETS := $(addprefix test-,dev tsan release)

.PHONY: all deps peers-background check-format test test-quick test-deploy demo bench fuzz clean \
	$(TEST_TARGETS) build-dev build-tsan build-deploy run-dev run-tsan run-deploy

all: test

deps:
	scripts/install-deps.sh

# The builds run one after the other, each on every core; each preset's tests
# run while the next preset builds, so only the last one's tests add to the
# wall time. The tests wait on child processes, servers and timeouts more
# than they compute: the dev preset's 613 tests take 68 CPU s (user+sys) in
# about 80 s on two idle cores, so the build beside them goes on with most
# of the machine. Their output lines interleave.
test: peers-background check-format
	$(MAKE) --no-print-directory -j3 run-dev run-tsan run-deploy

build-dev: deps
	cmake --preset dev
	cmake --build --preset dev

run-dev: build-dev
	ctest --preset dev

build-tsan: build-dev
	cmake --preset tsan
	cmake --build --preset tsan

run-tsan: build-tsan
	ctest --preset tsan

build-deploy: build-tsan
	cmake --preset release
	cmake --build --preset release --target $(DEPLOY_TARGETS)

run-deploy: build-deploy
	ctest --preset release -L 'deploy|consumer'

check-format: deps
	scripts/check-format.sh

# The tests' npm peers take minutes to install (aws-lambda-ric compiles AWS's
# C++ runtime), mostly waiting on the network: start them in the background so
# they overlap the first build. The tests' own fixture (peers.npm_install) runs
# the same script, which waits on its lock, finds the install done and reports
# any failure; the background run's output is in build/peers-install.log.
peers-background: deps
	@mkdir -p build
	scripts/install-test-peers.sh build/peers > build/peers-install.log 2>&1 &

$(TEST_TARGETS): test-%: deps
	cmake --preset $*
	cmake --build --preset $*
	ctest --preset $*

test-quick: deps
	cmake --preset release
	cmake --build --preset release
	ctest --preset quick

# What `cmake --install` needs, and nothing else of the release preset.
INSTALLED_TARGETS := muster_lambda muster_http muster_aws muster_process_pool muster_emulator muster
# The thumbnail example's zip and what its deploy tests run it on.
DEPLOY_TARGETS := $(INSTALLED_TARGETS) thumbnails_zip thumbnails_samples thumbnails_origin \
	muster_co_await_gcc_asan muster_header_examples_gcc_asan

test-deploy: deps
	cmake --preset release
	cmake --build --preset release --target $(DEPLOY_TARGETS)
	ctest --preset release -L 'deploy|consumer'

# What the demo runs, and nothing else of the release preset.
DEMO_TARGETS := thumbnails thumbnails_samples thumbnails_origin muster

demo: deps
	cmake --preset release
	cmake --build --preset release --target $(DEMO_TARGETS)
	python3 examples/thumbnails/demo/demo.py --build build/release --out build/release/demo

FUZZ_SECONDS ?= 60

fuzz: deps
	cmake --preset dev
	cmake --build --preset dev --target muster_fuzzers
	scripts/fuzz.sh build/dev $(FUZZ_SECONDS)

bench: deps
	cmake --preset release
	cmake --build --preset release
	bash bench/run.sh

clean:
	rm -rf build
