/* SPDX-License-Identifier: LGPL-2.1-or-later */
#if HAVE_LIBSYSTEMD
#include <errno.h>
#include <string.h>

#include "bus-util.h"
#include "macro.h"

static const sd_bus_error_map machine1_errors[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_MACHINE, ENXIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_IMAGE, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_MACHINE_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_MACHINE_FOR_PID, ENXIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_PRIVATE_NETWORKING, ENOSYS),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_USER_MAPPING, ENXIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_GROUP_MAPPING, ENXIO),
        SD_BUS_ERROR_MAP_END,
};

int bus_register_machine1_errors(void) {
        int r = sd_bus_error_add_map(machine1_errors);
        return r < 0 ? r : 0;
}

int bus_query_sender_euid(sd_bus_message *m, uid_t *ret) {
        sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        /* With dbus-daemon, UID comes from the daemon (SO_PEERCRED at connect: the effective UID
         * then), EUID only from /proc (augmented, racy). Require the unforgeable one to be root too. */
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0) {
                r = sd_bus_creds_get_uid(creds, &uid);
                if (r < 0)
                        goto finish;
        } else {
                uid_t real;
                if (sd_bus_creds_get_uid(creds, &real) >= 0 && real != uid && real != 0)
                        uid = real;
        }
        *ret = uid;
        r = 0;
finish:
        sd_bus_creds_unref(creds);
        return r;
}

int bus_verify_root(sd_bus_message *m, sd_bus_error *error) {
        uid_t uid;
        int r = bus_query_sender_euid(m, &uid);
        if (r < 0) {
                /* Not knowing who asks (out of descriptors, say) is our failure, not a refusal:
                 * answering AccessDenied would tell root it may not do what it may. */
                sd_bus_error_set_errnof(error, r, "Failed to read the caller's credentials: %m");
                return r;
        }
        if (uid != 0) {
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Access to %s.%s() not permitted: only root may do this.",
                                  strna(sd_bus_message_get_interface(m)), strna(sd_bus_message_get_member(m)));
                return -EACCES;
        }
        return 0;
}

int bus_query_sender_pidref(sd_bus_message *m, PidRef *ret) {
        sd_bus_creds *creds = NULL;
        pid_t pid;
        int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_PID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_pid(creds, &pid);
        sd_bus_creds_unref(creds);
        if (r < 0)
                return r;
        return pidref_set_pid(ret, pid);
}

int bus_message_read_id128(sd_bus_message *m, Id128 *ret) {
        const void *a;
        size_t n;
        int r = sd_bus_message_read_array(m, 'y', &a, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                *ret = (Id128) {};
                return 0;
        }
        if (n != 16)
                return -EINVAL;
        memcpy(ret->bytes, a, 16);
        return 0;
}

int bus_message_append_id128(sd_bus_message *m, const Id128 *id) {
        return sd_bus_message_append_array(m, 'y', id->bytes, 16);
}

int bus_message_append_env_as_dict(sd_bus_message *m, char * const *env) {
        int r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char * const *e = env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *k = strndup(*e, (size_t) (eq - *e));
                if (!k)
                        return -ENOMEM;
                r = sd_bus_message_append(m, "{ss}", k, eq + 1);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int bus_property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const char *s = *(char **) userdata;
        return sd_bus_message_append_basic(reply, 's', s ?: "");
}
#endif
