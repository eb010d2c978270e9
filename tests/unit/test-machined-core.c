/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machined's model without a bus: the registration spec, the error table, state files, scope
 * properties, the generic operation and the systemd job tracker's ordering. (Its enum tables are in test-string-tables.c.) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "env-file.h"
#include "fd-util.h"
#include "job-tracker.h"
#include "machine-error.h"
#include "machine-spec.h"
#include "machine.h"
#include "manager.h"
#include "operation.h"
#include "pending-reply.h"
#include "state.h"
#include "strv.h"
#include "tap.h"

/* ---- the error table ------------------------------------------------------------------------- */

static void test_error_table(void) {
        const ErrorMapping *m;
        size_t n;

        /* The same errno, different meanings: the Kill case of issue 9. */
        m = error_mapping_find(ERROR_CONTEXT_LOOKUP, -ESRCH);
        CHECK_STREQ(m->dbus_name, "org.freedesktop.machine1.NoSuchMachine");
        CHECK_STREQ(m->varlink_name, "io.systemd.Machine.NoSuchMachine");
        m = error_mapping_find(ERROR_CONTEXT_KILL, -ESRCH);
        CHECK_STREQ(m->dbus_name, "org.freedesktop.DBus.Error.UnixProcessIdUnknown");
        CHECK(m->varlink_name == NULL); /* io.systemd.System, errno 3, as sd-varlink sends it */
        m = error_mapping_find(ERROR_CONTEXT_KILL, EINVAL);
        CHECK_STREQ(m->dbus_name, "org.freedesktop.DBus.Error.InvalidArgs");
        CHECK_STREQ(m->varlink_name, "org.varlink.service.InvalidParameter");
        m = error_mapping_find(ERROR_CONTEXT_REGISTER, -EEXIST);
        CHECK_STREQ(m->dbus_name, "org.freedesktop.machine1.MachineExists");
        CHECK_STREQ(m->varlink_name, "io.systemd.Machine.MachineExists");
        m = error_mapping_find(ERROR_CONTEXT_REGISTER, -ESRCH);
        CHECK(m->dbus_name == NULL);
        CHECK_STREQ(m->varlink_parameter, "leader");
        m = error_mapping_find(ERROR_CONTEXT_LOOKUP_PID, -ENXIO);
        CHECK_STREQ(m->dbus_name, "org.freedesktop.machine1.NoMachineForPID");
        m = error_mapping_find(ERROR_CONTEXT_OPERATION, -EBUSY);
        CHECK_STREQ(m->dbus_name, "org.freedesktop.DBus.Error.LimitsExceeded");
        CHECK_STREQ(m->varlink_name, "io.systemd.Machine.TooManyOperations");
        /* No row: errno-derived on both sides. */
        m = error_mapping_find(ERROR_CONTEXT_TERMINATE, -EPERM);
        CHECK(m->dbus_name == NULL && m->varlink_name == NULL && m->error == EPERM);

        /* Every row: a known context, a positive errno, a D-Bus message, one row per (context, errno),
         * and InvalidParameter only with a D-Bus InvalidArgs (or the errno's own name: a leader
         * that is gone, as systemd-machined reports it). */
        const ErrorMapping *t = error_mapping_table(&n);
        bool ok = n > 0;
        for (size_t i = 0; i < n; i++) {
                ok = ok && error_context_to_string(t[i].context) && t[i].error > 0 && t[i].dbus_message;
                ok = ok && error_mapping_find(t[i].context, t[i].error) == t + i;
                if (t[i].varlink_name && streq(t[i].varlink_name, VARLINK_INVALID_PARAMETER))
                        ok = ok && (!t[i].dbus_name || streq(t[i].dbus_name, DBUS_ERROR_INVALID_ARGS));
        }
        CHECK(ok);

        Failure f = FAILURE_NULL;
        CHECK(!failure_is_set(&f));
        CHECK(failure_set(&f, ENOENT, "no %s: %m", "thing") == -ENOENT);
        CHECK(failure_is_set(&f));
        CHECK_STREQ(f.message, "no thing: No such file or directory");
        CHECK(failure_set_parameter(&f, -EINVAL, "whom", "bad") == -EINVAL);
        CHECK_STREQ(f.parameter, "whom");
        failure_done(&f);
        CHECK(f.message == NULL && f.error == 0);
        CHECK(failure_set(NULL, -EIO, "ignored") == -EIO);
}

/* ---- the registration spec --------------------------------------------------------------------- */

static int spec_error(const MachineSpec *s, const char **ret_parameter) {
        Failure f = FAILURE_NULL;
        int r = machine_spec_validate(s, &f);
        *ret_parameter = f.parameter;
        failure_done(&f);
        return r;
}

/* The i-th way to get a spec wrong, in the order of bad_parameters below. */
static void spec_break(MachineSpec *s, size_t i) {
        switch (i) {
        case 0: s->name = NULL; break;
        case 1: s->name = "../x"; break;
        case 2: s->name = ".hidden"; break;
        case 3: s->class = "toaster"; break;
        case 4: s->leader_pid = 1; break;
        case 5: s->leader_pid = (uint32_t) INT32_MAX + 1; break;
        case 6: s->root_directory = "relative/root"; break;
        case 7: s->root_directory = "/with\nnewline"; break;
        case 8: s->vsock_cid = 2; break;
        case 9: s->service = "bell\a"; break;
        default: s->ssh_address = "\x7f"; break;
        }
}

static void test_spec_validate(void) {
        static const int good_if[] = { 1, 7 }, bad_if[] = { 3, 0 };
        const char *param = NULL;
        MachineSpec s = MACHINE_SPEC_INIT;

        s.name = "foo";
        CHECK(spec_error(&s, &param) == 0);
        s.class = "container";
        s.root_directory = "/srv/foo";
        s.service = "nspawn";
        s.netif = good_if;
        s.n_netif = 2;
        s.vsock_cid = 3;
        s.leader_pid = 4242;
        CHECK(spec_error(&s, &param) == 0);
        /* systemd's host name rules (issue 11, finding 8). */
        static const char *const refused_names[] = { "-", "-a", "a-", "a_b", "a.", "_" };
        for (size_t i = 0; i < ELEMENTSOF(refused_names); i++) {
                s.name = refused_names[i];
                CHECK(spec_error(&s, &param) == -EINVAL && param && streq(param, "name"));
        }
        s.name = "foo";

        static const char *const bad_parameters[] = { "name", "name", "name", "class", "leader", "leader",
                                                      "rootDirectory", "rootDirectory", "vSockCid", "service",
                                                      "sshAddress" };
        for (size_t i = 0; i < ELEMENTSOF(bad_parameters); i++) {
                MachineSpec t = s;
                spec_break(&t, i);
                int r = spec_error(&t, &param);
                CHECK(r == -EINVAL);
                CHECK_STREQ(param, bad_parameters[i]);
        }
        MachineSpec t = s;
        t.netif = bad_if;
        CHECK(spec_error(&t, &param) == -EINVAL);
        CHECK_STREQ(param, "ifIndices");
        t = s;
        t.leader_parameter = "leaderProcessId";
        t.leader_pid = 1;
        CHECK(spec_error(&t, &param) == -EINVAL);
        CHECK_STREQ(param, "leaderProcessId");
        /* Empty class and root are "not given", as over D-Bus. */
        t = s;
        t.class = "";
        t.root_directory = "";
        CHECK(spec_error(&t, &param) == 0);

        char *long_string = malloc(MACHINE_STRING_MAX + 2);
        memset(long_string, 'a', MACHINE_STRING_MAX + 1);
        long_string[MACHINE_STRING_MAX + 1] = 0;
        CHECK(!machine_string_is_valid(long_string));
        long_string[MACHINE_STRING_MAX] = 0;
        CHECK(machine_string_is_valid(long_string));
        free(long_string);
        CHECK(machine_string_is_valid(NULL));
        CHECK(vsock_cid_is_regular(3) && !vsock_cid_is_regular(2) && !vsock_cid_is_regular(UINT32_MAX));
}

static void test_spec_exists(void) {
        Manager manager = { .state_dir_fd = -EBADF, .cgroup_ops = &cgroup_ops_cgroupfs };
        MachineSpec s = MACHINE_SPEC_INIT;
        Failure f = FAILURE_NULL;
        Machine *m = NULL;

        s.name = "taken";
        CHECK(machine_spec_check(&manager, &s, &f) == 0);
        CHECK(machine_new(&manager, "taken", &m) == 0);
        CHECK(machine_new(&manager, "taken", &m) == -EEXIST);
        CHECK(machine_new(&manager, "in valid", &m) == -EINVAL);
        CHECK(machine_spec_check(&manager, &s, &f) == -EEXIST);
        CHECK(f.message && strstr(f.message, "taken"));
        failure_done(&f);
        machine_free(manager.machines);
        CHECK(manager.n_machines == 0);
}

/* Kill's arguments are checked by the model, for both bindings. */
static void test_kill_request(void) {
        Manager manager = { .state_dir_fd = -EBADF, .cgroup_ops = &cgroup_ops_cgroupfs };
        Failure f = FAILURE_NULL;
        Machine *m = NULL;

        CHECK(machine_new(&manager, "victim", &m) == 0);
        CHECK(machine_kill_request(m, "bogus", SIGTERM, &f) == -EINVAL);
        CHECK_STREQ(f.parameter, "whom");
        CHECK(machine_kill_request(m, "all", 0, &f) == -EINVAL);
        CHECK_STREQ(f.parameter, "signal");
        CHECK(machine_kill_request(m, "", (int64_t) _NSIG, &f) == -EINVAL);
        CHECK_STREQ(f.parameter, "signal");
        CHECK(machine_kill_request(m, "supervisor", SIGTERM, &f) == -EINVAL);
        CHECK(f.message && strstr(f.message, "no supervisor"));
        /* No leader pinned (it is gone): the process is unknown, the machine is not. */
        CHECK(machine_kill_request(m, "leader", SIGTERM, &f) == -ESRCH);
        CHECK(f.message && strstr(f.message, "leader process of machine victim is gone"));
        CHECK_STREQ(error_mapping_find(ERROR_CONTEXT_KILL, f.error)->dbus_name, DBUS_ERROR_PROCESS_UNKNOWN);
        failure_done(&f);
        machine_free(m);
}

/* ---- scope properties -------------------------------------------------------------------------- */

static void test_scope_properties(void) {
        CGroupLimits l = CGROUP_LIMITS_UNSET;
        Failure f = FAILURE_NULL;

        CHECK(scope_property_is_limit("MemoryMax") && !scope_property_is_limit("Description"));
        CHECK(scope_property_parse("Description", 5, &l, &f) == 0);
        CHECK(scope_property_parse("MemoryMax", 1 << 20, &l, &f) == 1 && l.memory_max == 1 << 20);
        CHECK(scope_property_parse("MemoryLimit", UINT64_MAX, &l, &f) == 1 && l.memory_max == CGROUP_LIMIT_MAX);
        CHECK(scope_property_parse("TasksMax", 0, &l, &f) == -EINVAL);
        CHECK(scope_property_parse("TasksMax", 10, &l, &f) == 1 && l.tasks_max == 10);
        CHECK(scope_property_parse("CPUQuotaPerSecUSec", 0, &l, &f) == -EINVAL);
        CHECK(scope_property_parse("CPUQuotaPerSecUSec", 500000, &l, &f) == 1 && l.cpu_quota_per_sec_usec == 500000);
        CHECK(scope_property_parse("CPUShares", 2048, &l, &f) == 1 && l.cpu_weight == 200);
        CHECK(scope_property_parse("CPUWeight", 0, &l, &f) == -EINVAL);
        CHECK(scope_property_parse("CPUWeight", 10001, &l, &f) == -EINVAL);
        CHECK(f.message && strstr(f.message, "CPUWeight out of range"));
        CHECK(scope_property_parse("BlockIOWeight", 500, &l, &f) == 1 && l.io_weight == 100);
        CHECK(scope_property_parse("IOWeight", UINT64_MAX, &l, &f) == 1 && l.io_weight == UINT64_MAX);
        /* Issue 11: 184467440737095528 * 100 wraps to 32, which used to come out as weight 1. */
        l = CGROUP_LIMITS_UNSET;
        CHECK(scope_property_parse("CPUShares", 184467440737095528ULL, &l, &f) == -EINVAL);
        CHECK(l.cpu_weight == CGROUP_LIMITS_UNSET.cpu_weight);
        CHECK(scope_property_parse("CPUShares", 262145, &l, &f) == -EINVAL);
        CHECK(scope_property_parse("CPUShares", 1, &l, &f) == -EINVAL);
        CHECK(scope_property_parse("CPUShares", 2, &l, &f) == 1 && l.cpu_weight == 1);
        CHECK(scope_property_parse("CPUShares", 262144, &l, &f) == 1 && l.cpu_weight == 25600);
        CHECK(scope_property_parse("BlockIOWeight", 5, &l, &f) == -EINVAL);
        CHECK(scope_property_parse("BlockIOWeight", 1001, &l, &f) == -EINVAL);
        CHECK(scope_property_parse("BlockIOWeight", UINT64_MAX / 2, &l, &f) == -EINVAL);
        failure_done(&f);
}

/* ---- state files ------------------------------------------------------------------------------- */

static char **parse_env(const char *data, size_t size) {
        char **env = NULL;
        FILE *f = fmemopen((void *) data, size, "r");
        if (!f)
                return NULL;
        if (env_file_parse(f, &env) < 0)
                env = NULL;
        fclose(f);
        return env;
}

static void test_state_round_trip(void) {
        Manager manager = { .state_dir_fd = -EBADF, .cgroup_ops = &cgroup_ops_cgroupfs };
        /* The same name in a second registry: CGROUP= is only accepted for the machine it names. */
        Manager other = { .state_dir_fd = -EBADF, .cgroup_ops = &cgroup_ops_cgroupfs };
        Machine *m = NULL, *back = NULL;
        char *data = NULL;
        size_t size = 0;

        CHECK(machine_new(&manager, "state-test", &m) == 0);
        m->class = MACHINE_CONTAINER;
        m->state = MACHINE_RUNNING;
        m->service = strdup("svc with \"quotes\" and $dollar");
        m->root_directory = strdup("/srv/state test");
        m->unit = strdup("machine-state\\x2dtest.scope");
        m->cgroup = strdup("/machine.slice/machine-state\\x2dtest.scope");
        m->cgroup_owned = true;
        m->uid = 1000;
        m->vsock_cid = 42;
        m->timestamp_realtime = 1234567;
        m->timestamp_monotonic = 7654321;
        for (size_t i = 0; i < 16; i++)
                m->id.bytes[i] = (uint8_t) (i * 17);
        m->netif = calloc(2, sizeof(int));
        m->netif[0] = 3;
        m->netif[1] = 9;
        m->n_netif = 2;
        CHECK(machine_serialize(m, &data, &size) == 0);
        CHECK(data && strstr(data, "NAME=state-test\n"));
        CHECK(data && strstr(data, "SCOPE=machine-state\\\\x2dtest.scope") == NULL); /* quoted, not raw */
        CHECK(data && strstr(data, "BACKEND=cgroupfs\n"));
        CHECK(data && strstr(data, "CLASS=container\n"));

        char **env = parse_env(data, size);
        CHECK(env != NULL);
        CHECK(machine_new(&other, "state-test", &back) == 0);
        CHECK(machine_deserialize(back, env) == 0);
        CHECK_STREQ(back->service, m->service);
        CHECK_STREQ(back->root_directory, m->root_directory);
        CHECK_STREQ(back->unit, m->unit);
        CHECK_STREQ(back->cgroup, m->cgroup);
        CHECK(back->cgroup_owned && back->uid == 1000 && back->vsock_cid == 42);
        CHECK(back->class == MACHINE_CONTAINER && back->state == MACHINE_RUNNING);
        CHECK(back->timestamp_realtime == 1234567 && back->timestamp_monotonic == 7654321);
        CHECK(memcmp(&back->id, &m->id, sizeof(Id128)) == 0);
        CHECK(back->n_netif == 2 && back->netif[0] == 3 && back->netif[1] == 9);
        strv_free(env);
        free(data);

        /* A value with a control character is refused rather than written broken. */
        free(m->service);
        m->service = strdup("two\nlines");
        data = NULL;
        CHECK(machine_serialize(m, &data, &size) == -EINVAL);
        CHECK(data == NULL);

        /* Garbage in a state file is ignored field by field, not fatal. */
        const char garbage[] = "NAME=state-back\nCLASS=toaster\nSTATE=weird\nUID=notanumber\nNETIF=1 x 0 5\n";
        env = parse_env(garbage, sizeof(garbage) - 1);
        machine_free(back);
        CHECK(machine_new(&manager, "state-back", &back) == 0);
        CHECK(env && machine_deserialize(back, env) == 0);
        CHECK(back->class == _MACHINE_CLASS_INVALID && back->state == MACHINE_RUNNING && back->uid == 0);
        CHECK(back->n_netif == 2 && back->netif[0] == 1 && back->netif[1] == 5);
        strv_free(env);

        /* Issue 11: a CGROUP= other than the machine's own scope is dropped, never killed. */
        const char foreign[] = "NAME=state-back\nCGROUP=/machine.slice\nCGROUP_OWNED=1\n";
        env = parse_env(foreign, sizeof(foreign) - 1);
        machine_free(back);
        CHECK(machine_new(&manager, "state-back", &back) == 0);
        CHECK(env && machine_deserialize(back, env) == 0);
        CHECK(back->cgroup == NULL);
        strv_free(env);
        machine_free(back);
        machine_free(m);
}

static void test_state_cgroup_check(void) {
        CHECK(state_cgroup_is_own("foo", "/machine.slice/machine-foo.scope"));
        CHECK(state_cgroup_is_own("a-b", "/machine.slice/machine-a\\x2db.scope"));
        CHECK(!state_cgroup_is_own("foo", "/machine.slice"));
        CHECK(!state_cgroup_is_own("foo", "/"));
        CHECK(!state_cgroup_is_own("foo", "/machine.slice/machine-bar.scope"));
        CHECK(!state_cgroup_is_own("foo", "/machine.slice/machine-foo.scope/.."));
        CHECK(!state_cgroup_is_own("foo", "/other.slice/machine-foo.scope"));
        CHECK(!state_cgroup_is_own("foo", NULL));
}

/* ---- the job tracker ------------------------------------------------------------------------- */

typedef struct Seen {
        int calls;
        char result[32];
        int error;
} Seen;

static void on_done(TrackedJob *j, const JobOutcome *o, void *userdata) {
        Seen *s = userdata;
        s->calls++;
        snprintf(s->result, sizeof(s->result), "%s", o->result ?: "");
        s->error = o->error;
}

static void test_job_tracker(void) {
        JobTracker *t = job_tracker_new();
        TrackedJob *a, *b;
        Seen sa = {}, sb = {};

        /* Reply first, then JobRemoved. */
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        CHECK(tracked_job_path(a) == NULL);
        CHECK(tracked_job_reply(a, "/job/1") == 0);
        CHECK_STREQ(tracked_job_path(a), "/job/1");
        CHECK(sa.calls == 0);
        CHECK(job_tracker_removed(t, "/job/other", "done") == 0);
        CHECK(job_tracker_n_remembered(t) == 0); /* nobody waits for a reply: nothing to remember */
        CHECK(job_tracker_removed(t, "/job/1", "done") == 1);
        CHECK(sa.calls == 1 && streq(sa.result, "done"));
        CHECK(job_tracker_n_jobs(t) == 0);

        /* JobRemoved first, then the reply: completes when the reply comes. */
        sa = (Seen) {};
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        CHECK(job_tracker_removed(t, "/job/2", "failed") == 0);
        CHECK(job_tracker_n_remembered(t) == 1);
        CHECK(sa.calls == 0);
        CHECK(tracked_job_reply(a, "/job/2") == 1);
        CHECK(sa.calls == 1 && streq(sa.result, "failed"));
        CHECK(job_tracker_n_jobs(t) == 0 && job_tracker_n_remembered(t) == 0);

        /* Two calls in flight, signals for both before either reply, replies in the other order. */
        sa = (Seen) {};
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        CHECK(job_tracker_add(t, on_done, &sb, &b) == 0);
        CHECK(job_tracker_removed(t, "/job/3", "done") == 0);
        CHECK(job_tracker_removed(t, "/job/4", "canceled") == 0);
        CHECK(tracked_job_reply(b, "/job/4") == 1);
        CHECK(sb.calls == 1 && streq(sb.result, "canceled"));
        CHECK(job_tracker_n_remembered(t) == 2); /* a still waits: both are kept */
        CHECK(tracked_job_reply(a, "/job/3") == 1);
        CHECK(sa.calls == 1 && streq(sa.result, "done"));
        CHECK(job_tracker_n_remembered(t) == 0);

        /* systemd merges equal requests into one job: one JobRemoved ends every call told its path,
         * whether the replies came before it or after. */
        sa = (Seen) {};
        sb = (Seen) {};
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        CHECK(job_tracker_add(t, on_done, &sb, &b) == 0);
        CHECK(tracked_job_reply(a, "/job/merged") == 0);
        CHECK(tracked_job_reply(b, "/job/merged") == 0);
        CHECK(job_tracker_removed(t, "/job/merged", "done") == 1);
        CHECK(sa.calls == 1 && sb.calls == 1 && job_tracker_n_jobs(t) == 0);
        sa = (Seen) {};
        sb = (Seen) {};
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        CHECK(job_tracker_add(t, on_done, &sb, &b) == 0);
        CHECK(job_tracker_removed(t, "/job/merged2", "done") == 0);
        CHECK(tracked_job_reply(a, "/job/merged2") == 1);
        CHECK(tracked_job_reply(b, "/job/merged2") == 1);
        CHECK(sa.calls == 1 && sb.calls == 1 && job_tracker_n_jobs(t) == 0 && job_tracker_n_remembered(t) == 0);

        /* A failed call reports its error; the signal memory goes with the last waiter. */
        sa = (Seen) {};
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        CHECK(job_tracker_removed(t, "/job/5", "done") == 0);
        tracked_job_reply_error(a, -ENOENT, "org.freedesktop.systemd1.NoSuchUnit", "no unit");
        CHECK(sa.calls == 1 && sa.error == -ENOENT && streq(sa.result, ""));
        CHECK(job_tracker_n_remembered(t) == 0 && job_tracker_n_jobs(t) == 0);

        /* The memory is bounded while a reply is outstanding. */
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        for (unsigned i = 0; i < 3 * JOB_TRACKER_REMEMBER_MAX; i++) {
                char path[32];
                snprintf(path, sizeof(path), "/job/busy/%u", i);
                (void) job_tracker_removed(t, path, "done");
        }
        CHECK(job_tracker_n_remembered(t) == JOB_TRACKER_REMEMBER_MAX);
        /* Forgetting a waiting job (its owner went away) calls nothing. */
        sa = (Seen) {};
        tracked_job_free(a);
        CHECK(sa.calls == 0 && job_tracker_n_jobs(t) == 0 && job_tracker_n_remembered(t) == 0);

        /* Freeing the tracker with jobs pending is clean (ASan checks). */
        CHECK(job_tracker_add(t, on_done, &sa, &a) == 0);
        CHECK(job_tracker_add(t, on_done, &sb, &b) == 0);
        CHECK(tracked_job_reply(b, "/job/6") == 0);
        job_tracker_free(t);
}

/* ---- the generic operation ------------------------------------------------------------------ */

typedef struct Answer {
        int calls, released, error, fd;
        char text[64], message[128];
} Answer;

static void answer_complete(void *call, const Failure *f, const void *result) {
        Answer *a = call;
        const OperationResult *o = result;
        a->calls++;
        a->error = f ? f->error : 0;
        snprintf(a->message, sizeof(a->message), "%s", f && f->message ? f->message : "");
        if (o) {
                snprintf(a->text, sizeof(a->text), "%s", o->text);
                a->fd = o->fd >= 0 ? fcntl(o->fd, F_DUPFD_CLOEXEC, 3) : -EBADF;
        }
}

static void answer_release(void *call) {
        ((Answer *) call)->released++;
}

static void run_until_answered(Manager *manager, const Answer *a) {
        for (unsigned i = 0; i < 100 && a->calls == 0; i++)
                (void) sd_event_run(manager->event, 100 * 1000);
}

static void test_operation(void) {
        Manager manager = { .state_dir_fd = -EBADF, .cgroup_ops = &cgroup_ops_cgroupfs };
        Failure f = FAILURE_NULL;
        Answer a = { .fd = -EBADF };
        int pair[2];

        CHECK(sd_event_new(&manager.event) >= 0);

        /* A result with an fd, through a report channel made by the caller. */
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
        PendingReply reply = { .complete = answer_complete, .release = answer_release, .call = &a };
        CHECK(operation_start_fd(&manager, NULL, "test", pair[0], 0, &reply, &f, NULL) == 0);
        CHECK(!pending_reply_is_set(&reply) && manager.n_operations == 1);
        CHECK(operation_report_result(pair[1], STDIN_FILENO, "/dev/pts/7") == 0);
        run_until_answered(&manager, &a);
        CHECK(a.calls == 1 && a.released == 1 && a.error == 0);
        CHECK_STREQ(a.text, "/dev/pts/7");
        CHECK(a.fd >= 0);
        CHECK(manager.n_operations == 0); /* report read, no child: done */
        safe_close(a.fd);
        safe_close(pair[1]);

        /* A failure, from a forked helper as operation_report_failure() ends it. */
        a = (Answer) { .fd = -EBADF };
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
        pid_t pid = fork();
        if (pid == 0)
                operation_report_failure(pair[1], -ENOENT, "No %s here: %m", "login");
        safe_close(pair[1]);
        reply = (PendingReply) { .complete = answer_complete, .release = answer_release, .call = &a };
        CHECK(operation_start_fd(&manager, NULL, "test", pair[0], 0, &reply, &f, NULL) == 0);
        run_until_answered(&manager, &a);
        (void) waitpid(pid, NULL, 0);
        CHECK(a.calls == 1 && a.error == -ENOENT);
        CHECK_STREQ(a.message, "No login here: No such file or directory");

        /* The helper dies without a word. */
        a = (Answer) { .fd = -EBADF };
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
        reply = (PendingReply) { .complete = answer_complete, .release = answer_release, .call = &a };
        CHECK(operation_start_fd(&manager, NULL, "test", pair[0], 0, &reply, &f, NULL) == 0);
        safe_close(pair[1]);
        run_until_answered(&manager, &a);
        CHECK(a.calls == 1 && a.error == -EIO);

        /* The bound: nothing starts beyond it, and the reply stays with the caller. */
        manager.n_operations = OPERATIONS_MAX;
        a = (Answer) { .fd = -EBADF };
        reply = (PendingReply) { .complete = answer_complete, .release = answer_release, .call = &a };
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
        CHECK(operation_start_fd(&manager, NULL, "test", pair[0], 0, &reply, &f, NULL) == -EBUSY);
        CHECK(pending_reply_is_set(&reply) && a.calls == 0);
        CHECK(error_mapping_find(ERROR_CONTEXT_OPERATION, f.error)->varlink_name != NULL);
        pending_reply_done(&reply);
        CHECK(a.released == 1 && a.calls == 0);
        safe_close(pair[1]);
        manager.n_operations = 0;

        /* Freed while pending (machined stops): answered as cancelled. */
        a = (Answer) { .fd = -EBADF };
        reply = (PendingReply) { .complete = answer_complete, .release = answer_release, .call = &a };
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
        CHECK(operation_start_fd(&manager, NULL, "test", pair[0], 0, &reply, &f, NULL) == 0);
        operation_free(manager.operations);
        CHECK(a.calls == 1 && a.error == -ECANCELED && manager.n_operations == 0);
        safe_close(pair[1]);

        failure_done(&f);
        sd_event_unref(manager.event);
}

int main(void) {
        test_error_table();
        test_spec_validate();
        test_spec_exists();
        test_kill_request();
        test_scope_properties();
        test_state_round_trip();
        test_state_cgroup_check();
        test_job_tracker();
        test_operation();
        return tap_finish();
}
