/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parsers and pure builders of issue 10: syscall filter lists, capability names, rlimits,
 * CPU sets, personalities, device rules and the BPF device program (run by a small interpreter
 * here, so the allow/deny decisions are checked without privileges). */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "macro.h"
#include "spawn-isolation.h"
#include "strv.h"
#include "tap.h"

static bool allowed(char **names, const char *n) {
        return strv_contains(names, n);
}

/* Classic BPF as seccomp runs it, for the instructions our programs and libseccomp's use. */
static uint32_t run_cbpf(const struct sock_filter *p, size_t n, uint32_t arch, uint32_t nr) {
        uint32_t data[16] = { nr, arch }, a = 0;
        for (size_t pc = 0; pc < n; pc++) {
                const struct sock_filter *i = p + pc;
                switch (i->code) {
                case BPF_LD | BPF_W | BPF_ABS: a = i->k < sizeof(data) ? data[i->k / 4] : 0; break;
                case BPF_JMP | BPF_JA: pc += i->k; break;
                case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i->k ? i->jt : i->jf; break;
                case BPF_JMP | BPF_JGT | BPF_K: pc += a > i->k ? i->jt : i->jf; break;
                case BPF_JMP | BPF_JGE | BPF_K: pc += a >= i->k ? i->jt : i->jf; break;
                case BPF_JMP | BPF_JSET | BPF_K: pc += (a & i->k) ? i->jt : i->jf; break;
                case BPF_ALU | BPF_AND | BPF_K: a &= i->k; break;
                case BPF_RET | BPF_K: return i->k;
                default: return 0xdeadbeef;
                }
        }
        return 0xdeadbeef;
}

/* Our short program decides every number of every architecture as libseccomp's does. */
static void check_same_decisions(const SeccompProgram *ours, const SeccompProgram *theirs) {
        static const uint32_t archs[] = { 0xc000003e /* x86-64 */, 0x40000003 /* i386 */, 0xc00000b7 /* aarch64 */ };
        size_t differ = 0, unknown = 0;
        for (size_t a = 0; a < ELEMENTSOF(archs); a++)
                for (uint32_t base = 0; base <= 0x40000000; base += 0x40000000)
                        for (uint32_t nr = base; nr < base + 1100; nr++) {
                                uint32_t x = run_cbpf(ours->insns, ours->n_insns, archs[a], nr);
                                uint32_t y = run_cbpf(theirs->insns, theirs->n_insns, archs[a], nr);
                                unknown += x == 0xdeadbeef || y == 0xdeadbeef;
                                if (x != y && differ++ < 5)
                                        printf("# arch %#x nr %#x: ours %#x libseccomp %#x\n", archs[a], nr, x, y);
                        }
        CHECK(unknown == 0);
        CHECK(differ == 0);
}

static void test_syscall_filter(void) {
        SyscallFilter f = {};
        const char *bad = NULL;
        _cleanup_strv_free_ char **def = NULL, **more = NULL, **mod = NULL;

        CHECK(syscall_filter_parse(&f, "@keyring sethostname", &bad) == 0);
        CHECK(syscall_filter_parse(&f, "~@clock,uname", &bad) == 0);
        CHECK(strv_length(f.allow) == 2 && strv_length(f.deny) == 2);
        CHECK(syscall_filter_parse(&f, "nosuchcall", &bad) == -EINVAL);
        CHECK_STREQ(bad, "nosuchcall");
        CHECK(syscall_filter_parse(&f, "~@nosuchgroup", &bad) == -EINVAL);
        CHECK_STREQ(bad, "@nosuchgroup");

        /* nspawn's default: the dangerous calls are out, the everyday ones in. */
        CHECK(syscall_filter_resolve(NULL, capability_container_set(false), &def) == 0);
        static const char *const out[] = {
                "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
                "open_by_handle_at", "swapon", "swapoff", "bpf", "perf_event_open", "keyctl",
                "add_key", "request_key", "settimeofday", "quotactl", "fanotify_init", "acct",
                "syslog", "iopl", "ioperm", "lookup_dcookie", "@keyring",
        };
        for (size_t i = 0; i < ELEMENTSOF(out); i++)
                CHECK(!allowed(def, out[i]));
        static const char *const in[] = {
                "read", "openat", "mount", "clone3", "execve", "reboot", "ptrace", "setns",
                "unshare", "name_to_handle_at", "sethostname", "ioctl", "prctl", "capset",
        };
        for (size_t i = 0; i < ELEMENTSOF(in); i++)
                CHECK(allowed(def, in[i]));

        CHECK(syscall_filter_resolve(&f, capability_container_set(false), &more) == 0);
        CHECK(allowed(more, "keyctl") && allowed(more, "add_key"));
        CHECK(!allowed(more, "uname") && !allowed(more, "clock_settime"));

        /* Capabilities bring their groups: CAP_SYS_MODULE brings @module. */
        CHECK(syscall_filter_resolve(NULL, capability_container_set(false) | (UINT64_C(1) << CAP_SYS_MODULE), &mod) == 0);
        CHECK(allowed(mod, "init_module") && !allowed(def, "init_module"));

        syscall_filter_parse(&f, "", NULL);
        CHECK(!f.allow && !f.deny);

        SeccompProgram p = {}, generic = {};
        CHECK(seccomp_program_build(NULL, capability_container_set(false), &p) == 0);
        CHECK(p.insns && p.n_insns > 50 && p.n_insns < 4096);
        printf("# default program: %zu instructions\n", p.n_insns);
        CHECK(seccomp_program_build_generic(def, &generic) == 0);
        check_same_decisions(&p, &generic);
        seccomp_program_done(&generic);
        CHECK(seccomp_program_build_generic(more, &generic) == 0);
        SeccompProgram p2 = {};
        SyscallFilter h = {};
        CHECK(syscall_filter_parse(&h, "@keyring sethostname", NULL) == 0 && syscall_filter_parse(&h, "~@clock,uname", NULL) == 0);
        CHECK(seccomp_program_build(&h, capability_container_set(false), &p2) == 0);
        syscall_filter_done(&h);
        check_same_decisions(&p2, &generic);
        seccomp_program_done(&p2);
        seccomp_program_done(&generic);
        /* The program compiled at build time is the one libseccomp makes now. */
        CHECK(p.n_insns == seccomp_default_n &&
              memcmp(p.insns, seccomp_default_insns, p.n_insns * sizeof(struct sock_filter)) == 0);
        seccomp_program_done(&p);

        uint64_t d = capability_container_set(false);
        CHECK(seccomp_program_is_default(NULL, d, d));
        CHECK(seccomp_program_is_default(NULL, capability_container_set(true), d)); /* NET_ADMIN: no syscalls */
        CHECK(!seccomp_program_is_default(NULL, d | (UINT64_C(1) << CAP_SYS_TIME), d));
        CHECK(!seccomp_program_is_default(NULL, d & ~(UINT64_C(1) << CAP_SYS_PTRACE), d));
        CHECK(!seccomp_program_is_default(&f, d, d) || (!f.allow && !f.deny));
        SyscallFilter g = {};
        CHECK(syscall_filter_parse(&g, "~uname", NULL) == 0 && !seccomp_program_is_default(&g, d, d));
        syscall_filter_done(&g);
}

static void test_capabilities(void) {
        uint64_t m = 0;
        const char *bad = NULL;

        CHECK(capability_from_name("CAP_SYS_ADMIN") == CAP_SYS_ADMIN);
        CHECK(capability_from_name("sys_admin") == CAP_SYS_ADMIN);
        CHECK(capability_from_name("cap_net_admin") == CAP_NET_ADMIN);
        CHECK(capability_from_name("CAP_CHECKPOINT_RESTORE") == 40);
        CHECK(capability_from_name("CAP_BOGUS") == -EINVAL);
        CHECK_STREQ(capability_to_name(CAP_MKNOD), "cap_mknod");
        for (int c = 0; c <= capability_last_known(); c++)
                CHECK(capability_from_name(capability_to_name(c)) == c);

        CHECK(capability_mask_parse("CAP_SYS_TIME,CAP_NET_ADMIN", &m, &bad) == 0);
        CHECK(m == ((UINT64_C(1) << CAP_SYS_TIME) | (UINT64_C(1) << CAP_NET_ADMIN)));
        CHECK(capability_mask_parse("all", &m, &bad) == 0 && m == (UINT64_C(1) << 41) - 1);
        CHECK(capability_mask_parse("CAP_CHOWN CAP_NOPE", &m, &bad) == -EINVAL);
        CHECK_STREQ(bad, "CAP_NOPE");

        CapabilityOptions o = { .add = UINT64_C(1) << CAP_SYS_TIME, .drop = UINT64_C(1) << CAP_SYS_ADMIN };
        uint64_t b = capability_options_bounding(&o, false);
        CHECK((b & (UINT64_C(1) << CAP_SYS_TIME)) && !(b & (UINT64_C(1) << CAP_SYS_ADMIN)));
        CHECK(b & (UINT64_C(1) << CAP_CHOWN));
        CHECK(!(capability_options_bounding(&(CapabilityOptions) {}, false) & (UINT64_C(1) << CAP_NET_ADMIN)));
        CHECK(capability_options_bounding(&(CapabilityOptions) {}, true) & (UINT64_C(1) << CAP_NET_ADMIN));

        IsolationOptions io;
        isolation_options_init(&io);
        io.caps.ambient = UINT64_C(1) << CAP_SYS_TIME;
        CHECK(isolation_options_verify(&io, false) == -EINVAL);
        io.caps.add = io.caps.ambient;
        CHECK(isolation_options_verify(&io, false) == 0);
        isolation_options_done(&io);
}

static void test_process_options(void) {
        struct rlimit rl;
        int res;
        cpu_set_t set;
        unsigned long pers;

        CHECK(rlimit_parse("NOFILE=1024:4096", &res, &rl) == 0);
        CHECK(res == RLIMIT_NOFILE && rl.rlim_cur == 1024 && rl.rlim_max == 4096);
        CHECK(rlimit_parse("RLIMIT_CORE=infinity", &res, &rl) == 0);
        CHECK(res == RLIMIT_CORE && rl.rlim_cur == RLIM_INFINITY && rl.rlim_max == RLIM_INFINITY);
        CHECK(rlimit_parse("nproc=10", &res, &rl) == 0 && rl.rlim_cur == 10 && rl.rlim_max == 10);
        CHECK(rlimit_parse("MEMLOCK=5:infinity", &res, &rl) == 0 && rl.rlim_max == RLIM_INFINITY);
        CHECK(rlimit_parse("NOFILE=10:5", &res, &rl) == -ERANGE);
        CHECK(rlimit_parse("NOFILE=infinity:5", &res, &rl) == -ERANGE);
        CHECK(rlimit_parse("BOGUS=1", &res, &rl) == -EINVAL);
        CHECK(rlimit_parse("NOFILE", &res, &rl) == -EINVAL);
        CHECK(rlimit_parse("NOFILE=-1", &res, &rl) == -EINVAL);
        CHECK(rlimit_parse("NOFILE=ten", &res, &rl) == -EINVAL);

        CHECK(cpu_set_parse("0-2,5", &set) == 0);
        CHECK(CPU_COUNT(&set) == 4 && CPU_ISSET(5, &set) && !CPU_ISSET(3, &set));
        CHECK(cpu_set_parse("1 3", &set) == 0 && CPU_COUNT(&set) == 2);
        CHECK(cpu_set_parse("3-1", &set) < 0);
        CHECK(cpu_set_parse("", &set) < 0);
        CHECK(cpu_set_parse("x", &set) < 0);
        CHECK(cpu_set_parse("99999", &set) < 0);

#if defined(__x86_64__)
        CHECK(personality_parse("x86", &pers) == 0 && pers == PER_LINUX32);
        CHECK(personality_parse("x86-64", &pers) == 0 && pers == PER_LINUX);
#endif
        CHECK(personality_parse("sparc", &pers) == -EINVAL);

        IsolationOptions o;
        isolation_options_init(&o);
        CHECK(isolation_parse_option(&o, ARG_OOM_SCORE_ADJUST, "-500") == 1 && o.oom_score_adjust == -500);
        CHECK(isolation_parse_option(&o, ARG_OOM_SCORE_ADJUST, "1001") < 0);
        CHECK(isolation_parse_option(&o, ARG_RLIMIT, "NOFILE=1:2") == 1 && (o.rlimits_set & (1u << RLIMIT_NOFILE)));
        CHECK(isolation_parse_option(&o, ARG_RLIMIT, "NOFILE=") < 0);
        CHECK(isolation_parse_option(&o, ARG_NO_NEW_PRIVILEGES, "yes") == 1 && o.no_new_privileges);
        CHECK(isolation_parse_option(&o, ARG_CAPABILITY, "CAP_BOGUS") < 0);
        CHECK(isolation_parse_option(&o, ARG_DROP_CAPABILITY, "CAP_SYS_ADMIN") == 1);
        CHECK(isolation_parse_option(&o, ARG_SYSTEM_CALL_FILTER, "~bogus_call") < 0);
        CHECK(isolation_parse_option(&o, ARG_PERSONALITY, "x86") == 1);
        CHECK(isolation_parse_option(&o, ARG_CPU_AFFINITY, "0") == 1 && o.cpu_affinity_set);
        CHECK(isolation_parse_property(&o, "MemoryMax=1G") == -EOPNOTSUPP);
        CHECK(isolation_parse_property(&o, "DeviceAllow=/dev/null rw") == 0 && o.device_allow.n_rules == 1);
        CHECK(isolation_parse_property(&o, "DeviceAllow=/nonexistent") < 0);
        isolation_options_done(&o);
}

/* The subset of eBPF device_bpf_program_build() emits. Returns the program's r0. */
static long run_bpf(const struct bpf_insn *p, size_t n, uint32_t ctx[3]) {
        uint64_t r[11] = {};
        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = p + pc;
                switch (i->code) {
                case BPF_LDX | BPF_W | BPF_MEM: r[i->dst_reg] = ctx[i->off / 4]; break;
                case BPF_ALU64 | BPF_AND | BPF_K: r[i->dst_reg] &= (uint64_t) (int64_t) i->imm; break;
                case BPF_ALU64 | BPF_RSH | BPF_K: r[i->dst_reg] >>= i->imm; break;
                case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = (uint64_t) (int64_t) i->imm; break;
                case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
                case BPF_JMP | BPF_JNE | BPF_K:
                        if (r[i->dst_reg] != (uint64_t) (int64_t) i->imm)
                                pc += (size_t) i->off;
                        break;
                case BPF_JMP | BPF_EXIT: return (long) r[0];
                default: return -1;
                }
        }
        return -2;
}

static long dev_check(const void *prog, size_t n, char type, unsigned maj, unsigned min, unsigned acc) {
        uint32_t ctx[3] = { (acc << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK), maj, min };
        return run_bpf(prog, n, ctx);
}

static void test_devices(void) {
        static const char proc_devices[] =
                "Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n 10 misc\n\n"
                "Block devices:\n  7 loop\n  8 sd\n";
        DeviceRule r;
        char buf[32];

        CHECK(device_rule_parse("char-pts rw", proc_devices, &r) == 0);
        CHECK(r.type == 'c' && r.major == 136 && r.minor == -1 && r.access == (DEVICE_ACCESS_READ | DEVICE_ACCESS_WRITE));
        CHECK_STREQ(device_rule_to_string(&r, buf), "c 136:* rw");
        CHECK(device_rule_parse("block-loop", proc_devices, &r) == 0 && r.type == 'b' && r.major == 7 && r.access == DEVICE_ACCESS_ALL);
        CHECK(device_rule_parse("block-pts", proc_devices, &r) == -ENOENT);
        CHECK(device_rule_parse("/dev/null r", proc_devices, &r) == 0 && r.major == 1 && r.minor == 3);
        CHECK_STREQ(device_rule_to_string(&r, buf), "c 1:3 r");
        CHECK(device_rule_parse("/dev/null x", proc_devices, &r) == -EINVAL);
        CHECK(device_rule_parse("null", proc_devices, &r) == -EINVAL);
        CHECK(device_rule_parse("/dev/nonexistent-berth", proc_devices, &r) == -ENOENT);

        DevicePolicy extra = {}, p = {};
        DeviceRule loop0 = { 'b', 7, 0, DEVICE_ACCESS_READ };
        CHECK(device_policy_add(&extra, &loop0) == 0);
        CHECK(device_policy_build(true, false, &extra, &p) == 0);

        void *prog = NULL;
        size_t n = 0;
        CHECK(device_bpf_program_build(&p, &prog, &n) == 0 && n > 8);
        /* access bits of the kernel: mknod 1, read 2, write 4 */
        CHECK(dev_check(prog, n, 'c', 1, 3, 2 | 4) == 1);       /* /dev/null rw */
        CHECK(dev_check(prog, n, 'c', 1, 3, 1) == 1);           /* mknod null */
        CHECK(dev_check(prog, n, 'c', 136, 7, 2 | 4) == 1);     /* a pts */
        CHECK(dev_check(prog, n, 'c', 10, 200, 2 | 4) == 1);    /* tun */
        CHECK(dev_check(prog, n, 'c', 10, 229, 2) == 0);        /* fuse: not on this "host" */
        CHECK(dev_check(prog, n, 'c', 1, 11, 4) == 0);          /* /dev/kmsg */
        CHECK(dev_check(prog, n, 'c', 1, 1, 2) == 0);           /* /dev/mem */
        CHECK(dev_check(prog, n, 'b', 8, 0, 2) == 0);           /* sda */
        CHECK(dev_check(prog, n, 'b', 7, 0, 2) == 1);           /* loop0 r: DeviceAllow */
        CHECK(dev_check(prog, n, 'b', 7, 0, 4) == 0);           /* loop0 w: not allowed */
        CHECK(dev_check(prog, n, 'b', 1, 3, 2) == 0);           /* block 1:3 is not null */
        free(prog);
        device_policy_done(&p);
        device_policy_done(&extra);
}

int main(void) {
        test_syscall_filter();
        test_capabilities();
        test_process_options();
        test_devices();
        return tap_finish();
}
