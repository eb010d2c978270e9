/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-nat [OPTIONS] IFNAME SUBNET4|- [OUTIF], OPTIONS: -6 SUBNET6 -a ADDR4 -A ADDR6
 * -p PROTO:HOST:CONTAINER... Masquerades the container's subnets (leaving by any interface but
 * OUTIF, default IFNAME) and forwards the ports to its addresses (nat-rules.c says which rules),
 * in chains of its own of table "inet berth", until its stdin reaches EOF, then removes its
 * chains. spawn keeps the write end of stdin, so the rules go when spawn goes, even by SIGKILL.
 * It prints "ok" on stdout once the rules are in. With "-" for SUBNET4 it reads "SUBNET4
 * [OPTIONS]" as the first line of stdin, after loading and setting up libnftables: spawn starts
 * us before it knows the subnet, so that cost overlaps its own work (EOF before the line: spawn
 * failed, nothing to do). A helper because libnftables (with libnftnl, libjansson, libgmp and
 * libxtables) would double what spawn loads on every start. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <nftables/libnftables.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nat-proxy.h"
#include "nat-rules.h"

/* Taken around adding our chains and around removing them with, maybe, the table: "list, then
 * delete the table if no chain is left" is two transactions, and another container's chain added
 * in between would go with the table. Without a writable /run, we go without. */
static int table_lock(void) {
        (void) mkdir("/run/berth", 0755);
        (void) mkdir("/run/berth/network", 0755);
        int fd = open("/run/berth/network/nft.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0)
                while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
                        ;
        return fd;
}

static void table_unlock(int fd) {
        if (fd >= 0)
                close(fd);
}

static int nft_run(struct nft_ctx *ctx, const char *cmd) {
        return nft_run_cmd_from_buffer(ctx, cmd) == 0 ? 0 : -1;
}

/* The table's listing, or NULL when there is no table. */
static char *nft_list_table(struct nft_ctx *ctx) {
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        char *out = NULL;
        if (nft_run(ctx, "list table " NAT_TABLE "\n") == 0) {
                const char *o = nft_ctx_get_output_buffer(ctx);
                out = strdup(o ?: "");
        }
        nft_ctx_unbuffer_output(ctx);
        nft_ctx_unbuffer_error(ctx);
        return out;
}

/* Deletes @ifname's chains and those of interfaces that are gone: chains left by a spawn-nat
 * that was killed itself (SIGKILL of a whole process group or cgroup). A live container's
 * interface exists for as long as its chains do, since spawn deletes the interface only after
 * its spawn-nat has exited. */
static void delete_stale_chains(struct nft_ctx *ctx, const char *ifname) {
        char *list = nft_list_table(ctx), cmd[256];

        for (char *p = list; p && (p = strstr(p, "\tchain ")); ) {
                char chain[NAT_CHAIN_MAX + 8], dev[16];
                p += strlen("\tchain ");
                if (sscanf(p, "%40s", chain) != 1 || nat_chain_ifname(chain, dev) < 0)
                        continue;
                if (strcmp(dev, ifname) != 0 && if_nametoindex(dev) > 0)
                        continue;
                snprintf(cmd, sizeof(cmd), "delete chain " NAT_TABLE " %s\n", chain);
                nft_ctx_buffer_error(ctx);
                (void) nft_run(ctx, cmd);
                nft_ctx_unbuffer_error(ctx);
        }
        free(list);
}

/* "Port tcp 8080 is already forwarded" by another container: its rules carry the same comment. */
static int ports_check_free(struct nft_ctx *ctx, char **ports) {
        char *list = nft_list_table(ctx);
        int r = 0;

        for (char **p = ports; list && p && *p && r == 0; p++) {
                char comment[32], quoted[40];
                if (nat_port_comment(*p, comment) < 0)
                        continue;
                snprintf(quoted, sizeof(quoted), "\"%s\"", comment);
                if (strstr(list, quoted)) {
                        fprintf(stderr, "spawn: %c%s is already forwarded to another container.\n", 'P', comment + 1);
                        r = -EADDRINUSE;
                }
        }
        free(list);
        return r;
}

static void delete_chains(struct nft_ctx *ctx, const char *ifname) {
        char cmd[256], name[NAT_CHAIN_MAX];

        nft_ctx_buffer_error(ctx);
        for (const char *k = "cpo"; *k; k++) {
                nat_chain_name(*k, ifname, name);
                snprintf(cmd, sizeof(cmd), "delete chain " NAT_TABLE " %s\n", name);
                (void) nft_run(ctx, cmd);
        }
        nft_ctx_unbuffer_error(ctx);
        /* The table goes with its last chain ("delete table" would take the other containers'
         * chains along, so look first). */
        char *list = nft_list_table(ctx);
        if (list && !strstr(list, "chain "))
                (void) nft_run(ctx, "delete table " NAT_TABLE "\n");
        free(list);
}

/* A connection to 127.0.0.1 turned towards host0 keeps its loopback source until postrouting;
 * the kernel routes such a packet out of a real interface only where route_localnet is set on the
 * device the route leaves by: ve-NAME for -n, the bridge vz-ZONE (OUTIF) for a zone member. It
 * goes away with the interface (for a zone, with its last member's bridge): nothing to restore. */
static int set_route_localnet(const char *ifname) {
        char path[128];
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", ifname);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = write(fd, "1\n", 2) == 2 ? 0 : -errno;
        close(fd);
        return r;
}

/* One relayed connection to host0's IPv6 address (its IPv4 one without IPv6). */
static void forward_accept(const NatSpec *s, int fd, unsigned port) {
        struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port) };
        struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };

        if (s->addr6 && inet_pton(AF_INET6, s->addr6, &sa6.sin6_addr) == 1)
                nat_proxy_accept(fd, (struct sockaddr *) &sa6, sizeof(sa6));
        else if (inet_pton(AF_INET, s->addr4, &sa4.sin_addr) == 1)
                nat_proxy_accept(fd, (struct sockaddr *) &sa4, sizeof(sa4));
}

static int apply_option(NatSpec *s, size_t *n_ports, int opt, char *val) {
        switch (opt) {
        case '6': s->subnet6 = val; return 0;
        case 'a': s->addr4 = val; return 0;
        case 'A': s->addr6 = val; return 0;
        case 'p': {
                char **m = realloc(s->ports, (*n_ports + 2) * sizeof(char *));
                if (!m)
                        return -ENOMEM;
                m[(*n_ports)++] = val;
                m[*n_ports] = NULL;
                s->ports = m;
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static int parse_args(int argc, char *argv[], NatSpec *s, size_t *n_ports) {
        int opt;

        while ((opt = getopt(argc, argv, "+6:a:A:p:")) >= 0)
                if (apply_option(s, n_ports, opt, optarg) < 0)
                        return -EINVAL;
        if (argc - optind != 2 && argc - optind != 3)
                return -EINVAL;
        s->ifname = argv[optind];
        s->subnet4 = argv[optind + 1];
        s->outif = argc - optind == 3 ? argv[optind + 2] : NULL;
        return 0;
}

/* "-": the first line of stdin is "SUBNET4 [-6 X] [-a X] [-A X] [-p X]...". 0 at EOF before it,
 * or for a line "-" (nothing to do: systemd-networkd's links). */
static int read_subnet_line(NatSpec *s, size_t *n_ports, char *line, size_t size) {
        size_t n = 0;

        for (;;) {
                ssize_t k = read(STDIN_FILENO, line + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
                if (memchr(line, '\n', n) || n == size - 1)
                        break;
        }
        line[n] = '\0';
        char *nl = strchr(line, '\n');
        if (!nl)
                return n == 0 ? 0 : -EINVAL;
        *nl = '\0';
        char *save = NULL, *tok = strtok_r(line, " ", &save);
        if (!tok)
                return -EINVAL;
        if (strcmp(tok, "-") == 0)
                return 0; /* no rules after all */
        s->subnet4 = tok;
        while ((tok = strtok_r(NULL, " ", &save))) {
                char *val = strtok_r(NULL, " ", &save);
                if (tok[0] != '-' || !tok[1] || tok[2] || !val || apply_option(s, n_ports, tok[1], val) < 0)
                        return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        NatSpec s = {};
        size_t n_ports = 0;
        char *cmd = NULL, buf[64], line[4096];

        if (parse_args(argc, argv, &s, &n_ports) < 0) {
                fprintf(stderr, "usage: spawn-nat [-6 SUBNET6] [-a ADDR4] [-A ADDR6] [-p PROTO:HOST:CONTAINER]... IFNAME SUBNET4|- [OUTIF]\n");
                return 2;
        }
        /* A ^C to spawn's process group must not cut the cleanup short: only EOF ends us. */
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);

        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                fprintf(stderr, "spawn: Failed to set up nftables.\n");
                return 1;
        }
        if (strcmp(s.subnet4, "-") == 0) {
                int k = read_subnet_line(&s, &n_ports, line, sizeof(line));
                if (k <= 0) {
                        nft_ctx_free(ctx);
                        return k == 0 ? 0 : 2;
                }
        }
        if (!s.addr4)
                s.addr4 = "0.0.0.0"; /* unused without ports */
        if (nat_rules_add(&s, &cmd) < 0) {
                nft_ctx_free(ctx);
                return 2;
        }
        int lock = table_lock();
        delete_stale_chains(ctx, s.ifname);
        if (ports_check_free(ctx, s.ports) < 0) {
                table_unlock(lock);
                nft_ctx_free(ctx);
                return 1;
        }
        const char *routed = s.outif ?: s.ifname;
        int k = n_ports > 0 ? set_route_localnet(routed) : 0;
        if (k < 0) {
                fprintf(stderr, "spawn: Failed to set route_localnet on %s: %s\n", routed, strerror(-k));
                table_unlock(lock);
                nft_ctx_free(ctx);
                return 1;
        }
        nft_ctx_buffer_error(ctx);
        if (nft_run(ctx, cmd) < 0) {
                const char *e = nft_ctx_get_error_buffer(ctx);
                fprintf(stderr, "spawn: Failed to add the nftables rules for %s: %.*s\n", s.ifname,
                        e ? (int) strcspn(e, "\n") : 0, e ?: "");
                delete_chains(ctx, s.ifname);
                table_unlock(lock);
                nft_ctx_free(ctx);
                return 1;
        }
        table_unlock(lock);
        nft_ctx_unbuffer_error(ctx);
        free(cmd);
        /* Relays for [::1]: relay children are reaped by the kernel. */
        struct pollfd pfd[1 + 16] = { { .fd = STDIN_FILENO, .events = POLLIN } };
        unsigned to_port[1 + 16] = {};
        size_t n_fds = 1;
        signal(SIGCHLD, SIG_IGN);
        for (char **p = s.ports; p && *p && n_fds < 1 + 16; p++) {
                unsigned h, c;
                if (sscanf(*p, "tcp:%u:%u", &h, &c) != 2)
                        continue;
                int fd = nat_proxy_listen(h);
                if (fd < 0) {
                        /* Taken by a service of the host's: it keeps [::1]:h, the forward the rest. */
                        fprintf(stderr, "spawn: Port tcp %u is in use on [::1]; not forwarding it from there: %s\n", h, strerror(-fd));
                        continue;
                }
                to_port[n_fds] = c;
                pfd[n_fds++] = (struct pollfd) { .fd = fd, .events = POLLIN };
        }
        (void) !write(STDOUT_FILENO, "ok\n", 3);
        close(STDOUT_FILENO);

        for (;;) {
                if (poll(pfd, n_fds, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pfd[0].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n == 0 || (n < 0 && errno != EINTR))
                                break;
                }
                for (size_t i = 1; i < n_fds; i++)
                        if (pfd[i].revents)
                                forward_accept(&s, pfd[i].fd, to_port[i]);
        }

        lock = table_lock();
        delete_chains(ctx, s.ifname);
        table_unlock(lock);
        nft_ctx_free(ctx);
        free(s.ports);
        return 0;
}
