/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The output side of a shell session: machined marks the session with OSC 3008 context
 * sequences (systemd.io/OSC_CONTEXT) on the pty, "ESC ] 3008 ; start=ID ; type=shell ; ... ST"
 * before the shell's output and "ESC ] 3008 ; end=ID ; exit=failure ; status=7 ST" as the very
 * last thing, see machined(8). The filter finds our session's status in the stream and, for
 * output that is not a terminal, removes those two sequences and turns the pty's "\r\n" into
 * "\n", so that "machinectl shell m cmd | ..." gives cmd's bytes. */

#define OSC_CONTEXT_MAX 1024U
#define OSC_SESSION_ID_MAX 64U

typedef struct OscFilter {
        bool strip;    /* drop our session's sequences (otherwise everything passes through) */
        bool crlf;     /* "\r\n" → "\n" */
        char held[OSC_CONTEXT_MAX];
        size_t n_held; /* bytes of a possible "ESC ] 3008 ;" sequence seen so far */
        bool cr_pending;
        char session[OSC_SESSION_ID_MAX + 1]; /* the first "start" ID seen: ours */
        bool have_status;
        int status;    /* exit status: N, or 128 + signal number */
} OscFilter;

/* Output room needed for n input bytes. */
#define OSC_FILTER_OUT_SIZE(n) ((n) + OSC_CONTEXT_MAX + 2)

/* Filters n bytes into out (at least OSC_FILTER_OUT_SIZE(n) bytes); returns the bytes written. */
size_t osc_filter_feed(OscFilter *f, const char *in, size_t n, char *out);
/* At the end of the stream: writes out what is still held back. */
size_t osc_filter_flush(OscFilter *f, char *out);

typedef enum PtyForwardResult {
        PTY_FORWARD_HANGUP,   /* the other side closed: the session is over */
        PTY_FORWARD_ESCAPED,  /* the user pressed ^] three times within a second */
        PTY_FORWARD_SIGNALED, /* SIGTERM, SIGINT or SIGHUP reached us */
} PtyForwardResult;

/* Copies stdin → master and master → stdout (through filter, if given) until one of the above.
 * A terminal on stdin is put in raw mode and restored before returning; its window size is
 * passed on (also on SIGWINCH). When stdin is not a terminal, its EOF becomes the pty's EOF
 * character so that the program on the other side sees end of input too. Returns a
 * PtyForwardResult or a negative errno. */
int pty_forward(int master, OscFilter *filter);
