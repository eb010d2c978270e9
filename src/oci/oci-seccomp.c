/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linux.seccomp with libseccomp: defaultAction, architectures, syscalls[] with args. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci-process.h"
#include "oci-config.h"
#include "strv.h"

static inline const char *str_or_empty(const char *s) {
        return s ?: "";
}

/* Sets *ret_error to fmt with arg and strerror(-r) (a literal format, checked), returns r. */
#define fail(ret_error, r, fmt, arg)                                                          \
        ({                                                                                    \
                int _r = (r);                                                                 \
                free(*(ret_error));                                                           \
                if (asprintf((ret_error), fmt, str_or_empty(arg), strerror(-_r)) < 0) \
                        *(ret_error) = NULL;                                                  \
                _r;                                                                           \
        })

static int action_to_libseccomp(OciSeccompAction a, bool has_errno, unsigned errno_ret, unsigned default_errno,
                                 uint32_t *ret) {
        unsigned e = has_errno ? errno_ret : default_errno;
        switch (a) {
        case OCI_SECCOMP_ALLOW: *ret = SCMP_ACT_ALLOW; return 0;
        case OCI_SECCOMP_ERRNO: *ret = SCMP_ACT_ERRNO(e); return 0;
        case OCI_SECCOMP_KILL:
        case OCI_SECCOMP_KILL_THREAD: *ret = SCMP_ACT_KILL_THREAD; return 0;
        case OCI_SECCOMP_KILL_PROCESS: *ret = SCMP_ACT_KILL_PROCESS; return 0;
        case OCI_SECCOMP_TRAP: *ret = SCMP_ACT_TRAP; return 0;
        case OCI_SECCOMP_TRACE: *ret = SCMP_ACT_TRACE(e); return 0;
        case OCI_SECCOMP_LOG: *ret = SCMP_ACT_LOG; return 0;
        default: return -EOPNOTSUPP;  /* SCMP_ACT_NOTIFY needs a listener berth-oci does not run */
        }
}

static int arch_parse(const char *name, uint32_t *ret) {
        /* "SCMP_ARCH_X86_64" -> "x86_64", the name libseccomp resolves. */
        const char *s = startswith(name, "SCMP_ARCH_");
        if (!s)
                return -EINVAL;
        char buf[32];
        size_t i;
        for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
                buf[i] = (char) (s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        buf[i] = 0;
        uint32_t a = seccomp_arch_resolve_name(buf);
        if (a == 0)
                return -EOPNOTSUPP;
        *ret = a;
        return 0;
}

static enum scmp_compare op_to_libseccomp(OciSeccompOp op) {
        static const enum scmp_compare table[_OCI_SECCOMP_OP_MAX] = {
                [OCI_SECCOMP_OP_NE] = SCMP_CMP_NE, [OCI_SECCOMP_OP_LT] = SCMP_CMP_LT,
                [OCI_SECCOMP_OP_LE] = SCMP_CMP_LE, [OCI_SECCOMP_OP_EQ] = SCMP_CMP_EQ,
                [OCI_SECCOMP_OP_GE] = SCMP_CMP_GE, [OCI_SECCOMP_OP_GT] = SCMP_CMP_GT,
                [OCI_SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
        };
        return table[op];
}

static int rule_add(scmp_filter_ctx ctx, const OciSyscallRule *rule, unsigned default_errno, char **ret_error) {
        uint32_t action;
        if (action_to_libseccomp(rule->action, rule->has_errno_ret, rule->errno_ret, default_errno, &action) < 0)
                return fail(ret_error, -EOPNOTSUPP, "Unsupported seccomp action %s%.0s",
                            oci_seccomp_action_to_string(rule->action));
        struct scmp_arg_cmp cmp[6] = {};
        unsigned n_cmp = 0;
        for (size_t i = 0; i < rule->n_args && n_cmp < 6; i++)
                cmp[n_cmp++] = (struct scmp_arg_cmp) {
                        .arg = rule->args[i].index,
                        .op = op_to_libseccomp(rule->args[i].op),
                        .datum_a = rule->args[i].value,
                        .datum_b = rule->args[i].value_two,
                };
        for (char **name = rule->names; name && *name; name++) {
                int nr = seccomp_syscall_resolve_name(*name);
                if (nr == __NR_SCMP_ERROR)
                        continue;  /* A system call this kernel or libseccomp does not know. */
                int r = seccomp_rule_add_array(ctx, action, nr, n_cmp, cmp);
                /* -EACCES/-EEXIST: the rule equals the default action or another rule. */
                if (r < 0 && r != -EACCES && r != -EEXIST && r != -EOPNOTSUPP)
                        return fail(ret_error, r, "Failed to add the seccomp rule for %s: %s", *name);
        }
        return 0;
}

int oci_seccomp_load(const OciSeccomp *seccomp, char **ret_error) {
        unsigned default_errno = seccomp->has_default_errno_ret ? seccomp->default_errno_ret : EPERM;
        uint32_t def;
        if (action_to_libseccomp(seccomp->default_action, seccomp->has_default_errno_ret, seccomp->default_errno_ret,
                                 EPERM, &def) < 0)
                return fail(ret_error, -EOPNOTSUPP, "Unsupported seccomp defaultAction %s%.0s",
                            oci_seccomp_action_to_string(seccomp->default_action));
        scmp_filter_ctx ctx = seccomp_init(def);
        if (!ctx)
                return fail(ret_error, -ENOMEM, "seccomp_init failed%s: %s", NULL);
        int r = 0;
        for (char **a = seccomp->architectures; a && *a; a++) {
                uint32_t arch;
                if (arch_parse(*a, &arch) < 0)
                        continue;
                r = seccomp_arch_add(ctx, arch);
                if (r < 0 && r != -EEXIST)
                        goto out;
                r = 0;
        }
        for (size_t i = 0; i < seccomp->n_syscalls && r >= 0; i++)
                r = rule_add(ctx, &seccomp->syscalls[i], default_errno, ret_error);
        if (r < 0)
                goto out;
        r = seccomp_load(ctx);
        if (r < 0)
                r = fail(ret_error, r, "Failed to load the seccomp filter%s: %s", NULL);
out:
        seccomp_release(ctx);
        return r;
}
