/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnetlink through libmnl: libmnl builds and parses the attribute streams (nesting, alignment,
 * sequence checks), we only say what goes in. */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "spawn-netlink.h"

struct Netlink {
        struct mnl_socket *sock;
        unsigned portid;
        unsigned seq;
};

static int netlink_bind(struct mnl_socket *sock, Netlink **ret) {
        if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = negative_errno();
                mnl_socket_close(sock);
                return r;
        }
        Netlink *nl = calloc(1, sizeof(Netlink));
        if (!nl) {
                mnl_socket_close(sock);
                return -ENOMEM;
        }
        nl->sock = sock;
        nl->portid = mnl_socket_get_portid(sock);
        nl->seq = (unsigned) time(NULL);
        *ret = nl;
        return 0;
}

int netlink_open(Netlink **ret) {
        struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!sock)
                return negative_errno();
        return netlink_bind(sock, ret);
}

/* A netlink socket stays in the namespace it was created in: enter @netns_fd for the socket()
 * call only. The supervisor is single-threaded, so nothing else runs in between. */
int netlink_open_in(int netns_fd, Netlink **ret) {
        _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return negative_errno();
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return negative_errno();
        struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        int saved = errno;
        if (setns(self, CLONE_NEWNET) < 0)
                abort(); /* stranded in the container's namespace: nothing safe is left to do */
        if (!sock)
                return -saved;
        return netlink_bind(sock, ret);
}

Netlink *netlink_close(Netlink *nl) {
        if (nl) {
                mnl_socket_close(nl->sock);
                free(nl);
        }
        return NULL;
}

static struct nlmsghdr *netlink_header(Netlink *nl, char *buf, uint16_t type, uint16_t flags) {
        struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | flags;
        h->nlmsg_seq = ++nl->seq;
        return h;
}

/* Sends @h and reads until its answer: the acknowledgement (or error) or, for a dump, its end.
 * @cb sees every data message. */
static int netlink_call(Netlink *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        ssize_t n;
        int r;

        /* NLM_F_DUMP's bits mean NLM_F_CREATE|NLM_F_EXCL on a NEW request: tell them apart by type
         * (every rtnetlink GET type is 2 modulo 4). */
        bool dump = (h->nlmsg_type & 3) == 2 && (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
        if (!dump)
                h->nlmsg_flags |= NLM_F_ACK;
        if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
                return negative_errno();
        for (;;) {
                n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
                if (n < 0)
                        return negative_errno();
                r = mnl_cb_run(buf, (size_t) n, h->nlmsg_seq, nl->portid, cb, data);
                if (r < 0)
                        return negative_errno();
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

int netlink_veth_create(Netlink *nl, const char *host_name, const char *peer_name, pid_t peer_pid) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;

        mnl_attr_put_strz(h, IFLA_IFNAME, host_name);
        struct nlattr *linkinfo = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
        /* The peer's attributes follow an ifinfomsg of its own. */
        struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
        pifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
        mnl_attr_put_u32(h, IFLA_NET_NS_PID, (uint32_t) peer_pid);
        mnl_attr_nest_end(h, peer);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, linkinfo);
        return netlink_call(nl, h, NULL, NULL);
}

/* A GETLINK for one link answers with the link in one message and no acknowledgement: send @h
 * and hand that message to @cb, reading it into @buf (the request's own buffer, no longer needed). */
static int link_get(Netlink *nl, struct nlmsghdr *h, char buf[static MNL_SOCKET_BUFFER_SIZE], mnl_cb_t cb,
                    void *data) {
        h->nlmsg_flags &= ~NLM_F_ACK;
        if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
                return negative_errno();
        ssize_t n = mnl_socket_recvfrom(nl->sock, buf, MNL_SOCKET_BUFFER_SIZE);
        if (n < 0)
                return negative_errno();
        if (mnl_cb_run(buf, (size_t) n, nl->seq, nl->portid, cb, data) < 0)
                return negative_errno();
        return 0;
}

static int link_index_cb(const struct nlmsghdr *h, void *data) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        *(int *) data = ifi->ifi_index;
        return MNL_CB_OK;
}

int netlink_link_index(Netlink *nl, const char *name) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_GETLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        int ifindex = 0, r;

        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        r = link_get(nl, h, buf, link_index_cb, &ifindex);
        if (r < 0)
                return r;
        return ifindex > 0 ? ifindex : -ENODEV;
}

static int link_request(Netlink *nl, uint16_t type, int ifindex, unsigned flags, unsigned change) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, type, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        ifi->ifi_flags = flags;
        ifi->ifi_change = change;
        return netlink_call(nl, h, NULL, NULL);
}

int netlink_link_up(Netlink *nl, int ifindex) {
        return link_request(nl, RTM_NEWLINK, ifindex, IFF_UP, IFF_UP);
}

int netlink_link_delete(Netlink *nl, int ifindex) {
        return link_request(nl, RTM_DELLINK, ifindex, 0, 0);
}

int netlink_addr4_add(Netlink *nl, int ifindex, struct in_addr addr, unsigned prefixlen) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));

        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (uint8_t) prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned) ifindex;
        mnl_attr_put(h, IFA_LOCAL, sizeof(addr), &addr);
        mnl_attr_put(h, IFA_ADDRESS, sizeof(addr), &addr);
        if (prefixlen < 31) {
                struct in_addr brd = { addr.s_addr | htonl(UINT32_MAX >> prefixlen) };
                mnl_attr_put(h, IFA_BROADCAST, sizeof(brd), &brd);
        }
        return netlink_call(nl, h, NULL, NULL);
}

/* The default route of @family through @gateway (an in_addr or in6_addr of @size) on @ifindex. */
static int route_default(Netlink *nl, int family, int ifindex, const void *gateway, size_t size) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));

        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(h, RTA_GATEWAY, size, gateway);
        mnl_attr_put_u32(h, RTA_OIF, (uint32_t) ifindex);
        return netlink_call(nl, h, NULL, NULL);
}

int netlink_route4_default(Netlink *nl, int ifindex, struct in_addr gateway) {
        return route_default(nl, AF_INET, ifindex, &gateway, sizeof(gateway));
}

/* A route dump's results, Route4 or Route6 (@size bytes each), grown one at a time. */
typedef struct RouteDump {
        void *routes;
        size_t n, size;
        int error;
} RouteDump;

static int route_dump_append(RouteDump *d, const void *route) {
        uint8_t *p = realloc(d->routes, (d->n + 1) * d->size);
        if (!p) {
                d->error = -ENOMEM;
                return MNL_CB_ERROR;
        }
        d->routes = p;
        memcpy(p + d->n++ * d->size, route, d->size);
        return MNL_CB_OK;
}

/* Dumps the routes of @family through @cb, which keeps those it wants with route_dump_append(). */
static int route_dump(Netlink *nl, int family, size_t size, mnl_cb_t cb, void **ret, size_t *ret_n) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_GETROUTE, NLM_F_DUMP);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
        RouteDump d = { .size = size };

        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_table = RT_TABLE_UNSPEC;
        int r = netlink_call(nl, h, cb, &d);
        if (r < 0 || d.error < 0) {
                free(d.routes);
                return d.error < 0 ? d.error : r;
        }
        *ret = d.routes;
        *ret_n = d.n;
        return 0;
}

static int route4_dump_cb(const struct nlmsghdr *h, void *data) {
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;
        Route4 route = { .prefixlen = rtm->rtm_dst_len };

        if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len == 0)
                return MNL_CB_OK;
        mnl_attr_for_each(a, h, sizeof(*rtm))
                if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == sizeof(struct in_addr))
                        memcpy(&route.dst, mnl_attr_get_payload(a), sizeof(route.dst));
        return route_dump_append(data, &route);
}

int netlink_route4_dump(Netlink *nl, Route4 **ret, size_t *ret_n) {
        void *routes;
        int r = route_dump(nl, AF_INET, sizeof(Route4), route4_dump_cb, &routes, ret_n);
        if (r < 0)
                return r;
        *ret = routes;
        return 0;
}

int netlink_bridge_create(Netlink *nl, const char *name) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;

        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        struct nlattr *linkinfo = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(h, linkinfo);
        return netlink_call(nl, h, NULL, NULL);
}

int netlink_sublink_create(Netlink *nl, const char *kind, const char *name, int parent_ifindex, pid_t pid) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;

        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        mnl_attr_put_u32(h, IFLA_LINK, (uint32_t) parent_ifindex);
        mnl_attr_put_u32(h, IFLA_NET_NS_PID, (uint32_t) pid);
        struct nlattr *linkinfo = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, kind);
        struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        /* nspawn's modes: macvlan bridge (the containers on one parent see each other), ipvlan L2. */
        if (strcmp(kind, "macvlan") == 0)
                mnl_attr_put_u32(h, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
        else
                mnl_attr_put_u16(h, IFLA_IPVLAN_MODE, IPVLAN_MODE_L2);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, linkinfo);
        return netlink_call(nl, h, NULL, NULL);
}

int netlink_link_set_master(Netlink *nl, int ifindex, int master_ifindex) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t) master_ifindex);
        return netlink_call(nl, h, NULL, NULL);
}

int netlink_link_move(Netlink *nl, int ifindex, pid_t pid, int netns_fd, const char *new_name) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        if (netns_fd >= 0)
                mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t) netns_fd);
        else
                mnl_attr_put_u32(h, IFLA_NET_NS_PID, (uint32_t) pid);
        /* The kernel renames it on the way, so no name clash can happen in between. */
        if (new_name)
                mnl_attr_put_strz(h, IFLA_IFNAME, new_name);
        return netlink_call(nl, h, NULL, NULL);
}

typedef struct MasterCount {
        int master;
        unsigned n;
} MasterCount;

static int master_count_cb(const struct nlmsghdr *h, void *data) {
        MasterCount *m = data;
        const struct nlattr *a;

        mnl_attr_for_each(a, h, sizeof(struct ifinfomsg))
                if (mnl_attr_get_type(a) == IFLA_MASTER && mnl_attr_get_payload_len(a) == sizeof(uint32_t) &&
                    (int) mnl_attr_get_u32(a) == m->master)
                        m->n++;
        return MNL_CB_OK;
}

int netlink_link_count_members(Netlink *nl, int master_ifindex) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_GETLINK, NLM_F_DUMP);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        MasterCount m = { .master = master_ifindex };

        ifi->ifi_family = AF_UNSPEC;
        int r = netlink_call(nl, h, master_count_cb, &m);
        return r < 0 ? r : (int) m.n;
}

typedef struct AddrFirst {
        int ifindex;
        bool found;
        struct in_addr addr;
        unsigned prefixlen;
} AddrFirst;

static int addr_first_cb(const struct nlmsghdr *h, void *data) {
        AddrFirst *f = data;
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;

        if (f->found || ifa->ifa_family != AF_INET || (int) ifa->ifa_index != f->ifindex)
                return MNL_CB_OK;
        mnl_attr_for_each(a, h, sizeof(*ifa))
                if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == sizeof(struct in_addr)) {
                        memcpy(&f->addr, mnl_attr_get_payload(a), sizeof(f->addr));
                        f->prefixlen = ifa->ifa_prefixlen;
                        f->found = true;
                }
        return MNL_CB_OK;
}

int netlink_addr4_first(Netlink *nl, int ifindex, struct in_addr *ret_addr, unsigned *ret_prefixlen) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_GETADDR, NLM_F_DUMP);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
        AddrFirst f = { .ifindex = ifindex };

        ifa->ifa_family = AF_INET;
        int r = netlink_call(nl, h, addr_first_cb, &f);
        if (r < 0)
                return r;
        if (!f.found)
                return -EADDRNOTAVAIL;
        *ret_addr = f.addr;
        *ret_prefixlen = f.prefixlen;
        return 0;
}

/* NODAD: the pair is ours alone, and duplicate address detection would hold the address
 * "tentative" (unusable as a source) for a second or more after the container starts. */
int netlink_addr6_add(Netlink *nl, int ifindex, const struct in6_addr *addr, unsigned prefixlen) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));

        ifa->ifa_family = AF_INET6;
        ifa->ifa_prefixlen = (uint8_t) prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_flags = IFA_F_NODAD;
        ifa->ifa_index = (unsigned) ifindex;
        mnl_attr_put(h, IFA_LOCAL, sizeof(*addr), addr);
        mnl_attr_put(h, IFA_ADDRESS, sizeof(*addr), addr);
        mnl_attr_put_u32(h, IFA_FLAGS, IFA_F_NODAD);
        return netlink_call(nl, h, NULL, NULL);
}

int netlink_route6_default(Netlink *nl, int ifindex, const struct in6_addr *gateway) {
        return route_default(nl, AF_INET6, ifindex, gateway, sizeof(*gateway));
}

static int route6_dump_cb(const struct nlmsghdr *h, void *data) {
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;
        Route6 route = { .prefixlen = rtm->rtm_dst_len };

        /* The default route and the link-local and multicast ones every link has say nothing
         * about which ULA prefixes are in use. */
        if (rtm->rtm_family != AF_INET6 || rtm->rtm_dst_len == 0 || rtm->rtm_type != RTN_UNICAST)
                return MNL_CB_OK;
        mnl_attr_for_each(a, h, sizeof(*rtm))
                if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == sizeof(struct in6_addr))
                        memcpy(&route.dst, mnl_attr_get_payload(a), sizeof(route.dst));
        if (route.dst.s6_addr[0] == 0xfe && (route.dst.s6_addr[1] & 0xc0) == 0x80)
                return MNL_CB_OK;
        return route_dump_append(data, &route);
}

int netlink_route6_dump(Netlink *nl, Route6 **ret, size_t *ret_n) {
        void *routes;
        int r = route_dump(nl, AF_INET6, sizeof(Route6), route6_dump_cb, &routes, ret_n);
        if (r < 0)
                return r;
        *ret = routes;
        return 0;
}

static int link_mac_cb(const struct nlmsghdr *h, void *data) {
        const struct nlattr *a;

        mnl_attr_for_each(a, h, sizeof(struct ifinfomsg))
                if (mnl_attr_get_type(a) == IFLA_ADDRESS && mnl_attr_get_payload_len(a) == 6)
                        memcpy(data, mnl_attr_get_payload(a), 6);
        return MNL_CB_OK;
}

int netlink_link_mac(Netlink *nl, int ifindex, uint8_t ret[static 6]) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = netlink_header(nl, buf, RTM_GETLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        uint8_t mac[6] = {};

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        int r = link_get(nl, h, buf, link_mac_cb, mac);
        if (r < 0)
                return r;
        memcpy(ret, mac, 6);
        return 0;
}
