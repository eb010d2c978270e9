/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The capabilities a system container keeps: systemd-nspawn's default set (plus CAP_NET_ADMIN
 * when the container has its own network namespace). */
uint64_t capability_container_set(bool private_network);

/* Limits the bounding set (and the inheritable/ambient sets) to keep. */
int capability_bounding_set_limit(uint64_t keep);
