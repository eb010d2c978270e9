/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* "SIGTERM", "TERM", "15", "RTMIN+3", "SIGRTMAX-1" → signal number, or -EINVAL. */
int signal_from_string(const char *s);
/* Returns a static name ("SIGTERM", "SIGRTMIN+3"); for out-of-range numbers NULL. */
const char *signal_to_string(int sig);
