/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

/* A listening TCP socket on [::1]:@port (non-blocking), or -errno. */
int nat_proxy_listen(unsigned port);
/* Accepts one connection and relays it to @to in a forked child. */
void nat_proxy_accept(int listen_fd, const struct sockaddr *to, socklen_t to_len);
