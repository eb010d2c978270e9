/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Translating user and group IDs between a container and the host (MapFromMachineUser/Group,
 * MapToMachineUser/Group, io.systemd.Machine.MapFrom/MapTo), from the leader's uid_map/gid_map as
 * the kernel shows them to machined. A container without a user namespace of its own shows
 * "0 0 4294967295", so its IDs map to themselves; only the creator of a user namespace can write
 * its maps, so what is read here is not the guest's word. */
#include <errno.h>
#include <stdio.h>

#include "machine.h"
#include "macro.h"

/* Host IDs below this are the host's own (systemd's rule): never reported as a machine's. */
#define HOST_ID_RANGE 0x10000U
#define ID_INVALID UINT32_MAX
/* (uid_t) -1 and the 16-bit -1 are never IDs, as in systemd's uid_is_valid(). */
#define ID_IS_VALID(id) ((id) != ID_INVALID && (id) != UINT16_MAX)
/* The kernel allows at most 340 lines in a map. */
#define ID_MAP_LINES_MAX 340

typedef struct IdMapLine {
        uint32_t inner, outer, count;
} IdMapLine;

/* The leader's map ("uid_map" or "gid_map"): -ESRCH if the leader is gone, -ENXIO without one. */
static int id_map_read(Machine *m, bool group, IdMapLine *lines, size_t *ret_n) {
        char path[64], buf[256];
        size_t n = 0;

        if (!pidref_is_set(&m->leader))
                return -ENXIO; /* registered without a leader: no namespace, no mapping */
        snprintf(path, sizeof(path), "/proc/%i/%s", (int) m->leader.pid, group ? "gid_map" : "uid_map");
        FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : negative_errno();
        while (n < ID_MAP_LINES_MAX && fgets(buf, sizeof(buf), f)) {
                unsigned long a, b, c;
                if (sscanf(buf, "%lu %lu %lu", &a, &b, &c) != 3 || a > UINT32_MAX || b > UINT32_MAX || c > UINT32_MAX)
                        continue;
                lines[n++] = (IdMapLine) { .inner = (uint32_t) a, .outer = (uint32_t) b, .count = (uint32_t) c };
        }
        fclose(f);
        /* Opened by PID: the map is the machine's only if that PID is still its leader. */
        if (pidref_is_alive(&m->leader) <= 0)
                return -ESRCH;
        *ret_n = n;
        return 0;
}

int machine_map_from(Machine *m, bool group, uint32_t inner, uint32_t *ret_outer) {
        IdMapLine lines[ID_MAP_LINES_MAX];
        size_t n;

        if (!ID_IS_VALID(inner))
                return -EINVAL;
        if (m->class != MACHINE_CONTAINER)
                return -EOPNOTSUPP;
        int r = id_map_read(m, group, lines, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (inner < lines[i].inner || inner - lines[i].inner >= lines[i].count)
                        continue;
                uint64_t outer = (uint64_t) lines[i].outer + (inner - lines[i].inner);
                if (outer > UINT32_MAX || !ID_IS_VALID(outer))
                        return -ENXIO;
                *ret_outer = (uint32_t) outer;
                return 0;
        }
        return -ENXIO;
}

/* The ID in m that host ID outer is, if m has a user namespace of its own that maps it. */
static int machine_owns_id(Machine *m, bool group, uint32_t outer, uint32_t *ret_inner) {
        IdMapLine lines[ID_MAP_LINES_MAX];
        size_t n;

        if (m->class != MACHINE_CONTAINER)
                return 0;
        if (id_map_read(m, group, lines, &n) < 0)
                return 0; /* going away: owns nothing any more */
        for (size_t i = 0; i < n; i++) {
                /* An identity map is the host's user namespace, not a range of the machine's. */
                if (lines[i].outer == 0)
                        continue;
                if (outer < lines[i].outer || outer - lines[i].outer >= lines[i].count)
                        continue;
                *ret_inner = lines[i].inner + (outer - lines[i].outer);
                return 1;
        }
        return 0;
}

int manager_map_to_machine(Manager *manager, bool group, uint32_t outer, Machine **ret, uint32_t *ret_inner) {
        if (!ID_IS_VALID(outer))
                return -EINVAL;
        if (outer < HOST_ID_RANGE)
                return -ERANGE;
        Machine *m;
        LIST_FOREACH(machines, m, manager->machines) {
                uint32_t inner;
                if (machine_owns_id(m, group, outer, &inner) > 0) {
                        *ret = m;
                        *ret_inner = inner;
                        return 0;
                }
        }
        return -ENXIO;
}
