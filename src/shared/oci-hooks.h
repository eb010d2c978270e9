/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Runs runtime-spec hooks: the program at hook->path with hook->args (argv[0] included; the path
 * alone when absent) and exactly hook->env, the container's state JSON on stdin, in the caller's
 * namespaces (the caller picks them: runtime namespace or container namespace), bounded by
 * hook->timeout seconds (killed after it).
 *
 * API: oci_hook_run(hook, state_json, &status) -> 0 when it exited 0;
 *      -ETIMEDOUT when killed for its timeout; -EPROTO when it exited non-zero or died of a signal
 *      (*ret_status: the wait status); -errno of a failed fork or execve.
 *      oci_hooks_run(hooks, n, state_json, &failed, &status) runs them in order, stops at the
 *      first failure (*failed: its index). Never logs. */

#include <stddef.h>

#include "oci-config.h"

int oci_hook_run(const OciHook *hook, const char *state_json, int *ret_status);
int oci_hooks_run(const OciHook *hooks, size_t n, const char *state_json, size_t *ret_failed, int *ret_status);
