/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every enum <-> string table of the tree, checked the same way: each value survives a round trip
 * through its name, and names that are not in the table are -EINVAL. A new table is added here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-util.h"
#include "image-operation.h"
#include "image.h"
#include "kill-whom.h"
#include "machine.h"
#include "machinectl.h"
#include "manager.h"
#include "machine-error.h"
#include "machine-shell.h"
#include "oci-config.h"
#include "oci-state.h"
#include "spawn-options.h"
#include "spawn-register.h"
#include "string-table.h"
#include "supervisor.h"
#include "tap.h"

#define CHECK_TABLE(name, max)                                                                  \
        do {                                                                                    \
                bool _ok = true;                                                                \
                for (int _i = 0; _i < (max); _i++) {                                            \
                        const char *_s = name##_to_string(_i);                                  \
                        if (!_s || (int) name##_from_string(_s) != _i) {                        \
                                printf("# %s: %d <-> \"%s\" does not round-trip\n", #name, _i,  \
                                       _s ?: "(null)");                                         \
                                _ok = false;                                                    \
                        }                                                                       \
                }                                                                               \
                CHECK(_ok && #name " round-trips");                                             \
                CHECK((int) name##_from_string("no-such-" #name) == -EINVAL);                   \
                CHECK((int) name##_from_string("") == -EINVAL);                                 \
                CHECK((int) name##_from_string(NULL) == -EINVAL);                               \
                CHECK(name##_to_string(-1) == NULL);                                            \
                CHECK(name##_to_string(max) == NULL);                                           \
        } while (0)

static void test_string_table_lookup(void) {
        static const char *const table[] = { "a", NULL, "c" };

        CHECK(string_table_lookup(table, ELEMENTSOF(table), "a") == 0);
        CHECK(string_table_lookup(table, ELEMENTSOF(table), "c") == 2);
        CHECK(string_table_lookup(table, ELEMENTSOF(table), "b") == -EINVAL);
        CHECK(string_table_lookup(table, ELEMENTSOF(table), NULL) == -EINVAL);
}

int main(void) {
        test_string_table_lookup();

        /* src/shared */
        CHECK_TABLE(cgroup_mode, _CGROUP_MODE_MAX);
        CHECK_TABLE(kill_whom, _KILL_WHOM_MAX);

        /* spawn */
        CHECK_TABLE(console_mode, _CONSOLE_MODE_MAX);
        CHECK_TABLE(resolv_conf_mode, _RESOLV_CONF_MODE_MAX);
        CHECK_TABLE(timezone_mode, _TIMEZONE_MODE_MAX);
        CHECK_TABLE(link_journal, _LINK_JOURNAL_MAX);
        CHECK_TABLE(register_mode, _REGISTER_MODE_MAX);
        CHECK_TABLE(spawn_source, _SPAWN_SOURCE_MAX);
        CHECK_TABLE(mount_phase, _MOUNT_PHASE_MAX);
        CHECK_TABLE(mount_kind, _MOUNT_KIND_MAX);
        CHECK_TABLE(mount_hook, _MOUNT_HOOK_MAX);
        CHECK_TABLE(oci_hook_kind, _OCI_HOOK_KIND_MAX);
        CHECK_TABLE(oci_namespace_type, _OCI_NS_TYPE_MAX);
        CHECK_TABLE(oci_seccomp_action, _OCI_SECCOMP_ACTION_MAX);
        CHECK_TABLE(oci_seccomp_op, _OCI_SECCOMP_OP_MAX);
        CHECK_TABLE(oci_status, _OCI_STATUS_MAX);
        CHECK_TABLE(volatile_mode, _VOLATILE_MODE_MAX);

        /* machined */
        CHECK_TABLE(machine_class, _MACHINE_CLASS_MAX);
        CHECK_TABLE(machine_state, _MACHINE_STATE_MAX);
        CHECK_TABLE(image_type, _IMAGE_TYPE_MAX);
        CHECK_TABLE(image_operation_kind, _IMAGE_OPERATION_KIND_MAX);
        CHECK_TABLE(cgroup_backend_type, _CGROUP_BACKEND_MAX);
        CHECK_TABLE(supervised_state, _SUPERVISED_STATE_MAX);
        CHECK_TABLE(shell_mode, _SHELL_MODE_MAX);
        CHECK_TABLE(error_context, _ERROR_CONTEXT_MAX);

        /* machinectl */
        CHECK_TABLE(output_mode, _OUTPUT_MODE_MAX);

        return tap_finish();
}
