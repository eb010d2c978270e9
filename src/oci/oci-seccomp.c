/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linux.seccomp with libseccomp: defaultAction, architectures, syscalls[] with args. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci-process.h"
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

static int action_parse(const char *name, json_object *errno_ret, uint32_t default_errno, uint32_t *ret) {
        uint32_t e = errno_ret ? (uint32_t) json_object_get_int(errno_ret) : default_errno;
        if (!name)
                return -EINVAL;
        if (streq(name, "SCMP_ACT_ALLOW"))
                *ret = SCMP_ACT_ALLOW;
        else if (streq(name, "SCMP_ACT_ERRNO"))
                *ret = SCMP_ACT_ERRNO(e);
        else if (streq(name, "SCMP_ACT_KILL") || streq(name, "SCMP_ACT_KILL_THREAD"))
                *ret = SCMP_ACT_KILL_THREAD;
        else if (streq(name, "SCMP_ACT_KILL_PROCESS"))
                *ret = SCMP_ACT_KILL_PROCESS;
        else if (streq(name, "SCMP_ACT_TRAP"))
                *ret = SCMP_ACT_TRAP;
        else if (streq(name, "SCMP_ACT_TRACE"))
                *ret = SCMP_ACT_TRACE(e);
        else if (streq(name, "SCMP_ACT_LOG"))
                *ret = SCMP_ACT_LOG;
        else
                return -EOPNOTSUPP;
        return 0;
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

static int op_parse(const char *name, enum scmp_compare *ret) {
        static const struct { const char *name; enum scmp_compare op; } table[] = {
                { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
                { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
                { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
        };
        for (size_t i = 0; name && i < ELEMENTSOF(table); i++)
                if (streq(table[i].name, name)) {
                        *ret = table[i].op;
                        return 0;
                }
        return -EINVAL;
}

static int rule_add(scmp_filter_ctx ctx, json_object *rule, uint32_t default_errno, char **ret_error) {
        json_object *v, *names, *args;
        uint32_t action;
        const char *aname = json_object_object_get_ex(rule, "action", &v) ? json_object_get_string(v) : NULL;
        if (!json_object_object_get_ex(rule, "errnoRet", &v))
                v = NULL;
        if (action_parse(aname, v, default_errno, &action) < 0)
                return fail(ret_error, -EOPNOTSUPP, "Unsupported seccomp action '%s'%.0s", aname);
        struct scmp_arg_cmp cmp[6] = {};
        unsigned n_cmp = 0;
        if (json_object_object_get_ex(rule, "args", &args) && json_object_is_type(args, json_type_array))
                for (size_t i = 0; i < json_object_array_length(args) && n_cmp < 6; i++) {
                        json_object *a = json_object_array_get_idx(args, i), *f;
                        enum scmp_compare op;
                        if (op_parse(json_object_object_get_ex(a, "op", &f) ? json_object_get_string(f) : NULL, &op) < 0)
                                return fail(ret_error, -EINVAL, "Bad seccomp argument operator%s%.0s", NULL);
                        cmp[n_cmp++] = (struct scmp_arg_cmp) {
                                .arg = json_object_object_get_ex(a, "index", &f) ? (unsigned) json_object_get_int(f) : 0,
                                .op = op,
                                .datum_a = json_object_object_get_ex(a, "value", &f) ? json_object_get_uint64(f) : 0,
                                .datum_b = json_object_object_get_ex(a, "valueTwo", &f) ? json_object_get_uint64(f) : 0,
                        };
                }
        if (!json_object_object_get_ex(rule, "names", &names) || !json_object_is_type(names, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(names); i++) {
                const char *name = json_object_get_string(json_object_array_get_idx(names, i));
                int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
                if (nr == __NR_SCMP_ERROR)
                        continue;  /* A system call this kernel or libseccomp does not know. */
                int r = seccomp_rule_add_array(ctx, action, nr, n_cmp, cmp);
                /* -EACCES/-EEXIST: the rule equals the default action or another rule. */
                if (r < 0 && r != -EACCES && r != -EEXIST && r != -EOPNOTSUPP)
                        return fail(ret_error, r, "Failed to add the seccomp rule for %s: %s", name);
        }
        return 0;
}

int oci_seccomp_load(json_object *seccomp, char **ret_error) {
        json_object *v, *list;
        uint32_t def;
        const char *dname = json_object_object_get_ex(seccomp, "defaultAction", &v) ? json_object_get_string(v) : NULL;
        if (!json_object_object_get_ex(seccomp, "defaultErrnoRet", &v))
                v = NULL;
        if (action_parse(dname, v, EPERM, &def) < 0)
                return fail(ret_error, -EOPNOTSUPP, "Unsupported seccomp defaultAction '%s'%.0s", dname);
        uint32_t default_errno = v ? (uint32_t) json_object_get_int(v) : EPERM;
        scmp_filter_ctx ctx = seccomp_init(def);
        if (!ctx)
                return fail(ret_error, -ENOMEM, "seccomp_init failed%s: %s", NULL);
        int r = 0;
        if (json_object_object_get_ex(seccomp, "architectures", &list) && json_object_is_type(list, json_type_array))
                for (size_t i = 0; i < json_object_array_length(list); i++) {
                        uint32_t arch;
                        if (arch_parse(json_object_get_string(json_object_array_get_idx(list, i)), &arch) < 0)
                                continue;
                        r = seccomp_arch_add(ctx, arch);
                        if (r < 0 && r != -EEXIST)
                                goto out;
                        r = 0;
                }
        if (json_object_object_get_ex(seccomp, "syscalls", &list) && json_object_is_type(list, json_type_array))
                for (size_t i = 0; i < json_object_array_length(list) && r >= 0; i++)
                        r = rule_add(ctx, json_object_array_get_idx(list, i), default_errno, ret_error);
        if (r < 0)
                goto out;
        r = seccomp_load(ctx);
        if (r < 0)
                r = fail(ret_error, r, "Failed to load the seccomp filter%s: %s", NULL);
out:
        seccomp_release(ctx);
        return r;
}
