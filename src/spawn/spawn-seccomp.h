/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>

/* A named group of system calls, as systemd names them ("@mount"). `syscalls` is a
 * space-separated list of system call names and further "@group" names. */
typedef struct SyscallGroup {
        const char *name;
        const char *help;
        const char *syscalls;
} SyscallGroup;

extern const SyscallGroup syscall_groups[];
extern const size_t syscall_groups_n;

const SyscallGroup *syscall_group_find(const char *name);

/* What --system-call-filter= added on top of the default policy: `allow` are permitted
 * as well, `deny` (the "~LIST" form) are refused even where the default permits them. */
typedef struct SyscallFilter {
        char **allow;
        char **deny;
} SyscallFilter;

void syscall_filter_done(SyscallFilter *f);

/* Parses one --system-call-filter=[~]LIST (space- or comma-separated names and @groups) into f;
 * an empty value resets both lists. On an unknown name returns -EINVAL and points *ret_bad (a
 * static copy, valid until the next call) at it. */
int syscall_filter_parse(SyscallFilter *f, const char *arg, const char **ret_bad);

/* The names the container may call: nspawn's default allow list, the groups and calls tied to
 * the capabilities it keeps (`caps`, a mask of CAP_* bits), the filter's additions, minus its
 * deny list. Sorted, without duplicates or groups. */
int syscall_filter_resolve(const SyscallFilter *f, uint64_t caps, char ***ret);

/* Compiles the container's filter for every architecture this machine runs natively (on x86-64:
 * x86-64, x86 and x32) into a classic BPF program, which seccomp_program_install() loads later
 * (compiling happens while the supervisor sets up cgroups). On x86-64 the program is our own: per
 * architecture, two compares per run of consecutive allowed numbers (~260 instructions for the
 * default policy, where libseccomp makes ~1250, and the kernel translates every one on load);
 * elsewhere, or when the runs do not fit short jumps, libseccomp's. Everything not allowed fails
 * with EPERM. Returns -errno. */
typedef struct SeccompProgram {
        void *insns;          /* struct sock_filter[] */
        size_t n_insns;
} SeccompProgram;

int seccomp_program_build(const SyscallFilter *f, uint64_t caps, SeccompProgram *ret);
/* libseccomp's program for the resolved names: what seccomp_program_build() falls back to where
 * its own short program does not fit (and what the unit test compares it with). */
int seccomp_program_build_generic(char **names, SeccompProgram *ret);
/* A libseccomp filter (scmp_filter_ctx) compiled into a program. */
int seccomp_program_export(void *ctx, SeccompProgram *ret);
void seccomp_program_done(SeccompProgram *p);
/* Loads p into the calling thread: needs CAP_SYS_ADMIN or no_new_privs. No-op for an empty p. */
int seccomp_program_install(const SeccompProgram *p);

/* The default program, compiled at build time (gen-seccomp-default.c, libseccomp-default):
 * valid for a container without --system-call-filter= whose capabilities agree with the default
 * set on every capability the policy looks at. */
extern const struct sock_filter seccomp_default_insns[];
extern const size_t seccomp_default_n;

/* The capabilities that change the policy (CAP_SYS_TIME brings @clock, ...). */
uint64_t seccomp_policy_caps(void);
/* Whether the filter for f and caps is the build-time default program. */
bool seccomp_program_is_default(const SyscallFilter *f, uint64_t caps, uint64_t default_caps);
