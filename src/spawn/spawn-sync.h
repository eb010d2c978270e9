/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* The messages between the supervisor and the container's child over their SOCK_SEQPACKET
 * socketpair: one message per packet, so each arrives whole or not at all. EOF on the
 * supervisor's end means the child exec'd the payload (the socket is O_CLOEXEC) or died. */
typedef enum SyncMessageType {
        SYNC_GO,                  /* supervisor → child: the child sits in its cgroup now, go on */
        SYNC_NOTIFY_FD,           /* child → supervisor: the bound notify socket, as SCM_RIGHTS */
        SYNC_LOG,                 /* child → supervisor: a message to print (warning, notice) */
        SYNC_FAILED,              /* child → supervisor: setup failed with error; the child exits */
        SYNC_USERNS,              /* child → supervisor: I have a new user namespace, write my ID maps */
        SYNC_USERNS_MAPPED,       /* supervisor → child: uid_map and gid_map are written */
        SYNC_OCI_HOOKS,           /* child → supervisor: mounts done; run the prestart and createRuntime hooks */
        SYNC_OCI_HOOKS_DONE,      /* supervisor → child: they succeeded */
        SYNC_REBOOT_FD,           /* child → supervisor: -U's reboot(2) listener, as SCM_RIGHTS (spawn-reboot.h) */
        _SYNC_MESSAGE_TYPE_MAX,
        _SYNC_MESSAGE_TYPE_INVALID = -22,
} SyncMessageType;

#define SYNC_REASON_MAX 2048

typedef struct SyncMessage {
        int32_t type;             /* SyncMessageType */
        int32_t error;            /* SYNC_FAILED: the positive errno */
        int32_t level;            /* SYNC_LOG, SYNC_FAILED: the log level of reason */
        char reason[SYNC_REASON_MAX]; /* the line to show the user, without program name */
} SyncMessage;

/* Sends one message; fd >= 0 is passed along with it. reason may be NULL. Never raises SIGPIPE:
 * -EPIPE when the peer is gone. */
int sync_send(int sock, SyncMessageType type, int error, int level, const char *reason, int fd);
/* Receives one message (reason always NUL-terminated) and the fd that came with it (-EBADF if
 * none). 1: a message, 0: EOF, -EBADMSG: malformed. */
int sync_receive(int sock, SyncMessage *ret, int *ret_fd);
