/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "spawn-console.h"

#define ESCAPE_CHAR 0x1d /* ^] */
#define ESCAPE_COUNT 3
#define ESCAPE_WINDOW_USEC 1000000ULL

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* -U: a pty of a devpts instance of our own, never attached anywhere (fsopen/fsmount), whose
 * slave can be handed to the container's root. The host's /dev/pts may refuse a chown (it is
 * read-only on sandboxed hosts), and a pty the container's root does not own is one its init
 * cannot reopen as /dev/console. The slave is reached through our fd: "/proc/self/fd/N". */
static int console_open_private(Console *c, uid_t uid, gid_t gid) {
        _cleanup_close_ int fs = (int) syscall(SYS_fsopen, "devpts", FSOPEN_CLOEXEC);
        if (fs < 0)
                return log_error_errno(errno, "Failed to create a devpts instance for the console: %m");
        if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "ptmxmode", "0666", 0) < 0 ||
            syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0620", 0) < 0 ||
            syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return log_error_errno(errno, "Failed to create a devpts instance for the console: %m");
        _cleanup_close_ int mnt = (int) syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0)
                return log_error_errno(errno, "Failed to create a devpts instance for the console: %m");
        c->master = openat(mnt, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->master < 0)
                return log_error_errno(errno, "Failed to allocate a pty: %m");
        if (unlockpt(c->master) < 0)
                return log_error_errno(errno, "Failed to unlock the pty: %m");
        c->slave = ioctl(c->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->slave < 0)
                return log_error_errno(errno, "Failed to open the pty: %m");
        if (fchown(c->slave, uid, gid) < 0)
                return log_error_errno(errno, "Failed to hand the console to the container's root: %m");
        if (asprintf(&c->slave_path, "/proc/self/fd/%i", c->slave) < 0)
                return log_oom();
        for (size_t i = 0; i < 2; i++) {
                c->slave_trees[i] = (int) syscall(SYS_open_tree, c->slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (c->slave_trees[i] < 0)
                        return log_error_errno(errno, "Failed to prepare the console for the container: %m");
        }
        return 0;
}

int console_open(Console *c, ConsoleMode mode, uid_t owner, gid_t group) {
        int r;

        c->mode = mode;
        c->output_open = true;
        c->input_open = mode == CONSOLE_INTERACTIVE;
        if (mode == CONSOLE_PIPE)
                return 0;

        if (owner != 0) {
                r = console_open_private(c, owner, group);
                if (r < 0)
                        return r;
        } else {
                c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (c->master < 0)
                        return log_error_errno(errno, "Failed to allocate a pty: %m");
                if (grantpt(c->master) < 0 || unlockpt(c->master) < 0)
                        return log_error_errno(errno, "Failed to unlock the pty: %m");
                const char *p = ptsname(c->master);
                if (!p)
                        return log_error_errno(errno, "Failed to get the pty's name: %m");
                c->slave_path = strdup(p);
                if (!c->slave_path)
                        return log_oom();
                /* Reading a master whose slave nobody has open fails with EIO, and opening the slave
                 * after that hangup fails too. A booting init closes and reopens the console all the
                 * time; holding one slave fd ourselves keeps the pty alive in between. */
                c->slave = open(c->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (c->slave < 0)
                        return log_error_errno(errno, "Failed to open the pty %s: %m", c->slave_path);
        }

        /* Reads are non-blocking so the drain after the container's exit cannot hang. */
        r = fd_set_nonblock(c->master, true);
        if (r < 0)
                return log_error_errno(r, "Failed to make the pty non-blocking: %m");

        console_forward_winsize(c);

        if (mode == CONSOLE_INTERACTIVE && isatty(STDIN_FILENO)) {
                struct termios raw;
                if (tcgetattr(STDIN_FILENO, &c->saved_termios) >= 0) {
                        raw = c->saved_termios;
                        cfmakeraw(&raw);
                        /* Keep output post-processing off too: the guest's tty already did it. */
                        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) >= 0)
                                c->raw = true;
                }
        }
        return 0;
}

void console_release_slave(Console *c) {
        c->slave = safe_close(c->slave);
}

void console_close(Console *c) {
        if (c->raw) {
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_termios);
                c->raw = false;
        }
        c->master = safe_close(c->master);
        c->slave = safe_close(c->slave);
        c->slave_trees[0] = safe_close(c->slave_trees[0]);
        c->slave_trees[1] = safe_close(c->slave_trees[1]);
        free(c->slave_path);
        c->slave_path = NULL;
}

void console_forward_winsize(Console *c) {
        struct winsize ws;

        if (c->master < 0)
                return;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        (void) ioctl(c->master, TIOCSWINSZ, &ws);
}

int console_handle_input(Console *c) {
        char buf[4096];
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                /* EOF on stdin: the guest keeps running, we just stop listening. */
                c->input_open = false;
                return 0;
        }

        for (ssize_t i = 0; i < n; i++) {
                if (buf[i] != ESCAPE_CHAR)
                        continue;
                uint64_t t = now_usec();
                if (c->escape_count == 0 || t - c->escape_start_usec > ESCAPE_WINDOW_USEC) {
                        c->escape_count = 0;
                        c->escape_start_usec = t;
                }
                if (++c->escape_count >= ESCAPE_COUNT)
                        return 1;
        }

        /* The master is non-blocking for reads; a full input queue is rare enough that waiting
         * briefly is better than dropping keystrokes. */
        for (ssize_t off = 0; off < n;) {
                ssize_t k = write(c->master, buf + off, (size_t) (n - off));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                usleep(1000);
                                continue;
                        }
                        c->input_open = false;
                        break;
                }
                off += k;
        }
        return 0;
}

int console_handle_output(Console *c) {
        char buf[16384];

        for (;;) {
                ssize_t n = read(c->master, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return -EIO;
                }
                if (n == 0)
                        return -EIO;
                if (c->mode == CONSOLE_PASSIVE || !c->output_open)
                        continue;
                if (loop_write(STDOUT_FILENO, buf, (size_t) n) < 0)
                        c->output_open = false;
        }
}
