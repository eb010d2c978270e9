/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "bus-util.h"
#include "machinectl-bus.h"
#include "machinectl-query.h"
#include "strv.h"

int machine_query_addresses(sd_bus *bus, const char *name, char ***ret) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = manager_call(bus, "GetMachineAddresses", &error, &reply, "s", name);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, BUS_ERROR_NO_PRIVATE_NETWORKING)) {
                        *ret = NULL;
                        return 0;
                }
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(iay)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'r', "iay")) > 0) {
                char buf[INET6_ADDRSTRLEN];
                const void *a;
                size_t n;
                int family;

                r = sd_bus_message_read(reply, "i", &family);
                if (r < 0)
                        return r;
                r = sd_bus_message_read_array(reply, 'y', &a, &n);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
                if ((family == AF_INET && n == 4) || (family == AF_INET6 && n == 16)) {
                        if (inet_ntop(family, a, buf, sizeof(buf)) && strv_extend(&l, buf) < 0)
                                return -ENOMEM;
                }
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int machine_query_os_release(sd_bus *bus, const char *name, json_object **ret) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        int r;

        r = manager_call(bus, "GetMachineOSRelease", NULL, &reply, "s", name);
        if (r < 0)
                return r;
        return bus_message_read_json(reply, ret);
}

int machine_query_uid_shift(sd_bus *bus, const char *name, uint32_t *ret) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        int r;

        r = manager_call(bus, "GetMachineUIDShift", NULL, &reply, "s", name);
        if (r < 0)
                return r;
        return sd_bus_message_read(reply, "u", ret);
}

const char *json_object_string_field(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}
