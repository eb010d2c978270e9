/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "spawn-devices.h"

void device_policy_done(DevicePolicy *p) {
        free(p->rules);
        *p = (DevicePolicy) {};
}

int device_policy_add(DevicePolicy *p, const DeviceRule *r) {
        DeviceRule *a = realloc(p->rules, sizeof(DeviceRule) * (p->n_rules + 1));
        if (!a)
                return -ENOMEM;
        a[p->n_rules++] = *r;
        p->rules = a;
        return 0;
}

static int parse_access(const char *s, unsigned *ret) {
        unsigned a = 0;
        if (isempty(s)) {
                *ret = DEVICE_ACCESS_ALL;
                return 0;
        }
        for (; *s; s++)
                switch (*s) {
                case 'r': a |= DEVICE_ACCESS_READ; break;
                case 'w': a |= DEVICE_ACCESS_WRITE; break;
                case 'm': a |= DEVICE_ACCESS_MKNOD; break;
                default: return -EINVAL;
                }
        *ret = a;
        return 0;
}

/* "char-pts": the major numbers /proc/devices lists under that name. Only the first: the
 * kernel registers a name under several majors only for pts (136..143), which we allow whole. */
static int class_major(const char *proc_devices, char type, const char *name, int *ret) {
        _cleanup_free_ char *own = NULL;
        bool in_section = false;
        int r;

        if (!proc_devices) {
                r = read_file_at(AT_FDCWD, "/proc/devices", 64 * 1024, &own, NULL);
                if (r < 0)
                        return r;
                proc_devices = own;
        }
        for (const char *l = proc_devices; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                if (strneq(l, "Character devices:", 18) || strneq(l, "Block devices:", 14)) {
                        in_section = (type == 'c') == (l[0] == 'C');
                        continue;
                }
                unsigned major;
                char n[64];
                if (!in_section || sscanf(l, " %u %63s", &major, n) != 2)
                        continue;
                if (streq(n, name)) {
                        *ret = (int) major;
                        return 0;
                }
        }
        return -ENOENT;
}

int device_rule_parse(const char *spec, const char *proc_devices, DeviceRule *ret) {
        DeviceRule rule = { .major = -1, .minor = -1 };
        const char *sp = strchr(spec, ' ');
        int r;

        _cleanup_free_ char *node = sp ? strndup(spec, (size_t) (sp - spec)) : strdup(spec);
        if (!node)
                return -ENOMEM;
        r = parse_access(sp ? sp + strspn(sp, " ") : NULL, &rule.access);
        if (r < 0 || isempty(node))
                return -EINVAL;

        const char *cls;
        if ((cls = startswith(node, "char-")) || (cls = startswith(node, "block-"))) {
                rule.type = node[0] == 'c' ? 'c' : 'b';
                if (isempty(cls))
                        return -EINVAL;
                r = class_major(proc_devices, rule.type, cls, &rule.major);
                if (r < 0)
                        return r;
        } else if (startswith(node, "/dev/")) {
                struct stat st;
                if (stat(node, &st) < 0)
                        return -errno;
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        return -ENODEV;
                rule.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
                rule.major = (int) major(st.st_rdev);
                rule.minor = (int) minor(st.st_rdev);
        } else
                return -EINVAL;
        *ret = rule;
        return 0;
}

int device_policy_build(bool tun, bool fuse, const DevicePolicy *extra, DevicePolicy *ret) {
        static const DeviceRule base[] = {
                { 'c', 1, 3, DEVICE_ACCESS_ALL },  /* null */
                { 'c', 1, 5, DEVICE_ACCESS_ALL },  /* zero */
                { 'c', 1, 7, DEVICE_ACCESS_ALL },  /* full */
                { 'c', 1, 8, DEVICE_ACCESS_ALL },  /* random */
                { 'c', 1, 9, DEVICE_ACCESS_ALL },  /* urandom */
                { 'c', 5, 0, DEVICE_ACCESS_ALL },  /* tty */
                { 'c', 5, 1, DEVICE_ACCESS_ALL },  /* console */
                { 'c', 5, 2, DEVICE_ACCESS_ALL },  /* ptmx */
                /* Every pts (the console is one of the host's): majors 136..143. */
                { 'c', 136, -1, DEVICE_ACCESS_ALL }, { 'c', 137, -1, DEVICE_ACCESS_ALL },
                { 'c', 138, -1, DEVICE_ACCESS_ALL }, { 'c', 139, -1, DEVICE_ACCESS_ALL },
                { 'c', 140, -1, DEVICE_ACCESS_ALL }, { 'c', 141, -1, DEVICE_ACCESS_ALL },
                { 'c', 142, -1, DEVICE_ACCESS_ALL }, { 'c', 143, -1, DEVICE_ACCESS_ALL },
        };
        static const DeviceRule tun_rule = { 'c', 10, 200, DEVICE_ACCESS_ALL };
        static const DeviceRule fuse_rule = { 'c', 10, 229, DEVICE_ACCESS_ALL };
        _cleanup_(device_policy_done) DevicePolicy p = {};
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(base); i++)
                r = device_policy_add(&p, base + i);
        if (r >= 0 && tun)
                r = device_policy_add(&p, &tun_rule);
        if (r >= 0 && fuse)
                r = device_policy_add(&p, &fuse_rule);
        for (size_t i = 0; r >= 0 && extra && i < extra->n_rules; i++)
                r = device_policy_add(&p, extra->rules + i);
        if (r < 0)
                return r;
        *ret = p;
        p = (DevicePolicy) {};
        return 0;
}

const char *device_rule_to_string(const DeviceRule *r, char buf[static 32]) {
        char maj[12] = "*", min[12] = "*", acc[4] = "";
        size_t n = 0;

        if (r->major >= 0)
                snprintf(maj, sizeof(maj), "%i", r->major);
        if (r->minor >= 0)
                snprintf(min, sizeof(min), "%i", r->minor);
        if (r->access & DEVICE_ACCESS_READ)
                acc[n++] = 'r';
        if (r->access & DEVICE_ACCESS_WRITE)
                acc[n++] = 'w';
        if (r->access & DEVICE_ACCESS_MKNOD)
                acc[n++] = 'm';
        acc[n] = 0;
        snprintf(buf, 32, "%c %s:%s %s", r->type, maj, min, acc);
        return buf;
}

int device_policy_apply_v1(const CGroupHierarchy *h, const char *path, const DevicePolicy *p) {
        char buf[32];
        int r;

        r = cg_write(h, path, "devices.deny", "a");
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_rules; i++) {
                r = cg_write(h, path, "devices.allow", device_rule_to_string(p->rules + i, buf));
                if (r < 0)
                        return r;
        }
        return 0;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

int device_bpf_program_build(const DevicePolicy *p, void **ret_insns, size_t *ret_n) {
        /* The prologue (6), per rule at most 8, the final deny (2). */
        size_t max = 8 + p->n_rules * 8, n = 0;
        _cleanup_free_ struct bpf_insn *prog = calloc(max, sizeof(struct bpf_insn));
        if (!prog)
                return -ENOMEM;

        /* r1 points at struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, the
         * access bits (BPF_DEVCG_ACC_*) in the upper half of access_type, the type below. */
        prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
        prog[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);   /* r2 = type */
        prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
        prog[n++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);      /* r3 = access */
        prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0); /* r4 = major */
        prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0); /* r5 = minor */

        for (size_t i = 0; i < p->n_rules; i++) {
                const DeviceRule *r = p->rules + i;
                /* Our bits: r=1 w=2 m=4; the kernel's: mknod=1 read=2 write=4. */
                int acc = ((r->access & DEVICE_ACCESS_MKNOD) ? BPF_DEVCG_ACC_MKNOD : 0) |
                          ((r->access & DEVICE_ACCESS_READ) ? BPF_DEVCG_ACC_READ : 0) |
                          ((r->access & DEVICE_ACCESS_WRITE) ? BPF_DEVCG_ACC_WRITE : 0);
                size_t jumps[4], n_jumps = 0;

                /* Each check jumps to the next rule when it does not match. */
                jumps[n_jumps++] = n;
                prog[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
                prog[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_3, 0, 0);
                prog[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_0, 0, 0, ~acc & 7);
                jumps[n_jumps++] = n;
                prog[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0);
                if (r->major >= 0) {
                        jumps[n_jumps++] = n;
                        prog[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, r->major);
                }
                if (r->minor >= 0) {
                        jumps[n_jumps++] = n;
                        prog[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, r->minor);
                }
                prog[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
                prog[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
                for (size_t j = 0; j < n_jumps; j++)
                        prog[jumps[j]].off = (short) (n - jumps[j] - 1);
                        }
        prog[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
        prog[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        *ret_insns = TAKE_PTR(prog);
        *ret_n = n;
        return 0;
}

int device_policy_attach_bpf(int dir_fd, const DevicePolicy *p) {
        _cleanup_free_ void *insns = NULL;
        size_t n;
        int r;

        r = device_bpf_program_build(p, &insns, &n);
        if (r < 0)
                return r;

        union bpf_attr load = {
                .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
                .insns = (uint64_t) (uintptr_t) insns,
                .insn_cnt = (uint32_t) n,
                .license = (uint64_t) (uintptr_t) "GPL",
        };
        _cleanup_close_ int prog_fd = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
        if (prog_fd < 0)
                return -errno;

        /* ALLOW_MULTI: programs attached further down (a nested manager) only narrow ours. */
        union bpf_attr attach = {
                .target_fd = (uint32_t) dir_fd,
                .attach_bpf_fd = (uint32_t) prog_fd,
                .attach_type = BPF_CGROUP_DEVICE,
                .attach_flags = BPF_F_ALLOW_MULTI,
        };
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) < 0)
                return -errno;
        /* The attachment keeps the program alive as long as the cgroup exists. */
        return 0;
}
