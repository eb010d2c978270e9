/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The runtime-spec's state of a container, as JSON: what hooks read on stdin and what `state`
 * prints.
 *
 * API: oci_state_format(&state, &json) -> 0 or -ENOMEM; oci_status_{to,from}_string(). */

#include <sys/types.h>

typedef enum OciStatus {
        OCI_STATUS_CREATING,
        OCI_STATUS_CREATED,
        OCI_STATUS_RUNNING,
        OCI_STATUS_STOPPED,
        _OCI_STATUS_MAX,
        _OCI_STATUS_INVALID = -22,
} OciStatus;

const char *oci_status_to_string(OciStatus s);
OciStatus oci_status_from_string(const char *s);

typedef struct OciState {
        const char *oci_version;    /* the version the runtime implements, "1.2.0" */
        const char *id;
        OciStatus status;
        pid_t pid;                  /* <= 0: left out (stopped) */
        const char *bundle;         /* absolute */
        char **annotations;         /* KEY, VALUE, ... as OciConfig keeps them; NULL: none */
} OciState;

#define OCI_RUNTIME_SPEC_VERSION "1.2.0"

/* One line of JSON, without a newline. */
int oci_state_format(const OciState *s, char **ret);
