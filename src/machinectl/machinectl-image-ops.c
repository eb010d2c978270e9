/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clone, rename, remove, read-only, set-limit, clean: org.freedesktop.machine1.Manager's image
 * methods, the same calls systemd's machinectl makes, so either works against either daemon. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-output.h"
#include "machinectl.h"
#include "parse-util.h"

/* Cloning and removing copy or delete whole trees: longer than sd-bus's 25 s default. */
#define IMAGE_OP_TIMEOUT_USEC (30ULL * 60 * 1000000ULL)

static int image_op(sd_bus *bus, const char *method, const char *name, const char *action, const char *types, ...) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        va_list ap;
        int r = sd_bus_message_new_method_call(bus, &m, MACHINE1_SERVICE, MACHINE1_PATH, MACHINE1_MANAGER, method);
        if (r >= 0) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to build the %s call: %m", method);
        r = sd_bus_call(bus, m, IMAGE_OP_TIMEOUT_USEC, &error, NULL);
        if (r < 0)
                return log_bus_error(r, &error, name, "%s image '%s'", action, name);
        return 0;
}

int verb_clone(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return image_op(bus, "CloneImage", args[1], "clone", "ssb", args[1], args[2], c->read_only);
}

int verb_rename(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return image_op(bus, "RenameImage", args[1], "rename", "ss", args[1], args[2]);
}

int verb_remove(sd_bus *bus, char **args, const MachinectlConfig *c) {
        int ret = 0;
        for (char **name = args + 1; *name; name++) {
                int r = image_op(bus, "RemoveImage", *name, "remove", "s", *name);
                ret = ret ?: r;
        }
        return ret;
}

int verb_read_only(sd_bus *bus, char **args, const MachinectlConfig *c) {
        int b = 1;
        if (args[2]) {
                b = parse_boolean(args[2]);
                if (b < 0)
                        return log_error_errno(b, "Failed to parse boolean '%s'.", args[2]);
        }
        return image_op(bus, "MarkImageReadOnly", args[1], b ? "mark read-only" : "mark writable", "sb", args[1], b);
}

/* "1G", "500M", "none"/"infinity" (no limit), plain bytes. */
static int parse_limit(const char *s, uint64_t *ret) {
        if (streq(s, "-") || streq(s, "none") || streq(s, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || s[0] == '-')
                return -EINVAL;
        static const struct { char suffix; unsigned shift; } units[] = {
                { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 }, { 'P', 50 },
        };
        unsigned shift = 0;
        if (*end) {
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (end[0] == units[i].suffix && (end[1] == '\0' || streq(end + 1, "B") || streq(end + 1, "iB"))) {
                                shift = units[i].shift;
                                known = true;
                        }
                if (!known)
                        return -EINVAL;
        }
        if (shift > 0 && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}

int verb_set_limit(sd_bus *bus, char **args, const MachinectlConfig *c) {
        const char *name = args[2] ? args[1] : NULL, *size = args[2] ?: args[1];
        uint64_t limit;
        if (parse_limit(size, &limit) < 0)
                return log_error_errno(EINVAL, "Invalid size '%s' (want bytes, with K, M, G, T or P, or 'none').", size);
        if (!name)
                return image_op(bus, "SetPoolLimit", "pool", "set the limit of the", "t", limit);
        return image_op(bus, "SetImageLimit", name, "set the limit of", "st", name, limit);
}

int verb_clean(sd_bus *bus, char **args, const MachinectlConfig *c) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, MACHINE1_SERVICE, MACHINE1_PATH, MACHINE1_MANAGER, "CleanPool");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", c->all ? "all" : "hidden");
        if (r < 0)
                return log_error_errno(r, "Failed to build the CleanPool call: %m");
        r = sd_bus_call(bus, m, IMAGE_OP_TIMEOUT_USEC, &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, NULL, "clean the pool");
        r = sd_bus_message_enter_container(reply, 'a', "(st)");
        const char *name;
        uint64_t usage;
        while (r >= 0 && (r = sd_bus_message_read(reply, "(st)", &name, &usage)) > 0)
                if (!c->quiet) {
                        char buf[32];
                        printf("Removed image '%s'%s%s%s.\n", name, usage != UINT64_MAX ? " (freed " : "",
                               usage != UINT64_MAX ? format_bytes(buf, sizeof(buf), usage) : "", usage != UINT64_MAX ? ")" : "");
                }
        if (r < 0)
                return log_error_errno(r, "Failed to read the CleanPool reply: %m");
        return 0;
}
