# podwall — build the BPF object, its libbpf skeleton and the podwall binary.
# Quiet by default; `make V=1` shows the commands.

V ?= 0
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
            -Werror=incompatible-pointer-types -Werror=implicit-function-declaration -Werror=int-conversion
CPPFLAGS += -Iinclude -Iagent -I$(BUILD) -D_GNU_SOURCE
LDLIBS   += -lbpf -lelf -lz -lyaml -lmicrohttpd -ljansson -lcurl -pthread

BPF_CFLAGS := -g -O2 -target bpf -Wall -Wno-unused-function -Iinclude -Ibpf -I$(ARCH_INC)
BPF_HDRS   := include/podwall/abi.h $(wildcard bpf/lib/*.h)

# Pure userspace code (no syscalls): unit-tested under ASan/UBSan.
PURE_SRCS  := agent/state.c agent/log.c $(sort $(wildcard agent/k8s/*.c agent/compiler/*.c agent/ops/pure/*.c))
AGENT_SRCS := $(PURE_SRCS) $(sort $(wildcard agent/kernel/*.c agent/engine/*.c agent/cmd/*.c agent/bench/*.c agent/ops/*.c agent/source/*.c))
# the CNI configuration editor of podwall-cni: the agent keeps the chain, uninstall removes it
AGENT_SRCS += cni/conflist.c
AGENT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(AGENT_SRCS))
MAIN_OBJ   := $(BUILD)/agent/main.o

SAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRCS  := $(sort $(wildcard tests/unit/*.c))
# plain C (libc, libyaml, jansson) beside the pure sources that the unit suites test too
UNIT_EXTRA := agent/source/kubeconfig.c agent/kernel/watch.c agent/ops/statefile.c \
	      agent/kernel/atomic_file.c
DP_SRCS    := $(sort $(wildcard tests/datapath/*.c))

.PHONY: all setup test unit datapath conformance e2e demo bench image clean
.DEFAULT_GOAL := all

all: podwall podwall-cni

setup:
	$(Q)bash scripts/deps.sh

$(BUILD)/podwall.bpf.o: bpf/podwall.bpf.c $(BPF_HDRS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The same programs counting every map lookup they make (bpf/lib/common.h,
# PW_COUNT_LOOKUPS): loaded only by the datapath tests, which bound the
# lookups of each path (a regression check that does not depend on timing).
$(BUILD)/podwall-count.bpf.o: bpf/podwall.bpf.c $(BPF_HDRS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DPW_COUNT_LOOKUPS -c $< -o $@

$(BUILD)/podwall.skel.h: $(BUILD)/podwall.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name podwall_bpf > $@.tmp && mv $@.tmp $@

# Everything in agent/ may include the skeleton; generate it first.
$(AGENT_OBJS) $(MAIN_OBJ): | $(BUILD)/podwall.skel.h
$(BUILD)/agent/kernel/%.o $(BUILD)/agent/cmd/%.o: $(BUILD)/podwall.skel.h

$(BUILD)/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

podwall: $(AGENT_OBJS) $(MAIN_OBJ)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The same agent stamped with another ABI version, as a newer build whose map
# layout changed would be: tests/e2e/upgrade.sh switches to it and back.
ABI_NEXT := 1000
$(BUILD)/abi-next/podwall: $(filter-out $(BUILD)/agent/kernel/bpfobj.o,$(AGENT_OBJS)) $(MAIN_OBJ) agent/kernel/bpfobj.c
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -DPW_ABI_PINNED=$(ABI_NEXT) $(CFLAGS) -c agent/kernel/bpfobj.c -o $(@D)/bpfobj.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.o,$^) $(@D)/bpfobj.o $(LDLIBS) -o $@

# podwall-cni: the chained CNI plugin (cni/), a small binary of its own that
# talks to the agent over a unix socket (agent/source/cni_proto.h). Static by
# default: the DaemonSet copies it onto nodes that need not have libjansson.
CNI_SRCS    := $(sort $(wildcard cni/*.c)) agent/kernel/atomic_file.c agent/kernel/netns.c
CNI_LDFLAGS ?= -static
podwall-cni: $(CNI_SRCS) $(wildcard cni/*.h) agent/source/cni_proto.h agent/kernel/atomic_file.h agent/kernel/netns.h
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(CNI_LDFLAGS) $(CNI_SRCS) -ljansson -o $@

# ---------------------------------------------------------------- tests
$(BUILD)/tests/unit_tests: $(PURE_SRCS) $(UNIT_EXTRA) $(UNIT_SRCS) $(wildcard agent/*.h agent/*/*.h tests/lib/*.h) include/podwall/abi.h
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
		$(SAN_FLAGS) $(PURE_SRCS) $(UNIT_EXTRA) $(UNIT_SRCS) -lyaml -ljansson -pthread -o $@

$(BUILD)/tests/datapath_tests: $(AGENT_OBJS) $(DP_SRCS) $(wildcard tests/lib/*.h) $(BUILD)/podwall-count.bpf.o
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib $(CFLAGS) $(DP_SRCS) $(AGENT_OBJS) $(LDLIBS) -o $@

unit: $(BUILD)/tests/unit_tests
datapath: $(BUILD)/tests/datapath_tests

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets, tests/fuzz/fuzz_*.c, built with clang (-fsanitize=fuzzer
# plus ASan and UBSan) into build/fuzz/; scripts/fuzz-smoke.sh runs each one
# for a minute over its seeds (CI does, before `make test`).
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=all
FUZZ_LIBS  := -lyaml -ljansson -lbpf -lelf -lz -lcurl -lpthread
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
# what a target links besides its own file; the pure sources if not named here
FUZZ_SRCS_fuzz_cni_request := agent/source/cni_server.c agent/kernel/bpfobj.c agent/kernel/cttable.c agent/kernel/route.c \
			      agent/kernel/atomic_file.c agent/log.c
FUZZ_SRCS_fuzz_cni_state   := $(FUZZ_SRCS_fuzz_cni_request)
FUZZ_SRCS_fuzz_cni_plugin  := cni/chain.c cni/conflist.c agent/kernel/atomic_file.c
FUZZ_SRCS_fuzz_k8s_api     := $(PURE_SRCS) agent/source/kubeconfig.c
FUZZ_SRCS_fuzz_kubeconfig  := agent/source/kubeconfig.c agent/log.c
FUZZ_SRCS_fuzz_state_file  := $(PURE_SRCS) agent/ops/statefile.c agent/kernel/atomic_file.c
fuzz_srcs = $(if $(filter undefined,$(origin FUZZ_SRCS_$(1))),$(PURE_SRCS),$(FUZZ_SRCS_$(1)))
define fuzz_rule
$(BUILD)/fuzz/$(1): tests/fuzz/$(1).c $(call fuzz_srcs,$(1)) $(wildcard agent/*.h agent/*/*.h cni/*.h) include/podwall/abi.h | $(BUILD)/podwall.skel.h
	$$(call msg,FUZZ-CC,$$@)
	$(Q)mkdir -p $$(@D)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 $(FUZZ_FLAGS) $$(filter %.c,$$^) $(FUZZ_LIBS) -o $$@
endef
$(foreach t,$(FUZZ_NAMES),$(eval $(call fuzz_rule,$(t))))

.PHONY: fuzz fuzz-smoke
fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_NAMES))
fuzz-smoke: fuzz
	$(Q)bash scripts/fuzz-smoke.sh

# The README's test command: installs what it needs, builds, runs every suite,
# ends with "N passed, N failed" and fails if anything failed.
test: setup
	$(Q)$(MAKE) --no-print-directory all unit datapath
	$(Q)bash tests/run.sh

demo: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash scripts/demo.sh

bench: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash scripts/bench.sh

# The OCI image from Debian packages alone (mmdebstrap bases, podman build
# of deploy/Containerfile): localhost/podwall:<git describe> and :latest.
image: setup
	$(Q)bash scripts/image.sh

clean:
	$(Q)rm -rf $(BUILD) podwall podwall-cni

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
