/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "spawn-options.h"

/* The host side of the container's console: the pty master spawn forwards between, and the state
 * of the user's terminal that must be restored on every exit path. */
typedef struct Console {
        ConsoleMode mode;
        int master;             /* -EBADF in pipe mode */
        char *slave_path;       /* host path of the pty slave, bound to the container's /dev/console */
        int slave;              /* held open while the container runs, see console_open() */
        int slave_trees[2];     /* -U: detached mounts of the slave for /dev/console and /dev/tty1 */
        bool input_open;        /* still forwarding stdin */
        bool output_open;       /* still forwarding to stdout (false after EPIPE) */
        bool raw;               /* the terminal on stdin is in raw mode, saved_termios holds the old state */
        struct termios saved_termios;
        unsigned escape_count;  /* ^] presses seen within the escape window */
        uint64_t escape_start_usec;
} Console;

#define CONSOLE_NULL ((Console) { .master = -EBADF, .slave = -EBADF, .slave_trees = { -EBADF, -EBADF }, \
                                   .mode = _CONSOLE_MODE_INVALID })

/* Allocates the pty (unless mode is pipe) and, for interactive, puts the terminal in raw mode. */
/* owner/group non-zero (-U): the pty comes from a devpts instance of spawn's own and its slave
 * belongs to them; slave_path is then "/proc/self/fd/N" (for messages) and slave_trees[] are what
 * the child attaches: a detached mount can only be attached, not bound, from another mount
 * namespace. */
int console_open(Console *c, ConsoleMode mode, uid_t owner, gid_t group);
/* The container is gone: drop our slave so the master reports EIO once drained. */
void console_release_slave(Console *c);
/* Restores the terminal and closes the master. Safe to call more than once. */
void console_close(Console *c);

/* Copies the terminal's window size to the pty (on start and SIGWINCH). */
void console_forward_winsize(Console *c);

/* Moves data stdin → master. Returns 1 if the user asked to kill the container (^]^]^]). */
int console_handle_input(Console *c);
/* Moves data master → stdout (or discards it for passive). Returns -EIO once the pty is hung up
 * (every slave closed), 0 otherwise. */
int console_handle_output(Console *c);
