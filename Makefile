# maplab - one Makefile, one build folder per configuration.
#
#   make [all]        build/maplab, build/maplab-fixtures, test binaries
#   make test         build and run every Check suite (tests/run-tests.sh)
#   make tsan         the same under ThreadSanitizer, in build/tsan
#   make tsan-concurrency  only the concurrency suites under TSan (run.sh test)
#   make asan         the same under AddressSanitizer+UBSan, in build/asan
#   make mutants      build/mutant-NAME/maplab for every mutant in
#                     maps/mutants.def (MUTANT=NAME: one build, any BUILD);
#                     a Go mutant's twins in build/mutant-NAME/go (go-mutants)
#   make clean
#
# BUILD=dir puts a build elsewhere (parallel work never shares objects);
# SAN=thread|address selects a sanitizer (make tsan/asan set both).
# One static library per layer, linked in dependency order (each uses only
# those after it; docs/architecture.md): the harness's modules, the
# incidents, the runtime (harness/runtime: the ictx_* context incidents
# call, and its telemetry), the maps.  No --start-group: a call back up a
# layer is a link error.
# Sources are found by wildcard: a new variant, incident, harness module or
# test suite needs no edit here.

BUILD ?= build
SAN ?=
# Only `make mutants` sets it (see maps/mutant.h); never set in a plain build.
MUTANT ?=
# C mutants (a C variant) and Go mutants (a go-* variant: a build tag).
MUTANTS := $(shell sed -n 's/^MUTANT.\([a-z_]*\), [a-z_]*,.*/\1/p' maps/mutants.def)
GO_MUTANTS := $(shell sed -n 's/^MUTANT.\([a-z_]*\), go-[a-z_-]*,.*/\1/p' maps/mutants.def)
CC ?= cc

PKGS := jansson liburcu-cds liburcu-memb glib-2.0 ck
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS := $(shell pkg-config --libs check)

OPT ?= -O2
ifeq ($(SAN),thread)
OPT := -O1
SANFLAGS := -fsanitize=thread
else ifeq ($(SAN),address)
OPT := -O1
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

ifneq ($(MUTANT),)
ifneq ($(filter $(MUTANT),$(GO_MUTANTS)),)
$(error $(MUTANT) is a Go mutant: `make go-mutants` builds it)
endif
ifneq ($(SAN),)
$(error a mutant build is a plain build: drop SAN)
endif
MUTANTFLAGS := -DMAPLAB_MUTANT=$(MUTANT)
endif

CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -g $(OPT) \
	  $(SANFLAGS) $(MUTANTFLAGS) -I. $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS := $(PKG_LIBS) -lm
# Recorded in every run manifest.
BUILD_DEFS := -DMAPLAB_CC='"$(shell $(CC) --version | head -n1)"' \
	      -DMAPLAB_CFLAGS='"$(CFLAGS)"' -DMAPLAB_SAN='"$(SAN)"' \
	      -DMAPLAB_BUILD_DIR='"$(BUILD)"'

MAPS_SRC := $(wildcard maps/*.c)
INC_SRC := $(wildcard incidents/*/*.c)
RT_SRC := $(wildcard harness/runtime/*.c)
HAR_SRC := $(filter-out harness/cli/main.c $(RT_SRC),$(wildcard harness/*/*.c))
FIX_SRC := $(wildcard tests/fixtures/*.c)
TEST_SRC := $(wildcard tests/check_*.c)
TEST_HELP_SRC := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
# tests/tsan.supp's entries as one C string for harness/lanes/tsan.c
# (__tsan_default_suppressions): a TSan maplab run by hand (`bench`,
# `matrix`) skips the same liburcu internals as the lanes, and no more.
TSAN_SUPP := $(shell sed -n 's/^\([a-z_]*:[^ ]*\)$$/\1\\n/p' tests/tsan.supp | tr -d '\n')
$(call obj,harness/lanes/tsan.c): tests/tsan.supp
$(call obj,harness/lanes/tsan.c): CFLAGS += -DMAPLAB_TSAN_SUPP='"$(TSAN_SUPP)"'
MAPS_OBJ := $(call obj,$(MAPS_SRC))
INC_OBJ := $(call obj,$(INC_SRC))
RT_OBJ := $(call obj,$(RT_SRC))
HAR_OBJ := $(call obj,$(HAR_SRC))
FIX_OBJ := $(call obj,$(FIX_SRC))
TEST_HELP_OBJ := $(call obj,$(TEST_HELP_SRC))
REG_OBJ := $(call obj,incidents/registry.c)
MAIN_OBJ := $(call obj,harness/cli/main.c)
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

LIBMAPS := $(BUILD)/libmaps.a
LIBRT := $(BUILD)/libruntime.a
LIBINC := $(BUILD)/libincidents.a
LIBHAR := $(BUILD)/libharness.a

.PHONY: all test tsan tsan-concurrency asan mutants clean go go-vet go-mutants
all: $(BUILD)/maplab $(BUILD)/maplab-fixtures $(TESTS)

# The Go twins (incidents/<name>/go) and the claim experiments
# (harness/lanes/goclaims) into $(BUILD)/go/: standard library only, each
# its own module with local replaces, built offline (no proxy, no sumdb),
# caches inside the build folder.  `make all` does not need Go; `make test`
# builds them when `go` is installed (tests/check_gochild.c skips without).
GO ?= go
GO_AVAILABLE := $(shell command -v $(GO) 2>/dev/null)
GO_TWINS := $(patsubst incidents/%/go/main.go,%,$(wildcard incidents/*/go/main.go))
GO_DIRS := $(addprefix incidents/,$(addsuffix /go,$(GO_TWINS))) $(wildcard harness/lanes/goclaims)
GO_ENV := GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GO111MODULE=on \
	  GOTOOLCHAIN=local CGO_ENABLED=0 GOCACHE=$(abspath $(BUILD))/go/cache \
	  GOPATH=$(abspath $(BUILD))/go/path
go:
	@mkdir -p $(BUILD)/go
	@for t in $(GO_TWINS); do \
		(cd incidents/$$t/go && $(GO_ENV) $(GO) build -o $(abspath $(BUILD))/go/$$t .) || exit 1; \
	done
	@if [ -d harness/lanes/goclaims ]; then cd harness/lanes/goclaims && \
		$(GO_ENV) $(GO) build -o $(abspath $(BUILD))/go/goclaims .; fi
go-vet:
	@for d in $(GO_DIRS) maps/go harness/runtime/go; do \
		(cd $$d && $(GO_ENV) $(GO) vet ./...) || exit 1; \
	done
	@for m in $(GO_MUTANTS); do \
		(cd maps/go && $(GO_ENV) $(GO) vet -tags maplab_mutant_$$m ./...) || exit 1; \
	done
	@bad=$$(gofmt -l $(GO_DIRS) maps/go harness/runtime/go); \
	if [ -n "$$bad" ]; then echo "go-vet: not gofmt-clean (run gofmt -w): $$bad" >&2; exit 1; fi
# A Go mutant: the twins built as `go` builds them, with the mutant's tag
# (maps/go/mutant_*.go), into $(BUILD)/mutant-NAME/go; tests/mutants.sh
# runs $(BUILD)/maplab on them through MAPLAB_GO_BIN.
go-mutants:
	@for m in $(GO_MUTANTS); do \
		mkdir -p $(BUILD)/mutant-$$m/go && for t in $(GO_TWINS); do \
			(cd incidents/$$t/go && $(GO_ENV) $(GO) build -tags maplab_mutant_$$m \
				-o $(abspath $(BUILD))/mutant-$$m/go/$$t .) || exit 1; \
		done; \
	done

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BUILD_DEFS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) $(BUILD_DEFS) -MMD -MP -c -o $@ $<

$(LIBMAPS): $(MAPS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBRT): $(RT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBINC): $(INC_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBHAR): $(HAR_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/maplab: $(MAIN_OBJ) $(REG_OBJ) $(LIBHAR) $(LIBINC) $(LIBRT) $(LIBMAPS)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(REG_OBJ) $(LIBHAR) $(LIBINC) $(LIBRT) $(LIBMAPS) $(LDLIBS)

$(BUILD)/maplab-fixtures: $(MAIN_OBJ) $(FIX_OBJ) $(LIBHAR) $(LIBRT) $(LIBMAPS)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(FIX_OBJ) $(LIBHAR) $(LIBRT) $(LIBMAPS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELP_OBJ) $(REG_OBJ) $(LIBHAR) $(LIBINC) $(LIBRT) $(LIBMAPS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_HELP_OBJ) $(REG_OBJ) $(LIBHAR) $(LIBINC) $(LIBRT) $(LIBMAPS) $(CHECK_LIBS) $(LDLIBS)

test: all $(if $(GO_AVAILABLE),go go-vet)
	tests/run-tests.sh $(BUILD)

tsan:
	$(MAKE) BUILD=$(BUILD)/tsan SAN=thread test
# The suites whose threads share maps (re-entrant len/stats during
# concurrent walks, RCU grace periods, syncmap promotions): TSan fails a
# test on any report, a lock-order inversion included.
# And check_bench's `binary` case: the TSan maplab's own bench of rcu,
# lfht and ck, with no TSAN_OPTIONS (only the suppressions it carries).
TSAN_CONCURRENCY := check_maps_concurrent check_rcu check_syncmap
tsan-concurrency:
	$(MAKE) BUILD=$(BUILD)/tsan SAN=thread $(BUILD)/tsan/maplab \
		$(addprefix $(BUILD)/tsan/tests/,$(TSAN_CONCURRENCY) check_bench)
	tests/run-tests.sh $(BUILD)/tsan $(TSAN_CONCURRENCY)
	CK_RUN_CASE=binary tests/run-tests.sh $(BUILD)/tsan check_bench
asan:
	$(MAKE) BUILD=$(BUILD)/asan SAN=address test

# One folder per mutant (only the maplab binary: the gate is what runs it;
# a Go mutant's twins only when go is installed).
mutants: $(if $(GO_AVAILABLE),go-mutants)
	@for m in $(MUTANTS); do \
		$(MAKE) -s BUILD=$(BUILD)/mutant-$$m MUTANT=$$m \
			$(BUILD)/mutant-$$m/maplab || exit 1; \
	done

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
