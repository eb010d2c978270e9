/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fd-util.h"
#include "macro.h"
#include "spawn-sync.h"

int sync_send(int sock, SyncMessageType type, int error, int level, const char *reason, int fd) {
        SyncMessage m = { .type = type, .error = error < 0 ? -error : error, .level = level };
        size_t len = strnlen(reason ?: "", sizeof(m.reason) - 1);

        memcpy(m.reason, reason ?: "", len);
        /* Only what is used: the reason's tail stays out of the packet. */
        return send_data_with_fd(sock, &m, offsetof(SyncMessage, reason) + len + 1, fd);
}

int sync_receive(int sock, SyncMessage *ret, int *ret_fd) {
        int fd = -EBADF;

        *ret_fd = -EBADF;
        ssize_t n = receive_data_with_fd(sock, ret, sizeof(*ret), 0, &fd);
        if (n <= 0) {
                safe_close(fd);
                return (int) n;
        }
        if ((size_t) n <= offsetof(SyncMessage, reason) || ret->type < 0 || ret->type >= _SYNC_MESSAGE_TYPE_MAX) {
                safe_close(fd);
                return -EBADMSG;
        }
        /* The sender's terminating NUL is in the packet; do not rely on it. */
        ((char *) ret)[MIN((size_t) n, sizeof(*ret) - 1)] = 0;
        *ret_fd = fd;
        return 1;
}
