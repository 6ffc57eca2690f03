/*
 * Election end to end: several elector processes (t/e2e/elector) against
 * the Kubernetes API simulator. Checks at most one leader at any time
 * (from the electors' own transitions and from the simulator's write log),
 * takeover after SIGKILL and after SIGTERM, a leader cut off from the API
 * server stepping down before its lease can expire elsewhere, standbys and
 * followers taking over, and renewals not delayed by 200 health writers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "test_kube_simlib.h"
#include "xalloc.h"

#define MAX_EL 8
#define LEASE_NAME "twa-e2e"

/* One elector process. */
struct el {
	char		 id[32];
	struct proc	*p;
	char		*events;
	long long	 killed_at;	/* monotonic ms of SIGKILL, 0 if alive */
};

static struct ksim *sim;
static struct el els[MAX_EL];
static int nels;

/* Fixture: a fresh simulator per test. */
static void
setup(void)
{
	char *cause = NULL;

	sim = ksim_start(&cause);
	ck_assert_msg(sim != NULL, "cannot start the simulator: %s", cause);
	nels = 0;
}

/* Fixture teardown: stop every elector and the simulator. */
static void
teardown(void)
{
	for (int i = 0; i < nels; i++) {
		proc_stop(els[i].p);
		free(els[i].events);
	}
	nels = 0;
	ksim_stop(sim);
}

/*
 * Start elector id (its own token and user = id) against server (NULL:
 * the simulator) with extra options (NULL-terminated). Returns its index.
 */
static int
spawn_wrapped(const char *id, const char *server, const char *const *extra,
    const char *const *wrapper)
{
	struct el *e = &els[nels];
	char *argv[64], *tok, *tokfile, *log, *bin, *cause = NULL;
	size_t n = 0;

	ck_assert_int_lt(nels, MAX_EL);
	memset(e, 0, sizeof *e);
	snprintf(e->id, sizeof e->id, "%s", id);
	tok = xasprintf("tok-%s", id);
	tokfile = xasprintf("%s/tok-%s", sim->dir, id);
	ck_assert_int_eq(ksim_add_token(sim, tok, id), 0);
	ck_assert_int_eq(ksim_write_file(tokfile, tok), 0);
	e->events = xasprintf("%s/ev-%s.jsonl", sim->dir, id);
	log = xasprintf("%s/el-%s.log", sim->dir, id);
	bin = proc_buildpath("t/e2e/elector");
	for (size_t i = 0; wrapper != NULL && wrapper[i] != NULL; i++)
		argv[n++] = (char *)wrapper[i];
	argv[n++] = bin;
	argv[n++] = (char *)"--server";
	argv[n++] = (char *)(server != NULL ? server : sim->server);
	argv[n++] = (char *)"--ca";
	argv[n++] = sim->ca;
	argv[n++] = (char *)"--token-file";
	argv[n++] = tokfile;
	argv[n++] = (char *)"--identity";
	argv[n++] = e->id;
	argv[n++] = (char *)"--lease";
	argv[n++] = (char *)LEASE_NAME;
	argv[n++] = (char *)"--events";
	argv[n++] = e->events;
	argv[n++] = (char *)"--log-level";
	argv[n++] = (char *)"info";
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 62; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	e->p = proc_start(argv, log, 60000, &cause);
	ck_assert_msg(e->p != NULL, "cannot start elector %s: %s", id, cause);
	free(tok);
	free(tokfile);
	free(log);
	free(bin);
	return nels++;
}

/* Start an elector without a wrapper. */
static int
spawn(const char *id, const char *server, const char *const *extra)
{
	return spawn_wrapped(id, server, extra, NULL);
}

/* One transition read back from an events file. */
struct evrec {
	long long	 t;
	int		 el;
	char		 ev[16];
	json_t		*j;
};

/* Append the events of elector i to *v (n, cap); returns the new count. */
static size_t
read_events(int i, struct evrec **v, size_t n, size_t *cap)
{
	FILE *f = fopen(els[i].events, "r");
	char line[2048];

	if (f == NULL)
		return n;
	while (fgets(line, sizeof line, f) != NULL) {
		json_t *j = json_loads(line, 0, NULL);

		if (j == NULL)
			continue;	/* a line still being written */
		if (n == *cap) {
			*cap = *cap == 0 ? 256 : *cap * 2;
			*v = xreallocarray(*v, *cap, sizeof **v);
		}
		(*v)[n].t = json_integer_value(json_object_get(j, "t"));
		(*v)[n].el = i;
		snprintf((*v)[n].ev, sizeof (*v)[n].ev, "%s",
		    json_string_value(json_object_get(j, "ev")));
		(*v)[n].j = j;
		n++;
	}
	fclose(f);
	return n;
}

/* Order events by time. */
static int
evrec_cmp(const void *a, const void *b)
{
	const struct evrec *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* All electors' events in time order; caller frees with free_events. */
static size_t
all_events(struct evrec **v)
{
	size_t n = 0, cap = 0;

	*v = NULL;
	for (int i = 0; i < nels; i++)
		n = read_events(i, v, n, &cap);
	if (n > 0)
		qsort(*v, n, sizeof **v, evrec_cmp);
	return n;
}

/* Free what all_events returned. */
static void
free_events(struct evrec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i].j);
	free(v);
}

/* Time of the first event ev of elector el (-1: any) at or after since, or -1. */
static long long
find_event(int el, const char *ev, long long since, int *who)
{
	struct evrec *v;
	size_t n = all_events(&v);
	long long t = -1;

	for (size_t i = 0; i < n && t < 0; i++)
		if ((el < 0 || v[i].el == el) && strcmp(v[i].ev, ev) == 0 &&
		    v[i].t >= since) {
			t = v[i].t;
			if (who != NULL)
				*who = v[i].el;
		}
	free_events(v, n);
	return t;
}

/* Wait up to timeout_ms for event ev (of el, or any) at or after since. */
static long long
wait_event(int el, const char *ev, long long since, int timeout_ms, int *who)
{
	long long end = proc_now_ms() + timeout_ms, t;

	while ((t = find_event(el, ev, since, who)) < 0 &&
	    proc_now_ms() < end)
		usleep(10000);
	return t;
}

/* Index of the elector leading now by its transitions, or -1. */
static int
current_leader(void)
{
	struct evrec *v;
	size_t n = all_events(&v);
	int leader = -1;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].ev, "started") == 0)
			leader = v[i].el;
		else if (strcmp(v[i].ev, "stopped") == 0 && leader == v[i].el)
			leader = -1;
	}
	if (leader >= 0 && els[leader].killed_at != 0)
		leader = -1;
	free_events(v, n);
	return leader;
}

/*
 * Check from the electors' transitions that leadership intervals never
 * overlap (a killed elector's interval ends at its kill); returns the
 * number of times leadership started.
 */
static int
check_one_leader(void)
{
	struct evrec *v;
	size_t n = all_events(&v);
	int leader = -1, starts = 0;

	for (size_t i = 0; i < n; i++) {
		int e = v[i].el;

		if (leader >= 0 && els[leader].killed_at != 0 &&
		    els[leader].killed_at <= v[i].t)
			leader = -1;
		if (strcmp(v[i].ev, "started") == 0) {
			ck_assert_msg(leader < 0, "%s started leading at %lld "
			    "while %s led", els[e].id, v[i].t, els[leader].id);
			leader = e;
			starts++;
		} else if (strcmp(v[i].ev, "stopped") == 0 && leader == e)
			leader = -1;
		else if (strcmp(v[i].ev, "act") == 0)
			ck_assert_msg(leader == e, "%s acted at %lld without "
			    "leading", els[e].id, v[i].t);
	}
	free_events(v, n);
	return starts;
}

/*
 * Check the simulator's write log of the Lease: every write that changed
 * the spec was made by the holder it names (or, for a release, by the
 * holder before it), and leaseTransitions rises by one exactly when a new
 * holder takes over. Returns the number of takeovers.
 */
static int
check_write_log(void)
{
	json_t *out = NULL, *w, *prev = NULL;
	size_t i;
	int takeovers = 0, st;

	st = ksim_admin(sim, "GET", "/writes?resource=leases&name=" LEASE_NAME,
	    NULL, &out);
	ck_assert_int_eq(st, 200);
	json_array_foreach(json_object_get(out, "writes"), i, w) {
		json_t *spec = json_object_get(w, "leaseSpec");
		long code = (long)json_integer_value(json_object_get(w, "code"));
		const char *user = json_string_value(json_object_get(w, "user"));
		const char *h, *ph;

		if (code < 200 || code > 299 || !json_is_object(spec))
			continue;
		if (prev != NULL && json_equal(prev, spec))
			continue;	/* an annotation write */
		h = json_string_value(json_object_get(spec, "holderIdentity"));
		ph = prev != NULL ? json_string_value(json_object_get(prev,
		    "holderIdentity")) : NULL;
		ck_assert_ptr_nonnull(h);
		ck_assert_ptr_nonnull(user);
		if (*h == '\0')
			ck_assert_msg(ph != NULL && strcmp(user, ph) == 0,
			    "release by %s of a lease held by %s", user,
			    ph != NULL ? ph : "(none)");
		else
			ck_assert_msg(strcmp(user, h) == 0, "%s wrote the "
			    "lease naming %s as holder", user, h);
		if (prev != NULL && *h != '\0' && (ph == NULL ||
		    strcmp(h, ph) != 0)) {
			ck_assert_int_eq(json_integer_value(json_object_get(
			    spec, "leaseTransitions")), json_integer_value(
			    json_object_get(prev, "leaseTransitions")) + 1);
			takeovers++;
		}
		prev = spec;
	}
	json_decref(out);
	return takeovers;
}

/* Wait until some elector leads; returns its index. */
static int
wait_leader(int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;
	int l;

	while ((l = current_leader()) < 0 && proc_now_ms() < end)
		usleep(10000);
	ck_assert_msg(l >= 0, "no leader within %d ms", timeout_ms);
	return l;
}

/* SIGKILL elector i and remember when. */
static long long
kill_el(int i)
{
	els[i].killed_at = proc_now_ms();
	proc_kill(els[i].p, SIGKILL);
	ck_assert(proc_wait(els[i].p, 5000, NULL));
	return els[i].killed_at;
}

/* Record a measured figure for the report (stderr goes to the test log). */
static void
measure(const char *what, long long ms)
{
	fprintf(stderr, "MEASURE %s_ms=%lld\n", what, ms);
}

static const char *const short_poll[] = { "--lease-duration", "3s",
    "--renew-deadline", "2s", "--retry-period", "500ms", "--poll",
    "--act-every", "100ms", NULL };

START_TEST(test_one_leader_and_kill)
{
	int l, nl, who;
	long long k, t;

	spawn("a", NULL, short_poll);
	spawn("b", NULL, short_poll);
	spawn("c", NULL, short_poll);
	l = wait_leader(10000);
	/* let them run a while: still exactly the one leader */
	t = proc_now_ms() + 2000;
	while (proc_now_ms() < t)
		usleep(50000);
	ck_assert_int_eq(current_leader(), l);
	k = kill_el(l);
	t = wait_event(-1, "started", k, 8000, &who);
	ck_assert_msg(t > 0, "no takeover after SIGKILL");
	ck_assert_int_ne(who, l);
	measure("takeover_after_sigkill_short", t - k);
	ck_assert_int_le(t - k, 3000 + 2000);
	nl = who;
	ck_assert_int_eq(current_leader(), nl);
	ck_assert_int_eq(check_one_leader(), 2);
	ck_assert_int_eq(check_write_log(), 1);
}
END_TEST

START_TEST(test_sigterm_release)
{
	int l, who, st;
	long long k, t, stop;

	spawn("a", NULL, short_poll);
	l = wait_leader(10000);
	spawn("b", NULL, short_poll);
	spawn("c", NULL, short_poll);
	t = proc_now_ms() + 1000;
	while (proc_now_ms() < t)
		usleep(50000);
	k = proc_now_ms();
	proc_kill(els[l].p, SIGTERM);
	t = wait_event(-1, "started", k, 5000, &who);
	ck_assert_msg(t > 0, "no takeover after SIGTERM");
	ck_assert_int_ne(who, l);
	measure("takeover_after_sigterm_short", t - k);
	ck_assert_int_le(t - k, 2000);
	/* the old leader stopped before releasing, and exited cleanly */
	stop = find_event(l, "stopped", k, NULL);
	ck_assert_int_ge(stop, 0);
	ck_assert_int_le(stop, t);
	ck_assert(proc_wait(els[l].p, 5000, &st));
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(check_one_leader(), 2);
	ck_assert_int_eq(check_write_log(), 1);
}
END_TEST

/* A TCP relay that can stop forwarding (a partition) and resume. */
struct relay {
	int			 lfd, port, target;
	atomic_int		 frozen, stop;
	pthread_t		 th;
	int			 fds[128];	/* pairs: client, upstream */
	int			 nfds;
};

/* Connect to 127.0.0.1:port; -1 on failure. */
static int
relay_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Drop pair p (index of its first fd). */
static void
relay_drop(struct relay *r, int p)
{
	close(r->fds[p]);
	close(r->fds[p + 1]);
	r->fds[p] = r->fds[r->nfds - 2];
	r->fds[p + 1] = r->fds[r->nfds - 1];
	r->nfds -= 2;
}

/* The relay thread: forward bytes both ways unless frozen. */
static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	struct pollfd pf[129];
	char buf[16384];

	while (!atomic_load(&r->stop)) {
		int n = 0;

		if (atomic_load(&r->frozen)) {
			/* a partition: nothing moves, nothing is accepted */
			usleep(10000);
			continue;
		}
		pf[n].fd = r->lfd;
		pf[n++].events = POLLIN;
		for (int i = 0; i < r->nfds; i++) {
			pf[n].fd = r->fds[i];
			pf[n++].events = POLLIN;
		}
		if (poll(pf, (nfds_t)n, 10) <= 0)
			continue;
		if ((pf[0].revents & POLLIN) && r->nfds + 2 <= 128) {
			int c = accept(r->lfd, NULL, NULL), u;

			if (c >= 0 && (u = relay_connect(r->target)) >= 0) {
				r->fds[r->nfds++] = c;
				r->fds[r->nfds++] = u;
			} else if (c >= 0)
				close(c);
		}
		for (int i = 1; i < n; i++) {
			int idx = i - 1, pair = idx & ~1, other;
			ssize_t got;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (idx >= r->nfds || r->fds[idx] != pf[i].fd)
				continue;	/* dropped earlier in this round */
			other = r->fds[idx ^ 1];
			got = read(pf[i].fd, buf, sizeof buf);
			if (got <= 0 || write(other, buf, (size_t)got) != got) {
				relay_drop(r, pair);
				continue;
			}
		}
	}
	return NULL;
}

/* Start a relay to target; returns it with its listening port. */
static struct relay *
relay_start(int target)
{
	struct relay *r = xcalloc(1, sizeof *r);
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;

	r->target = target;
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(r->lfd, 0);
	ck_assert_int_eq(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(r->lfd, 64), 0);
	ck_assert_int_eq(getsockname(r->lfd, (struct sockaddr *)&a, &len), 0);
	r->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&r->th, NULL, relay_main, r), 0);
	return r;
}

/* Stop and free a relay. */
static void
relay_stop(struct relay *r)
{
	atomic_store(&r->stop, 1);
	pthread_join(r->th, NULL);
	while (r->nfds > 0)
		relay_drop(r, 0);
	close(r->lfd);
	free(r);
}

START_TEST(test_cut_off_leader_stops_first)
{
	static const char *const opts[] = { "--lease-duration", "4s",
	    "--renew-deadline", "3s", "--retry-period", "500ms", "--poll",
	    "--act-every", "20ms", NULL };
	struct relay *r = relay_start(sim->port);
	char *via = xasprintf("https://127.0.0.1:%d", r->port);
	int a, who;
	long long cut, t_new, t_stop, last_act = -1;
	struct evrec *v;
	size_t n;

	a = spawn("a", via, opts);
	ck_assert_int_eq(wait_leader(10000), a);
	spawn("b", NULL, opts);
	spawn("c", NULL, opts);
	cut = proc_now_ms() + 1500;
	while (proc_now_ms() < cut)
		usleep(20000);
	cut = proc_now_ms();
	atomic_store(&r->frozen, 1);
	t_new = wait_event(-1, "started", cut, 15000, &who);
	ck_assert_msg(t_new > 0, "nobody took over from the cut-off leader");
	ck_assert_int_ne(who, a);
	t_stop = find_event(a, "stopped", cut, NULL);
	ck_assert_msg(t_stop >= 0, "the cut-off leader never stepped down");
	/* it stopped within the renew deadline of its last renewal ... */
	ck_assert_int_le(t_stop - cut, 3000 + 200);
	/* ... before anyone else could take over */
	ck_assert_int_lt(t_stop, t_new);
	n = all_events(&v);
	for (size_t i = 0; i < n; i++)
		if (v[i].el == a && strcmp(v[i].ev, "act") == 0)
			last_act = v[i].t;
	free_events(v, n);
	ck_assert_int_lt(last_act, t_new);
	measure("cutoff_stop_after_cut", t_stop - cut);
	measure("cutoff_margin_before_takeover", t_new - t_stop);
	/* the partition heals: a rejoins as a follower */
	atomic_store(&r->frozen, 0);
	t_stop = proc_now_ms() + 2000;
	while (proc_now_ms() < t_stop)
		usleep(50000);
	ck_assert_int_eq(current_leader(), who);
	ck_assert_int_eq(check_one_leader(), 2);
	ck_assert_int_eq(check_write_log(), 1);
	for (int i = 0; i < nels; i++) {
		proc_stop(els[i].p);
		els[i].p = NULL;
	}
	relay_stop(r);
	free(via);
}
END_TEST

START_TEST(test_real_timings)
{
	int l, who, l2;
	long long k, t;

	/* client-go defaults: 15 s lease, 10 s renew deadline, 2 s retry */
	static const char *const real[] = { "--poll", "--act-every", "200ms",
	    NULL };

	spawn("a", NULL, real);
	l = wait_leader(10000);
	spawn("b", NULL, real);
	spawn("c", NULL, real);
	/* both candidates have seen the lease at least once */
	t = proc_now_ms() + 2500;
	while (proc_now_ms() < t)
		usleep(50000);
	k = proc_now_ms();
	proc_kill(els[l].p, SIGTERM);
	t = wait_event(-1, "started", k, 5000, &who);
	ck_assert_msg(t > 0, "no takeover after SIGTERM");
	measure("takeover_after_sigterm_real", t - k);
	ck_assert_int_le(t - k, 2000);
	l2 = who;
	/* let the new leader renew a few times, then kill it */
	t = proc_now_ms() + 3000;
	while (proc_now_ms() < t)
		usleep(50000);
	k = kill_el(l2);
	t = wait_event(-1, "started", k, 20000, &who);
	ck_assert_msg(t > 0, "no takeover after SIGKILL");
	ck_assert_int_ne(who, l2);
	measure("takeover_after_sigkill_real", t - k);
	ck_assert_int_le(t - k, 15000 + 2000);
	/* never before the lease could have expired */
	ck_assert_int_ge(t - k, 15000 - 2000);
	ck_assert_int_eq(check_one_leader(), 3);
	ck_assert_int_eq(check_write_log(), 2);
}
END_TEST

static const char *const board_short[] = { "--lease-duration", "3s",
    "--renew-deadline", "2s", "--retry-period", "500ms", "--board",
    "--report-interval", "1s", "--stats-every", "250ms", NULL };

/* Latest "stats" event of elector i, or NULL (caller decrefs). */
static json_t *
last_stats(int i)
{
	struct evrec *v;
	size_t n = all_events(&v);
	json_t *j = NULL;

	for (size_t k = 0; k < n; k++)
		if (v[k].el == i && (strcmp(v[k].ev, "stats") == 0 ||
		    strcmp(v[k].ev, "exit") == 0)) {
			json_decref(j);
			j = json_incref(v[k].j);
		}
	free_events(v, n);
	return j;
}

/* Whether elector i polls, by its latest stats. */
static bool
polling(int i)
{
	json_t *j = last_stats(i);
	bool p = json_is_true(json_object_get(j, "polling"));

	json_decref(j);
	return p;
}

START_TEST(test_board_standbys_and_followers)
{
	const char *ids[] = { "p0", "p1", "p2", "p3", "p4" };
	int l, who, standby[MAX_EL], ns = 0;
	long long k, t, end;

	for (int i = 0; i < 5; i++)
		spawn(ids[i], NULL, board_short);
	l = wait_leader(15000);
	/* the leader names two standbys; only they poll */
	end = proc_now_ms() + 8000;
	for (;;) {
		ns = 0;
		for (int i = 0; i < nels; i++)
			if (i != l && polling(i))
				standby[ns++] = i;
		if (ns == 2 || proc_now_ms() > end)
			break;
		usleep(50000);
	}
	ck_assert_int_eq(ns, 2);
	/*
	 * Kill the leader: a candidate takes over within lease + 2 s (a
	 * standby polling at the retry period, or a follower whose health
	 * write showed the lease expired just as early).
	 */
	k = kill_el(l);
	t = wait_event(-1, "started", k, 8000, &who);
	ck_assert_msg(t > 0, "no takeover");
	measure(who == standby[0] || who == standby[1] ?
	    "takeover_by_standby_short" : "takeover_by_follower_short", t - k);
	ck_assert_int_le(t - k, 3000 + 2000);
	/*
	 * Kill the new leader and every standby: a plain follower, which
	 * only sees the Lease in its health writes' answers, takes over.
	 */
	l = who;
	k = kill_el(l);
	for (int i = 0; i < ns; i++)
		if (standby[i] != l)
			kill_el(standby[i]);
	t = wait_event(-1, "started", k + 1, 15000, &who);
	ck_assert_msg(t > 0, "no follower took over");
	ck_assert(who != l && who != standby[0] && who != standby[1]);
	measure("takeover_by_follower_without_standbys", t - k);
	/* lease 3 s, and a follower sees the Lease once a second */
	ck_assert_int_le(t - k, 3000 + 2 * 1000 + 2000);
	ck_assert_int_eq(check_one_leader(), 3);
	ck_assert_int_eq(check_write_log(), 2);
}
END_TEST

/* Renewals and their total latency between two stats events (a, b). */
static void
renew_delta(json_t *a, json_t *b, long long *n, long long *sum)
{
	*n = json_integer_value(json_object_get(b, "renewals")) -
	    json_integer_value(json_object_get(a, "renewals"));
	*sum = json_integer_value(json_object_get(b, "renew_sum_ms")) -
	    json_integer_value(json_object_get(a, "renew_sum_ms"));
}

/* Sleep ms on the monotonic clock. */
static void
pause_ms(long long ms)
{
	long long end = proc_now_ms() + ms;

	while (proc_now_ms() < end)
		usleep(20000);
}

/* Number of annotations on the Lease. */
static size_t
lease_annotations(void)
{
	json_t *out = NULL;
	size_t n;

	ck_assert_int_eq(ksim_admin(sim, "GET", "/objects/leases/work/"
	    LEASE_NAME, NULL, &out), 200);
	n = json_object_size(json_object_get(json_object_get(out,
	    "metadata"), "annotations"));
	json_decref(out);
	return n;
}

START_TEST(test_200_writers_do_not_delay_renewals)
{
	/*
	 * 200 agents every 5 s: 40 health writes a second, three times the
	 * rate of 200 agents at the default 15 s interval.
	 */
	static const char *const writers[] = { "--writers", "200",
	    "--report-interval", "5s", NULL };
	static const char *const board[] = { "--lease-duration", "6s",
	    "--renew-deadline", "4s", "--retry-period", "500ms", "--board",
	    "--report-interval", "1s", "--stats-every", "500ms", NULL };
	int l, w;
	long long t, n0, sum0, n1, sum1, maxms;
	json_t *s0, *s1, *s2;

	spawn("a", NULL, board);
	l = wait_leader(10000);
	spawn("b", NULL, board);
	spawn("c", NULL, board);
	/* renewals without the writers, for comparison */
	pause_ms(1000);
	s0 = last_stats(l);
	pause_ms(3000);
	s1 = last_stats(l);
	w = spawn("w", NULL, writers);
	/* every writer has written once (their starts spread over 5 s) */
	t = proc_now_ms() + 20000;
	while (lease_annotations() < 200 + 3 + 1 && proc_now_ms() < t)
		pause_ms(200);
	ck_assert_uint_ge(lease_annotations(), 200 + 3 + 1);
	/* then measure over 6 s */
	s1 = (json_decref(s1), last_stats(l));
	pause_ms(6000);
	s2 = last_stats(l);
	ck_assert_ptr_nonnull(s0);
	ck_assert_ptr_nonnull(s2);
	renew_delta(s0, s1, &n0, &sum0);
	renew_delta(s1, s2, &n1, &sum1);
	maxms = json_integer_value(json_object_get(s2, "renew_max_ms"));
	measure("renew_latency_avg_idle", n0 > 0 ? sum0 / n0 : -1);
	measure("renew_latency_avg_under_200_writers", n1 > 0 ? sum1 / n1 : -1);
	measure("renew_latency_max", maxms);
	fprintf(stderr, "MEASURE renewals_in_6s_under_200_writers=%lld\n", n1);
	/*
	 * Renewals go on (one every 500 ms when answered at once), none
	 * fails and none comes near the 4 s renew deadline.
	 */
	ck_assert_int_ge(n1, 4);
	ck_assert_int_eq(json_integer_value(json_object_get(s2,
	    "renew_failures")) - json_integer_value(json_object_get(s1,
	    "renew_failures")), 0);
	ck_assert_int_lt(maxms, 2000);
	ck_assert_int_eq(current_leader(), l);
	ck_assert_int_eq(check_one_leader(), 1);
	json_decref(s0);
	json_decref(s1);
	json_decref(s2);
	/* the writers' entries name their own interval, so none was pruned */
	ck_assert_uint_ge(lease_annotations(), 200 + 3 + 1);
	(void)w;
}
END_TEST

START_TEST(test_elector_valgrind)
{
	const char *vg = getenv("VALGRIND");
	const char *const wrap[] = { vg, "-q", "--error-exitcode=99",
	    "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
	    "--show-leak-kinds=definite,indirect", NULL };
	static const char *const opts[] = { "--lease-duration", "3s",
	    "--renew-deadline", "2s", "--retry-period", "500ms", "--board",
	    "--report-interval", "1s", "--act-every", "100ms", NULL };
	int a, st;
	long long t;

#ifdef TWA_SANITIZERS
	fprintf(stderr, "SKIP valgrind run: built with sanitizers\n");
	return;
#endif
	if (vg == NULL || *vg == '\0') {
		fprintf(stderr, "SKIP valgrind run: valgrind not found\n");
		return;
	}
	a = spawn_wrapped("vg", NULL, opts, wrap);
	ck_assert_int_eq(wait_leader(30000), a);
	t = proc_now_ms() + 3000;
	while (proc_now_ms() < t)
		usleep(50000);
	proc_kill(els[a].p, SIGTERM);
	ck_assert(proc_wait(els[a].p, 30000, &st));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "elector under valgrind: status %d (99: valgrind errors; see "
	    "%s/el-vg.log)", WIFEXITED(st) ? WEXITSTATUS(st) : -1, sim->dir);
	ck_assert_int_ge(find_event(a, "exit", 0, NULL), 0);
}
END_TEST

/* Add test fn as its own case named name (CK_RUN_CASE=name runs just it). */
static void
add_case(Suite *s, const char *name, const TTest *fn)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, fn);
	suite_add_tcase(s, tc);
}

/* The suite. */
static Suite *
election_suite(void)
{
	Suite *s = suite_create("election");

	add_case(s, "kill", test_one_leader_and_kill);
	add_case(s, "sigterm", test_sigterm_release);
	add_case(s, "cutoff", test_cut_off_leader_stops_first);
	add_case(s, "real", test_real_timings);
	add_case(s, "standbys", test_board_standbys_and_followers);
	add_case(s, "writers", test_200_writers_do_not_delay_renewals);
	add_case(s, "valgrind", test_elector_valgrind);
	return s;
}

CHECK_MAIN(election_suite)
