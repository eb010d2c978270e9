/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-output.h"
#include "strv.h"

int bus_connect_system(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
                return log_error_errno(r, "Failed to connect to the system bus%s%s%s: %m", a ? " at " : "", a ?: "",
                                       a ? "" : " (is dbus-daemon running?)");
        }
        *ret = bus;
        return 0;
}

int log_bus_error(int r, const sd_bus_error *error, const char *name, const char *action_format, ...) {
        char action[512];
        va_list ap;

        if (sd_bus_error_has_name(error, BUS_ERROR_NO_SUCH_MACHINE))
                return log_error_errno(r, "No machine '%s' known.", strna(name));
        if (sd_bus_error_has_name(error, BUS_ERROR_NO_SUCH_IMAGE))
                return log_error_errno(r, "No image '%s' known.", strna(name));
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return log_error_errno(r, "machined is not running: %s is not on the system bus.", MACHINE1_SERVICE);

        va_start(ap, action_format);
        vsnprintf(action, sizeof(action), action_format, ap);
        va_end(ap);
        if (sd_bus_error_is_set(error))
                return log_error_errno(r, "Failed to %s: %s", action, error->message ?: error->name);
        return log_error_errno(r, "Failed to %s: %m", action);
}

int manager_call(sd_bus *bus, const char *method, sd_bus_error *error, sd_bus_message **reply, const char *types, ...) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_SERVICE, MACHINE1_PATH, MACHINE1_MANAGER, method);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        return sd_bus_call(bus, m, 0, error, reply);
}

static int object_path(sd_bus *bus, const char *method, const char *what, const char *name, char **ret) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = manager_call(bus, method, &error, &reply, "s", name);
        if (r < 0)
                return log_bus_error(r, &error, name, "look up %s '%s'", what, name);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply to %s: %m", method);
        char *p = strdup(path);
        if (!p)
                return log_oom();
        *ret = p;
        return 0;
}

int machine_object_path(sd_bus *bus, const char *name, char **ret) {
        return object_path(bus, "GetMachine", "machine", name, ret);
}

int image_object_path(sd_bus *bus, const char *name, char **ret) {
        return object_path(bus, "GetImage", "image", name, ret);
}

static json_object *hex_string(const uint8_t *p, size_t n) {
        static const char hex[] = "0123456789abcdef";
        char *s = malloc(n * 2 + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                s[i * 2] = hex[p[i] >> 4];
                s[i * 2 + 1] = hex[p[i] & 15];
        }
        s[n * 2] = 0;
        json_object *o = json_object_new_string(s);
        free(s);
        return o;
}

static int read_basic_json(sd_bus_message *m, char type, json_object **ret) {
        union {
                uint8_t u8;
                int16_t s16;
                uint16_t u16;
                int32_t s32;
                uint32_t u32;
                int64_t s64;
                uint64_t u64;
                double d;
                int b;
                const char *s;
                int fd;
        } v;
        int r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case 'y': *ret = json_object_new_int(v.u8); break;
        case 'n': *ret = json_object_new_int(v.s16); break;
        case 'q': *ret = json_object_new_int(v.u16); break;
        case 'i': *ret = json_object_new_int(v.s32); break;
        case 'u': *ret = json_object_new_int64(v.u32); break;
        case 'x': *ret = json_object_new_int64(v.s64); break;
        case 't': *ret = json_object_new_uint64(v.u64); break;
        case 'd': *ret = json_object_new_double(v.d); break;
        case 'b': *ret = json_object_new_boolean(v.b); break;
        case 'h': *ret = json_object_new_int(v.fd); break;
        case 's':
        case 'o':
        case 'g': *ret = json_object_new_string(v.s); break;
        default: return -EBADMSG;
        }
        return *ret ? 0 : -ENOMEM;
}

/* Reads the remaining elements of the container m is in: into an array, or, for dictionary
 * entries, into an object with the keys as strings. */
static int read_elements_json(sd_bus_message *m, bool dict, json_object **ret) {
        _cleanup_json_ json_object *o = dict ? json_object_new_object() : json_object_new_array();
        const char *contents;
        char type;
        int r;

        if (!o)
                return -ENOMEM;
        while ((r = sd_bus_message_peek_type(m, &type, &contents)) > 0) {
                json_object *v = NULL;
                if (!dict) {
                        r = bus_message_read_json(m, &v);
                        if (r < 0)
                                return r;
                        json_object_array_add(o, v);
                        continue;
                }
                _cleanup_json_ json_object *key = NULL;
                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, contents);
                if (r < 0)
                        return r;
                r = bus_message_read_json(m, &key);
                if (r >= 0)
                        r = bus_message_read_json(m, &v);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0) {
                        json_object_put(v);
                        return r;
                }
                const char *k = json_object_get_string(key);
                json_object_object_add(o, k ?: "", v);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int bus_message_read_json(sd_bus_message *m, json_object **ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        if (type == SD_BUS_TYPE_ARRAY && streq(contents, "y")) {
                const void *p;
                size_t n;
                r = sd_bus_message_read_array(m, 'y', &p, &n);
                if (r < 0)
                        return r;
                *ret = hex_string(p, n);
                return *ret ? 0 : -ENOMEM;
        }
        if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT || type == SD_BUS_TYPE_VARIANT) {
                r = sd_bus_message_enter_container(m, type, contents);
                if (r < 0)
                        return r;
                if (type == SD_BUS_TYPE_VARIANT)
                        r = bus_message_read_json(m, ret);
                else
                        r = read_elements_json(m, type == SD_BUS_TYPE_ARRAY && contents[0] == '{', ret);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0) {
                        json_object_put(*ret);
                        *ret = NULL;
                        return r;
                }
                return 0;
        }
        return read_basic_json(m, type, ret);
}

void property_list_done(PropertyList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].signature);
                json_object_put(l->items[i].value);
        }
        free(l->items);
        *l = (PropertyList) {};
}

static int property_list_read(sd_bus_message *reply, PropertyList *l) {
        const char *name, *contents;
        char type;
        int r;

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r < 0)
                        return r;
                Property *items = realloc(l->items, (l->n + 1) * sizeof(Property));
                if (!items)
                        return -ENOMEM;
                l->items = items;
                Property *p = &l->items[l->n];
                *p = (Property) { .name = strdup(name), .signature = strdup(contents) };
                l->n++;
                if (!p->name || !p->signature)
                        return -ENOMEM;
                r = bus_message_read_json(reply, &p->value);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

int bus_get_all_properties(sd_bus *bus, const char *path, const char *interface, PropertyList *ret, sd_bus_error *error) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        PropertyList l = {};
        int r;

        r = sd_bus_call_method(bus, MACHINE1_SERVICE, path, "org.freedesktop.DBus.Properties", "GetAll", error, &reply, "s",
                               interface);
        if (r < 0)
                return r;
        r = property_list_read(reply, &l);
        if (r < 0) {
                property_list_done(&l);
                return sd_bus_error_set_errnof(error, r, "Failed to parse the properties of %s: %s", path, strerror(-r));
        }
        *ret = l;
        return 0;
}

const Property *property_list_find(const PropertyList *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].name, name))
                        return &l->items[i];
        return NULL;
}

const char *property_list_string(const PropertyList *l, const char *name) {
        const Property *p = property_list_find(l, name);
        if (!p || !strchr("sog", p->signature[0]) || p->signature[1])
                return "";
        return json_object_get_string(p->value) ?: "";
}

uint64_t property_list_uint(const PropertyList *l, const char *name) {
        const Property *p = property_list_find(l, name);
        if (!p || !strchr("yqut", p->signature[0]) || p->signature[1])
                return 0;
        return json_object_get_uint64(p->value);
}

bool property_selected(char * const *filter, const char *name) {
        return !filter || strv_contains(filter, name);
}

json_object *property_list_to_json(const PropertyList *l, char * const *filter) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        for (size_t i = 0; i < l->n; i++)
                if (property_selected(filter, l->items[i].name))
                        json_object_object_add(o, l->items[i].name, json_object_get(l->items[i].value));
        return o;
}

static bool is_timestamp_property(const char *name) {
        size_t n = strlen(name), k = strlen("Timestamp");
        return n >= k && streq(name + n - k, "Timestamp");
}

/* Formats a value of a type show knows how to print; NULL for other types. */
static char *property_format(const Property *p, bool *ret_empty) {
        const char *sig = p->signature;
        json_object *v = p->value;
        char buf[128];

        *ret_empty = false;
        if (strchr("sog", sig[0]) && !sig[1]) {
                const char *s = json_object_get_string(v) ?: "";
                *ret_empty = !*s;
                return strdup(s);
        }
        if (streq(sig, "b"))
                return strdup(json_object_get_boolean(v) ? "yes" : "no");
        if (streq(sig, "t")) {
                uint64_t u = json_object_get_uint64(v);
                if (is_timestamp_property(p->name)) {
                        *ret_empty = u == 0 || u == UINT64_MAX;
                        return strdup(*ret_empty ? "" : format_timestamp(buf, sizeof(buf), u));
                }
                /* systemd prints unlimited image limits this way. */
                if (u == UINT64_MAX && (streq(p->name, "Limit") || streq(p->name, "LimitExclusive")))
                        return strdup("infinity");
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long) u);
                return strdup(buf);
        }
        if (strchr("ynqiuxh", sig[0]) && !sig[1]) {
                snprintf(buf, sizeof(buf), "%lld", (long long) json_object_get_int64(v));
                return strdup(buf);
        }
        if (streq(sig, "d")) {
                snprintf(buf, sizeof(buf), "%g", json_object_get_double(v));
                return strdup(buf);
        }
        if (streq(sig, "ay")) {
                const char *s = json_object_get_string(v) ?: "";
                *ret_empty = !*s;
                return strdup(s);
        }
        if (sig[0] == 'a' && strchr("sogynqiuxt", sig[1]) && !sig[2]) {
                size_t n = json_object_array_length(v);
                char *s = strdup("");
                *ret_empty = n == 0;
                for (size_t i = 0; s && i < n; i++) {
                        const char *e = json_object_get_string(json_object_array_get_idx(v, i)) ?: "";
                        char *t = strjoin(s, i > 0 ? " " : "", e);
                        free(s);
                        s = t;
                }
                return s;
        }
        return NULL;
}

bool property_print(const Property *p, bool value_only, bool all) {
        bool empty;
        _cleanup_free_ char *s = property_format(p, &empty);

        if (!s) {
                if (!all)
                        return false;
                /* Something we have no text form for: its JSON is still better than nothing. */
                const char *j = json_object_to_json_string_ext(p->value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                s = strdup(j ?: "");
                if (!s)
                        return false;
        } else if (empty && !all)
                return false;

        _cleanup_free_ char *e = escape_control(s);
        if (!e)
                return false;
        if (value_only)
                printf("%s\n", e);
        else
                printf("%s=%s\n", p->name, e);
        return true;
}
