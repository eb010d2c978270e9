/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* sd_notify() without libsystemd: sends state to $NOTIFY_SOCKET (path or @abstract). Returns 0
 * if there is no manager listening (no $NOTIFY_SOCKET), 1 if sent, -errno on failure. */
int notify_send(const char *state);

/* What a guest reported on the notify socket, accumulated. */
typedef struct NotifyState {
        bool ready;            /* READY=1 */
        bool stopping;         /* STOPPING=1 */
        unsigned signals_level;/* X_SYSTEMD_SIGNALS_LEVEL=, >= 2: init handles SIGRTMIN+3 */
        char *status;          /* last STATUS= */
} NotifyState;

void notify_state_done(NotifyState *s);
/* Applies one datagram ("KEY=VALUE\n..."). Returns > 0 if `ready` just became true. */
int notify_state_parse(NotifyState *s, const char *msg, size_t len);
