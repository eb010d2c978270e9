/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "macro.h"
#include "oci-state.h"
#include "string-table.h"

static const char *const oci_status_table[_OCI_STATUS_MAX] = {
        [OCI_STATUS_CREATING] = "creating",
        [OCI_STATUS_CREATED] = "created",
        [OCI_STATUS_RUNNING] = "running",
        [OCI_STATUS_STOPPED] = "stopped",
};
DEFINE_STRING_TABLE_LOOKUP(oci_status, OciStatus)

static int add_string(json_object *o, const char *key, const char *value) {
        json_object *v = json_object_new_string(value ?: "");
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

int oci_state_format(const OciState *s, char **ret) {
        json_object *o = json_object_new_object(), *annotations = NULL;
        int r = o ? 0 : -ENOMEM;

        if (r >= 0)
                r = add_string(o, "ociVersion", s->oci_version ?: OCI_RUNTIME_SPEC_VERSION);
        if (r >= 0)
                r = add_string(o, "id", s->id);
        if (r >= 0)
                r = add_string(o, "status", oci_status_to_string(s->status));
        if (r >= 0 && s->pid > 0 && json_object_object_add(o, "pid", json_object_new_int(s->pid)) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = add_string(o, "bundle", s->bundle);
        if (r >= 0 && s->annotations) {
                annotations = json_object_new_object();
                if (!annotations || json_object_object_add(o, "annotations", annotations) < 0) {
                        json_object_put(annotations);
                        r = -ENOMEM;
                }
                for (char **a = s->annotations; r >= 0 && a[0] && a[1]; a += 2)
                        r = add_string(annotations, a[0], a[1]);
        }
        if (r >= 0) {
                const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                *ret = text ? strdup(text) : NULL;
                if (!*ret)
                        r = -ENOMEM;
        }
        json_object_put(o);
        return r;
}
