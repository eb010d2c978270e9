/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linux.seccomp of config.json compiled with libseccomp, with runc's reading of it: names the
 * architectures or this libseccomp do not know are skipped, a rule whose action is the default
 * action is left out (libseccomp refuses it), conditions on distinct arguments are ANDed in one
 * rule, several on the same argument make one rule each (ORed). */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "spawn-oci.h"
#include "strv.h"

static int action_of(OciSeccompAction a, bool has_errno, unsigned errno_ret, uint32_t *ret) {
        switch (a) {
        case OCI_SECCOMP_KILL:
        case OCI_SECCOMP_KILL_THREAD:
                *ret = SCMP_ACT_KILL_THREAD;
                return 0;
        case OCI_SECCOMP_KILL_PROCESS:
                *ret = SCMP_ACT_KILL_PROCESS;
                return 0;
        case OCI_SECCOMP_TRAP:
                *ret = SCMP_ACT_TRAP;
                return 0;
        case OCI_SECCOMP_ERRNO:
                *ret = SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
                return 0;
        case OCI_SECCOMP_TRACE:
                *ret = SCMP_ACT_TRACE(has_errno ? errno_ret : EPERM);
                return 0;
        case OCI_SECCOMP_ALLOW:
                *ret = SCMP_ACT_ALLOW;
                return 0;
        case OCI_SECCOMP_LOG:
                *ret = SCMP_ACT_LOG;
                return 0;
        default:
                /* SCMP_ACT_NOTIFY needs a listener socket handed to the engine. */
                return -EOPNOTSUPP;
        }
}

static const enum scmp_compare ops[_OCI_SECCOMP_OP_MAX] = {
        [OCI_SECCOMP_OP_NE] = SCMP_CMP_NE, [OCI_SECCOMP_OP_LT] = SCMP_CMP_LT, [OCI_SECCOMP_OP_LE] = SCMP_CMP_LE,
        [OCI_SECCOMP_OP_EQ] = SCMP_CMP_EQ, [OCI_SECCOMP_OP_GE] = SCMP_CMP_GE, [OCI_SECCOMP_OP_GT] = SCMP_CMP_GT,
        [OCI_SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static int rule_add(scmp_filter_ctx ctx, uint32_t action, int nr, const OciSyscallRule *rule) {
        struct scmp_arg_cmp cmp[6];
        bool repeated = false;
        unsigned seen = 0;

        if (rule->n_args == 0)
                return seccomp_rule_add(ctx, action, nr, 0);
        for (size_t i = 0; i < rule->n_args; i++) {
                repeated = repeated || (seen & (1U << rule->args[i].index));
                seen |= 1U << rule->args[i].index;
        }
        for (size_t i = 0; i < rule->n_args; i++) {
                const OciSeccompArg *a = rule->args + i;
                struct scmp_arg_cmp x = { .arg = a->index, .op = ops[a->op], .datum_a = a->value, .datum_b = a->value_two };
                if (repeated) {
                        int r = seccomp_rule_add_array(ctx, action, nr, 1, &x);
                        if (r < 0)
                                return r;
                } else
                        cmp[i] = x;
        }
        return repeated ? 0 : seccomp_rule_add_array(ctx, action, nr, (unsigned) rule->n_args, cmp);
}

static int filter_fill(scmp_filter_ctx ctx, const OciSeccomp *s, uint32_t default_action) {
        int r;

        for (char **f = s->flags; f && *f; f++)
                log_debug("Ignoring seccomp flag %s.", *f);
        for (char **a = s->architectures; a && *a; a++) {
                const char *name = startswith(*a, "SCMP_ARCH_");
                _cleanup_free_ char *lower = strdup(name ?: *a);
                if (!lower)
                        return log_oom();
                for (char *p = lower; *p; p++)
                        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
                uint32_t arch = seccomp_arch_resolve_name(lower);
                if (arch == 0) {
                        log_debug("Ignoring unknown seccomp architecture %s.", *a);
                        continue;
                }
                r = seccomp_arch_add(ctx, arch);
                if (r < 0 && r != -EEXIST)
                        return log_error_errno(r, "Failed to add seccomp architecture %s: %m", *a);
        }
        for (size_t i = 0; i < s->n_syscalls; i++) {
                const OciSyscallRule *rule = s->syscalls + i;
                uint32_t action;
                if (action_of(rule->action, rule->has_errno_ret, rule->errno_ret, &action) < 0)
                        return log_error_errno(EOPNOTSUPP, "linux.seccomp: action %s is not supported.",
                                               oci_seccomp_action_to_string(rule->action));
                if (action == default_action)
                        continue;
                for (char **n = rule->names; *n; n++) {
                        int nr = seccomp_syscall_resolve_name(*n);
                        if (nr == __NR_SCMP_ERROR) {
                                log_debug("Ignoring unknown system call %s in linux.seccomp.", *n);
                                continue;
                        }
                        r = rule_add(ctx, action, nr, rule);
                        if (r < 0 && r != -EEXIST)
                                return log_error_errno(r, "Failed to add the seccomp rule for %s: %m", *n);
                }
        }
        return 0;
}

int spawn_oci_seccomp_build(const OciSeccomp *s, SeccompProgram *ret) {
        uint32_t default_action;
        int r;

        if (action_of(s->default_action, s->has_default_errno_ret, s->default_errno_ret, &default_action) < 0)
                return log_error_errno(EOPNOTSUPP, "linux.seccomp: default action %s is not supported.",
                                       oci_seccomp_action_to_string(s->default_action));
        scmp_filter_ctx ctx = seccomp_init(default_action);
        if (!ctx)
                return log_oom();
        /* Loaded as root before the user switch: no_new_privs stays the bundle's choice. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r >= 0)
                r = filter_fill(ctx, s, default_action);
        if (r >= 0) {
                r = seccomp_program_export(ctx, ret);
                if (r < 0)
                        log_error_errno(r, "Failed to compile linux.seccomp: %m");
        }
        seccomp_release(ctx);
        return r;
}
