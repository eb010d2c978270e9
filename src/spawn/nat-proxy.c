/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TCP forwards from the host's [::1]. IPv6 has no route_localnet: a connection to ::1 turned
 * towards host0 by DNAT goes out, but the answer, translated back to ::1, arrives on ve-NAME and
 * the kernel drops it (a loopback destination must arrive on lo). So spawn-nat listens on
 * [::1]:HOST itself and relays each connection to the container, one forked child a
 * connection. IPv4's localhost and every other address go through the kernel's DNAT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nat-proxy.h"

int nat_proxy_listen(unsigned port) {
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        int one = 1;

        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Copies what one side has to the other; 0 at EOF (then the other side gets a FIN). */
static int relay_once(int from, int to) {
        char buf[65536];
        ssize_t n = read(from, buf, sizeof(buf));

        if (n <= 0) {
                (void) shutdown(to, SHUT_WR);
                return 0;
        }
        for (ssize_t done = 0; done < n; ) {
                ssize_t k = write(to, buf + done, (size_t) (n - done));
                if (k < 0)
                        return -1;
                done += k;
        }
        return 1;
}

static void relay(int a, int b) {
        bool open_a = true, open_b = true;

        while (open_a || open_b) {
                struct pollfd p[2] = { { .fd = open_a ? a : -1, .events = POLLIN }, { .fd = open_b ? b : -1, .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                for (int i = 0; i < 2; i++) {
                        if (!p[i].revents)
                                continue;
                        int k = i == 0 ? relay_once(a, b) : relay_once(b, a);
                        if (k < 0)
                                return;
                        if (i == 0)
                                open_a = k > 0;
                        else
                                open_b = k > 0;
                }
        }
}

void nat_proxy_accept(int listen_fd, const struct sockaddr *to, socklen_t to_len) {
        int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return;
        pid_t pid = fork();
        if (pid != 0) {
                close(c);
                return;
        }
        /* The relay ends with spawn-nat, that is with the container. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        int s = socket(to->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, to, to_len) < 0)
                _exit(1);
        relay(c, s);
        _exit(0);
}
