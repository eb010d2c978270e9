/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who else addresses the container's links: dnsmasq on ve-NAME for guests that ask for DHCP (and
 * for the name server every guest is told about), or systemd-networkd, which berth leaves them to. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "spawn-network.h"
#include "spawn-register.h"
#include "strv.h"

/* $BERTH_DNSMASQ (empty: none, to test the fallback), else Debian's place. */
static const char *dnsmasq_path(void) {
        const char *e = getenv("BERTH_DNSMASQ");
        if (e)
                return *e && access(e, X_OK) >= 0 ? e : NULL;
        return access("/usr/sbin/dnsmasq", X_OK) >= 0 ? "/usr/sbin/dnsmasq" : NULL;
}

bool network_dhcp_available(void) {
        return dnsmasq_path() != NULL;
}

/* networkd's state directory alone could be a leftover of an earlier boot (a host switched
 * init systems): its bus name says it runs. $BERTH_NETWORKD_STATE_DIR is for tests. */
bool network_networkd_running(void) {
        const char *dir = getenv("BERTH_NETWORKD_STATE_DIR") ?: "/run/systemd/netif";
        struct stat st;

        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return false;
        return register_bus_name_owned("org.freedesktop.network1");
}

static int dnsmasq_argv(const SpawnNetwork *n, const char *path, char ***ret) {
        char host[INET_ADDRSTRLEN], cont[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN];
        _cleanup_strv_free_ char **argv = NULL;
        char buf[256];

        inet_ntop(AF_INET, &n->host_addr, host, sizeof(host));
        inet_ntop(AF_INET, &n->container_addr, cont, sizeof(cont));
        struct in_addr m = { htonl(UINT32_MAX << (32 - NETWORK_SUBNET_PREFIXLEN)) };
        struct in_addr s = { n->host_addr.s_addr & m.s_addr };
        inet_ntop(AF_INET, &m, mask, sizeof(mask));
        inet_ntop(AF_INET, &s, net, sizeof(net));
        const uint8_t *mac = n->container_mac;

        /* No configuration file, hosts file, lease file or pid file of the host's; syslog for
         * its messages. bind-dynamic rather than bind-interfaces: ve-NAME's link-local address
         * is still tentative when it starts, and dnsmasq would give up on it. lo is excluded,
         * or every instance would claim 127.0.0.1:53. */
        if (strv_extend(&argv, path) < 0 || strv_extend(&argv, "--keep-in-foreground") < 0 ||
            strv_extend(&argv, "--conf-file=/dev/null") < 0 || strv_extend(&argv, "--no-hosts") < 0 ||
            strv_extend(&argv, "--leasefile-ro") < 0 || strv_extend(&argv, "--pid-file=") < 0 ||
            strv_extend(&argv, "--bind-dynamic") < 0 || strv_extend(&argv, "--except-interface=lo") < 0 ||
            strv_extend(&argv, "--user=nobody") < 0 ||
            strv_extend(&argv, "--dhcp-authoritative") < 0)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "--interface=%s", n->host_ifname);
        if (strv_extend(&argv, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "--dhcp-range=%s,static,%s,12h", net, mask);
        if (strv_extend(&argv, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "--dhcp-host=%02x:%02x:%02x:%02x:%02x:%02x,%s", mac[0], mac[1], mac[2], mac[3],
                 mac[4], mac[5], cont);
        if (strv_extend(&argv, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "--dhcp-option=option:router,%s", host);
        if (strv_extend(&argv, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "--dhcp-option=option:dns-server,%s", host);
        if (strv_extend(&argv, buf) < 0)
                return -ENOMEM;
        /* Router advertisements of the /64, for guests (networkd's) that drop the static IPv6
         * address and configure themselves by SLAAC. */
        if (n->ipv6) {
                snprintf(buf, sizeof(buf), "--dhcp-range=::,constructor:%s,ra-only,64", n->host_ifname);
                if (strv_extend(&argv, "--enable-ra") < 0 || strv_extend(&argv, buf) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

/* dnsmasq drops root for nobody, and a change of credentials clears the parent-death signal;
 * so a forked copy of spawn (root, no exec) holds it: SIGTERM, from us or from the kernel when
 * spawn dies (even by SIGKILL), makes it stop dnsmasq and exit. */
static _noreturn_ void dhcp_sitter(pid_t parent, const char *path, char **argv) {
        sigset_t mask;
        siginfo_t si;

        /* A fork of the supervisor holds all its descriptors: the console's pty (whose last
         * closed slave ends spawn's drain), the janitor's pipe, the sync socket. Keep none. */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0 ||
            close_range(3, ~0U, 0) < 0)
                _exit(1);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_SETMASK, &mask, NULL) < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(1);
        (void) setpgid(0, 0);
        pid_t pid = fork();
        if (pid < 0)
                _exit(1);
        if (pid == 0) {
                sigemptyset(&mask);
                (void) sigprocmask(SIG_SETMASK, &mask, NULL);
                execv(path, argv);
                _exit(1);
        }
        while (sigwaitinfo(&mask, &si) < 0 || si.si_signo != SIGTERM)
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        _exit(1); /* dnsmasq gave up by itself */
        (void) kill(pid, SIGTERM);
        (void) waitpid(pid, NULL, 0);
        _exit(0);
}

/* Whether a UDP socket is bound to @addr port 53 in our network namespace. /proc/net/udp shows
 * the address as the hex of its network-order bytes read as a host integer. */
static bool dns_bound(struct in_addr addr) {
        char want[32], line[512];
        bool found = false;

        snprintf(want, sizeof(want), " %08X:0035 ", (unsigned) addr.s_addr);
        FILE *f = fopen("/proc/net/udp", "re");
        if (!f)
                return true; /* cannot tell: do not wait */
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, want) != NULL;
        fclose(f);
        return found;
}

/* resolv.conf names dnsmasq: a payload that resolves a name at once must find it listening. No
 * packet is sent (the host's lo may be down); bounded, since a dnsmasq that failed is no reason
 * not to start the container (DHCP guests retry, the static address is already in place). */
void network_dhcp_wait(SpawnNetwork *n) {
        if (n->dhcp_pid <= 0)
                return;
        for (int i = 0; i < 1000 && !dns_bound(n->host_addr); i++) {
                if (waitpid(n->dhcp_pid, NULL, WNOHANG) != 0) {
                        n->dhcp_pid = 0;
                        return;
                }
                (void) usleep(1000);
        }
}

int network_dhcp_start(SpawnNetwork *n) {
        _cleanup_strv_free_ char **argv = NULL;
        const char *path = dnsmasq_path();
        pid_t parent = getpid();

        if (n->external || !path)
                return 0;
        if (dnsmasq_argv(n, path, &argv) < 0)
                return log_oom();
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (pid == 0)
                dhcp_sitter(parent, path, argv);
        n->dhcp_pid = pid;
        return 0;
}

void network_dhcp_stop(SpawnNetwork *n) {
        if (n->dhcp_pid <= 0)
                return;
        (void) kill(n->dhcp_pid, SIGTERM);
        (void) waitpid(n->dhcp_pid, NULL, 0);
        n->dhcp_pid = 0;
}
