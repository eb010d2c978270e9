/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The capabilities a system container keeps: systemd-nspawn's default set (plus CAP_NET_ADMIN
 * when the container has its own network namespace). */
uint64_t capability_container_set(bool private_network);

/* "sys_admin", "CAP_SYS_ADMIN" (any case) -> 21; -EINVAL if unknown. */
int capability_from_name(const char *name);
/* 21 -> "cap_sys_admin"; NULL past the names we know. */
const char *capability_to_name(int cap);
/* The highest capability we know a name for. */
int capability_last_known(void);

/* A comma- or space-separated list of names, or "all", into a mask; on an unknown name returns
 * -EINVAL and points *ret_bad (a static copy) at it. */
int capability_mask_parse(const char *list, uint64_t *ret, const char **ret_bad);

/* What --capability=, --drop-capability= and --ambient-capability= asked for. */
typedef struct CapabilityOptions {
        uint64_t add;
        uint64_t drop;
        uint64_t ambient;
} CapabilityOptions;

/* The bounding set the container gets: the default set plus `add` minus `drop`. */
uint64_t capability_options_bounding(const CapabilityOptions *o, bool private_network);

/* Limits the bounding set (and the inheritable/ambient sets) to keep. */
int capability_bounding_set_limit(uint64_t keep);

/* After the switch to the payload's user: keeps `ambient` (a subset of the bounding set) in the
 * permitted, inheritable and ambient sets so that they survive execve() for a non-root user.
 * Call prctl(PR_SET_KEEPCAPS, 1) before changing the user. */
int capability_ambient_apply(uint64_t ambient);
