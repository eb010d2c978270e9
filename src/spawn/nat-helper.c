/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-nat IFNAME SUBNET|- [OUTIF]: masquerades SUBNET's traffic leaving by any interface but
 * OUTIF (default: IFNAME), in a chain of its own (IFNAME) of the table "ip berth", until its stdin
 * reaches EOF, then removes the chain. spawn keeps the write end of stdin, so the rules go when
 * spawn goes, even by SIGKILL. It prints "ok" on stdout once the rules are in. With "-" for SUBNET
 * it reads it as the first line of stdin, after loading and setting up libnftables: spawn starts
 * us before it knows the subnet, so that cost overlaps its own work (EOF before the line: spawn
 * failed, nothing to do). A helper because libnftables (with libnftnl, libjansson, libgmp and
 * libxtables) would double what spawn loads on every start. */
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Taken around adding our chain and around removing it with, maybe, the table: "list, then delete
 * the table if no chain is left" is two transactions, and another container's chain added in
 * between would go with the table. Without a writable /run, we go without. */
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

/* nft's identifiers take no quotes and few characters: name the chain by the interface in hex. */
static void chain_name(const char *ifname, char *buf) {
        buf += sprintf(buf, "c_");
        for (; *ifname; ifname++)
                buf += sprintf(buf, "%02x", (unsigned char) *ifname);
}

int main(int argc, char *argv[]) {
        char chain[2 + 2 * 16 + 1];
        char cmd[1024];
        char buf[64];
        char subnet[64];
        int r;

        /* A zone member's chain is its vb-NAME's, but its traffic stays unmasqueraded on the
         * zone's bridge, vz-ZONE: with br_netfilter, bridged IPv4 passes postrouting with the
         * bridge as oifname. */
        const char *outif = argc == 4 ? argv[3] : argv[1];
        if ((argc != 3 && argc != 4) || strlen(argv[1]) >= 16 || strpbrk(argv[1], "\"\\; \n") || strpbrk(argv[2], "\"\\; \n") ||
            strlen(outif) >= 16 || strpbrk(outif, "\"\\; \n")) {
                fprintf(stderr, "usage: spawn-nat IFNAME SUBNET|- [OUTIF]\n");
                return 2;
        }
        /* A ^C to spawn's process group must not cut the cleanup short: only EOF ends us. */
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);

        chain_name(argv[1], chain);
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                fprintf(stderr, "spawn: Failed to set up nftables.\n");
                return 1;
        }
        if (strcmp(argv[2], "-") == 0) {
                size_t n = 0;
                for (;;) {
                        ssize_t k = read(STDIN_FILENO, subnet + n, sizeof(subnet) - 1 - n);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        n += (size_t) k;
                        if (memchr(subnet, '\n', n) || n == sizeof(subnet) - 1)
                                break;
                }
                subnet[n] = '\0';
                char *nl = strchr(subnet, '\n');
                if (!nl) {
                        nft_ctx_free(ctx);
                        return n == 0 ? 0 : 2;
                }
                *nl = '\0';
                if (!*subnet || strpbrk(subnet, "\"\\; ")) {
                        nft_ctx_free(ctx);
                        return 2;
                }
                argv[2] = subnet;
        }
        snprintf(cmd, sizeof(cmd),
                 "add table ip berth\n"
                 "add chain ip berth %3$s { type nat hook postrouting priority srcnat; }\n"
                 "add rule ip berth %3$s ip saddr %2$s oifname != \"%1$s\" masquerade\n",
                 outif, argv[2], chain);
        int lock = table_lock();
        r = nft_run(ctx, cmd);
        table_unlock(lock);
        if (r < 0) {
                fprintf(stderr, "spawn: Failed to add the masquerading rule for %s.\n", argv[1]);
                nft_ctx_free(ctx);
                return 1;
        }
        (void) !write(STDOUT_FILENO, "ok\n", 3);
        close(STDOUT_FILENO);

        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                if (n == 0 || (n < 0 && errno != EINTR))
                        break;
        }

        snprintf(cmd, sizeof(cmd), "delete chain ip berth %s\n", chain);
        lock = table_lock();
        r = nft_run(ctx, cmd);
        /* The table goes with its last chain ("delete table" would take the other containers'
         * chains along, so look first). */
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        if (nft_run(ctx, "list table ip berth\n") == 0) {
                const char *out = nft_ctx_get_output_buffer(ctx);
                if (out && !strstr(out, "chain "))
                        (void) nft_run(ctx, "delete table ip berth\n");
        }
        table_unlock(lock);
        nft_ctx_free(ctx);
        return r < 0 ? 1 : 0;
}
