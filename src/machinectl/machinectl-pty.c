/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "machinectl-pty.h"
#include "macro.h"
#include "parse-util.h"
#include "signal-util.h"

static const char osc_prefix[] = "\033]3008;";
#define OSC_PREFIX_LEN (sizeof(osc_prefix) - 1)

static void emit(OscFilter *f, char c, char *out, size_t *k) {
        if (f->crlf) {
                if (f->cr_pending) {
                        f->cr_pending = false;
                        if (c == '\n') {
                                out[(*k)++] = '\n';
                                return;
                        }
                        out[(*k)++] = '\r';
                }
                if (c == '\r') {
                        f->cr_pending = true;
                        return;
                }
        }
        out[(*k)++] = c;
}

static void emit_held(OscFilter *f, char *out, size_t *k) {
        for (size_t i = 0; i < f->n_held; i++)
                emit(f, f->held[i], out, k);
}

/* The value of "key=" among the ';'-separated fields, or NULL. */
static const char *osc_field(char **fields, size_t n, const char *key) {
        size_t l = strlen(key);
        for (size_t i = 0; i < n; i++)
                if (strneq(fields[i], key, l) && fields[i][l] == '=')
                        return fields[i] + l + 1;
        return NULL;
}

/* Parses the payload of one complete OSC 3008 sequence; true if it belongs to our session. */
static bool osc_context_parse(OscFilter *f, const char *payload, size_t len) {
        char buf[OSC_CONTEXT_MAX + 1], *fields[32];
        size_t n = 0;

        memcpy(buf, payload, len);
        buf[len] = 0;
        for (char *p = buf; n < ELEMENTSOF(fields);) {
                fields[n++] = p;
                p = strchr(p, ';');
                if (!p)
                        break;
                *p++ = 0;
        }

        const char *start = osc_field(fields, 1, "start"), *end = osc_field(fields, 1, "end");
        if (start) {
                if (f->session[0] || isempty(start) || strlen(start) > OSC_SESSION_ID_MAX)
                        return false;
                strcpy(f->session, start);
                return true;
        }
        if (!end || !f->session[0] || !streq(end, f->session))
                return false;

        const char *exit = osc_field(fields, n, "exit"), *status = osc_field(fields, n, "status"),
                   *sig = osc_field(fields, n, "signal");
        unsigned v;
        int s;
        f->have_status = true;
        if (status && safe_atou(status, &v) >= 0 && v <= 255)
                f->status = (int) v;
        else if (sig && (s = signal_from_string(sig)) > 0)
                f->status = 128 + s;
        else
                f->status = exit && streq(exit, "success") ? 0 : 1;
        return true;
}

size_t osc_filter_feed(OscFilter *f, const char *in, size_t n, char *out) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                char c = in[i];

                if (f->n_held == 0) {
                        if (c == '\033')
                                f->held[f->n_held++] = c;
                        if (c != '\033' || !f->strip)
                                emit(f, c, out, &k);
                        continue;
                }

                if (f->n_held < OSC_PREFIX_LEN) {
                        if (c == osc_prefix[f->n_held]) {
                                f->held[f->n_held++] = c;
                                if (!f->strip)
                                        emit(f, c, out, &k);
                                continue;
                        }
                        /* Not an OSC 3008: what was held is ordinary output, and c starts over. */
                        if (f->strip)
                                emit_held(f, out, &k);
                        f->n_held = 0;
                        i--;
                        continue;
                }

                if (!f->strip)
                        emit(f, c, out, &k);
                if (f->n_held + 1 >= sizeof(f->held)) {
                        /* Too long to be one of machined's: let it through untouched. */
                        if (f->strip) {
                                emit_held(f, out, &k);
                                emit(f, c, out, &k);
                        }
                        f->n_held = 0;
                        continue;
                }
                f->held[f->n_held++] = c;
                /* Terminated by ST (ESC \) or BEL. */
                size_t term = c == '\a' ? 1 : c == '\\' && f->held[f->n_held - 2] == '\033' ? 2 : 0;
                if (term == 0)
                        continue;
                bool ours = osc_context_parse(f, f->held + OSC_PREFIX_LEN, f->n_held - OSC_PREFIX_LEN - term);
                if (f->strip && !ours)
                        emit_held(f, out, &k);
                f->n_held = 0;
        }
        return k;
}

size_t osc_filter_flush(OscFilter *f, char *out) {
        size_t k = 0;
        if (f->strip)
                emit_held(f, out, &k);
        f->n_held = 0;
        if (f->cr_pending) {
                out[k++] = '\r';
                f->cr_pending = false;
        }
        return k;
}

/* ---- forwarding ------------------------------------------------------------------------------ */

#define ESCAPE_CHAR 0x1d /* ^] */
#define ESCAPE_COUNT 3
#define ESCAPE_WINDOW_USEC 1000000ULL
#define BUFFER_SIZE 16384

typedef struct Forward {
        int master;
        OscFilter *filter;
        bool stdin_tty, raw;
        struct termios saved;
        bool stdin_eof, output_closed;
        char in[BUFFER_SIZE];
        size_t n_in;
        char last_in;
        unsigned escape_count;
        uint64_t escape_start;
} Forward;

static uint64_t now_monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void forward_winsize(Forward *f) {
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(f->master, TIOCSWINSZ, &ws);
}

static void write_output(Forward *f, const char *p, size_t n) {
        if (f->output_closed || n == 0)
                return;
        /* EPIPE: nobody reads our output any more; the session still runs to its end. */
        if (loop_write(STDOUT_FILENO, p, n) < 0)
                f->output_closed = true;
}

/* Returns 1 when the user typed the escape sequence. */
static int handle_stdin(Forward *f) {
        ssize_t n = read(STDIN_FILENO, f->in + f->n_in, sizeof(f->in) - f->n_in);
        if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        return 0;
                n = 0; /* an unreadable stdin ends input like EOF does */
        }
        if (n == 0) {
                f->stdin_eof = true;
                if (!f->stdin_tty) {
                        struct termios t;
                        char eof = tcgetattr(f->master, &t) >= 0 && t.c_cc[VEOF] ? (char) t.c_cc[VEOF] : 4;
                        /* A partial line needs one EOF to be delivered and another to read as end. */
                        if (f->n_in + 2 <= sizeof(f->in)) {
                                if (f->last_in != 0 && f->last_in != '\n')
                                        f->in[f->n_in++] = eof;
                                f->in[f->n_in++] = eof;
                        }
                }
                return 0;
        }
        for (ssize_t i = 0; f->stdin_tty && i < n; i++) {
                if (f->in[f->n_in + i] != ESCAPE_CHAR) {
                        f->escape_count = 0;
                        continue;
                }
                uint64_t now = now_monotonic_usec();
                if (f->escape_count == 0 || now - f->escape_start > ESCAPE_WINDOW_USEC) {
                        f->escape_count = 1;
                        f->escape_start = now;
                } else if (++f->escape_count >= ESCAPE_COUNT)
                        return 1;
        }
        f->last_in = f->in[f->n_in + n - 1];
        f->n_in += (size_t) n;
        return 0;
}

static int flush_to_master(Forward *f) {
        if (f->n_in == 0)
                return 0;
        ssize_t n = write(f->master, f->in, f->n_in);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : negative_errno();
        memmove(f->in, f->in + n, f->n_in - (size_t) n);
        f->n_in -= (size_t) n;
        return 0;
}

/* Returns 1 once the pty is hung up and drained. */
static int handle_master(Forward *f) {
        char buf[BUFFER_SIZE], out[OSC_FILTER_OUT_SIZE(BUFFER_SIZE)];
        ssize_t n = read(f->master, buf, sizeof(buf));
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                if (errno != EIO) /* EIO: every slave fd is closed and nothing is left to read */
                        return negative_errno();
                n = 0;
        }
        if (n == 0) {
                if (f->filter)
                        write_output(f, out, osc_filter_flush(f->filter, out));
                return 1;
        }
        if (f->filter)
                write_output(f, out, osc_filter_feed(f->filter, buf, (size_t) n, out));
        else
                write_output(f, buf, (size_t) n);
        return 0;
}

static int forward_loop(Forward *f, int sfd) {
        for (;;) {
                struct pollfd p[3] = {
                        { .fd = sfd, .events = POLLIN },
                        { .fd = f->master, .events = POLLIN | (f->n_in > 0 ? POLLOUT : 0) },
                        { .fd = !f->stdin_eof && f->n_in < sizeof(f->in) ? STDIN_FILENO : -1, .events = POLLIN },
                };
                int r;

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH)
                                        forward_winsize(f);
                                else
                                        return PTY_FORWARD_SIGNALED;
                        }
                }
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
                        r = handle_stdin(f);
                        if (r > 0)
                                return PTY_FORWARD_ESCAPED;
                }
                if (p[1].revents & POLLOUT) {
                        r = flush_to_master(f);
                        if (r < 0)
                                return r;
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        r = handle_master(f);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                return PTY_FORWARD_HANGUP;
                }
        }
}

int pty_forward(int master, OscFilter *filter) {
        Forward f = { .master = master, .filter = filter };
        _cleanup_close_ int sfd = -EBADF;
        sigset_t mask, old;
        int r;

        r = fd_set_nonblock(master, true);
        if (r < 0)
                return r;
        sigemptyset(&mask);
        for (int i = 0, l[] = { SIGWINCH, SIGTERM, SIGINT, SIGHUP }; i < 4; i++)
                sigaddset(&mask, l[i]);
        if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
                return negative_errno();
        (void) signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (sfd < 0) {
                r = negative_errno();
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }

        f.stdin_tty = isatty(STDIN_FILENO) > 0;
        if (f.stdin_tty && tcgetattr(STDIN_FILENO, &f.saved) >= 0) {
                struct termios raw = f.saved;
                cfmakeraw(&raw);
                f.raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) >= 0;
        }
        forward_winsize(&f);

        r = forward_loop(&f, sfd);

        if (f.raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &f.saved);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}
