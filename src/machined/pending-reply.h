/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "machine-error.h"

/* A method call waiting for its answer, on either transport. The binding that received the call
 * fills this in and hands it to the model; the model answers it once (complete) or drops it
 * (release only, when machined shuts down) and never learns which transport it was. result is
 * what the call returns on success; what it points to is per call: the Machine for a registration,
 * an OperationResult for an operation, NULL for calls without a result. */
typedef struct PendingReply {
        void (*complete)(void *call, const Failure *f, const void *result);
        void (*release)(void *call);
        void *call;
} PendingReply;

static inline bool pending_reply_is_set(const PendingReply *p) {
        return p && p->complete;
}

/* Drops the call unanswered. */
static inline void pending_reply_done(PendingReply *p) {
        if (!p || !p->complete)
                return;
        if (p->release)
                p->release(p->call);
        *p = (PendingReply) {};
}

/* f NULL or unset: success with result. */
static inline void pending_reply_complete(PendingReply *p, const Failure *f, const void *result) {
        if (!pending_reply_is_set(p))
                return;
        PendingReply q = *p;
        /* Cleared first: the answer may free the object p lives in. */
        *p = (PendingReply) {};
        q.complete(q.call, failure_is_set(f) ? f : NULL, result);
        if (q.release)
                q.release(q.call);
}

static inline void pending_reply_fail(PendingReply *p, int error, const char *message) {
        Failure f = { .error = error < 0 ? error : -error, .message = (char *) message };
        pending_reply_complete(p, &f, NULL);
}
