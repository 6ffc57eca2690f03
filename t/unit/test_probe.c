/* Tests of probe: worker checks against servers run by the test on loopback. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "check_main.h"
#include "probe.h"
#include "xalloc.h"

/* ---------------------------------------------------------- pure state machine */

/* A sequence of results ('+' pass, '-' fail) and the states after each. */
struct fsm_case {
	const char	*results;
	const char	*states;	/* 's' starting, 'r' ready, 'u' unhealthy */
	const char	*changes;	/* '^' where the state changed */
};

static const struct fsm_case fsm_cases[] = {
	{ "+", "r", "^" },
	{ "-", "s", " " },
	{ "--", "ss", "  " },
	{ "---", "ssu", "  ^" },
	{ "---+", "ssur", "  ^^" },
	{ "+-", "rr", "^ " },
	{ "+--", "rrr", "^  " },
	{ "+---", "rrru", "^  ^" },
	{ "+-+-+-+-", "rrrrrrrr", "^       " },
	{ "+--+--+--", "rrrrrrrrr", "^        " },
	{ "+---+--+", "rrrurrrr", "^  ^^   " },
	{ "-----", "ssuuu", "  ^  " },
	{ "--+", "ssr", "  ^" },
	{ "++++", "rrrr", "^   " },
};

START_TEST(test_probe_fsm)
{
	const struct fsm_case *c = &fsm_cases[_i];
	struct probe_fsm f;

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(f.state, PROBE_STARTING);
	for (size_t i = 0; c->results[i] != '\0'; i++) {
		bool changed = probe_fsm_feed(&f, c->results[i] == '+', 0, 0);
		char st = f.state == PROBE_READY ? 'r' :
		    f.state == PROBE_UNHEALTHY ? 'u' : 's';

		ck_assert_msg(st == c->states[i], "%s: step %zu state %c, "
		    "want %c", c->results, i, st, c->states[i]);
		ck_assert_msg(changed == (c->changes[i] == '^'),
		    "%s: step %zu changed %d", c->results, i, changed);
	}
}
END_TEST

/* Thresholds other than the defaults. */
START_TEST(test_probe_fsm_thresholds)
{
	struct probe_fsm f;

	memset(&f, 0, sizeof f);
	ck_assert(!probe_fsm_feed(&f, true, 2, 1));
	ck_assert_int_eq(f.state, PROBE_STARTING);
	ck_assert(probe_fsm_feed(&f, true, 2, 1));
	ck_assert_int_eq(f.state, PROBE_READY);
	ck_assert(probe_fsm_feed(&f, false, 2, 1));
	ck_assert_int_eq(f.state, PROBE_UNHEALTHY);
	ck_assert_str_eq(probe_state_name(PROBE_UNHEALTHY), "unhealthy");
	ck_assert_str_eq(probe_state_name(PROBE_STARTING), "starting");
	ck_assert_str_eq(probe_state_name(PROBE_READY), "ready");
}
END_TEST

/* Target URLs. */
START_TEST(test_probe_url)
{
	struct settings_probe t = { SETTINGS_PROBE_HTTP, NULL, 8080,
	    (char *)"/healthz" };
	char *u;

	u = probe_target_url(&t);
	ck_assert_str_eq(u, "http://127.0.0.1:8080/healthz");
	free(u);
	t.host = (char *)"::1";
	t.path = NULL;
	u = probe_target_url(&t);
	ck_assert_str_eq(u, "http://[::1]:8080/");
	free(u);
	t.kind = SETTINGS_PROBE_TCP;
	u = probe_target_url(&t);
	ck_assert_str_eq(u, "tcp://[::1]:8080");
	free(u);
	t.kind = SETTINGS_PROBE_NONE;
	u = probe_target_url(&t);
	ck_assert_str_eq(u, "none");
	free(u);
}
END_TEST

/* Bad configurations are refused with a cause. */
START_TEST(test_probe_bad_config)
{
	struct event_base *base = event_base_new();
	struct settings_probe t = { SETTINGS_PROBE_HTTP, NULL, 0, NULL };
	struct probe_config cfg = { &t, 0, 0, 0, 0 };
	char *cause = NULL;

	ck_assert_ptr_null(probe_new(base, &cfg, NULL, NULL, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "port 0 is not in 1..65535"));
	free(cause);
	t.port = 80;
	t.path = (char *)"healthz";
	ck_assert_ptr_null(probe_new(base, &cfg, NULL, NULL, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "does not start with '/'"));
	free(cause);
	t.path = NULL;
	cfg.timeout_ms = -1;
	ck_assert_ptr_null(probe_new(base, &cfg, NULL, NULL, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "must be positive"));
	free(cause);
	event_base_free(base);
}
END_TEST

/* ---------------------------------------------------------- live servers */

/* What the test HTTP server answers. */
struct srv {
	struct evhttp		*http;
	int			 port;
	const int		*codes;		/* sequence; last one repeats */
	size_t			 ncodes, served;
	bool			 hang;		/* never answer */
	struct evconnlistener	*lis;		/* TCP or raw HTTP server */
	const char		*raw;		/* raw reply of the TCP server */
	unsigned		 accepted;
};

/* The test's view of the probe. */
struct obs {
	unsigned		 results, changes;
	enum probe_state	 state;
	char			 last_detail[256];
	char			 reason[512];
	bool			 last_ok;
};

/* evhttp server: answer with the next code, or hang. */
static void
srv_http_cb(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	size_t i = s->served < s->ncodes ? s->served : s->ncodes - 1;

	s->served++;
	if (s->hang)
		return;
	evhttp_send_reply(req, s->codes[i], "x", NULL);
}

/* Port of a bound socket. */
static int
sock_port(evutil_socket_t fd)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	return ntohs(sin.sin_port);
}

/* Start the HTTP server on 127.0.0.1:0. */
static void
srv_http_start(struct event_base *base, struct srv *s)
{
	struct evhttp_bound_socket *bs;

	s->http = evhttp_new(base);
	ck_assert_ptr_nonnull(s->http);
	evhttp_set_gencb(s->http, srv_http_cb, s);
	bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	s->port = sock_port(evhttp_bound_socket_get_fd(bs));
}

/* Raw server: write the reply (if any) once something arrives, then close. */
static void
srv_raw_read_cb(struct bufferevent *bev, void *arg)
{
	struct srv *s = arg;

	evbuffer_drain(bufferevent_get_input(bev),
	    evbuffer_get_length(bufferevent_get_input(bev)));
	if (s->raw == NULL || *s->raw == '\0')
		bufferevent_free(bev);	/* close without a reply */
	else
		bufferevent_write(bev, s->raw, strlen(s->raw));
}

/* Raw server: free the connection once written or closed. */
static void
srv_raw_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

/* Raw server: close after the reply is flushed. */
static void
srv_raw_write_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* TCP listener: accept; with a raw reply, serve it, else close at once. */
static void
srv_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int slen, void *arg)
{
	struct srv *s = arg;
	struct bufferevent *bev;

	s->accepted++;
	if (s->raw == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, srv_raw_read_cb, srv_raw_write_cb,
	    srv_raw_event_cb, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Start the TCP server on 127.0.0.1:0. */
static void
srv_tcp_start(struct event_base *base, struct srv *s)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lis = evconnlistener_new_bind(base, srv_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof sin);
	ck_assert_ptr_nonnull(s->lis);
	s->port = sock_port(evconnlistener_get_fd(s->lis));
}

/* A port nothing listens on: bind port 0, read it, close. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	port = sock_port(fd);
	close(fd);
	return port;
}

/* Stop the servers. */
static void
srv_stop(struct srv *s)
{
	if (s->http != NULL)
		evhttp_free(s->http);
	if (s->lis != NULL)
		evconnlistener_free(s->lis);
}

/* Probe callback: record the result. */
static void
obs_cb(const struct probe_result *r, void *arg)
{
	struct obs *o = arg;

	o->results++;
	if (r->changed)
		o->changes++;
	o->state = r->state;
	o->last_ok = r->ok;
	snprintf(o->last_detail, sizeof o->last_detail, "%s", r->detail);
	snprintf(o->reason, sizeof o->reason, "%s", r->reason);
	ck_assert(r->latency_ms >= 0);
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep the loop waking so run_until can check its deadline. */
static void
wake_cb(evutil_socket_t fd, short ev, void *arg)
{
}

/* Run the loop until o has at least n results, or timeout_ms passes. */
static bool
run_until_results(struct event_base *base, struct obs *o, unsigned n,
    int timeout_ms)
{
	struct event *wake = event_new(base, -1, EV_PERSIST, wake_cb, NULL);
	struct timeval tv = { 0, 10000 };
	long long end = now_ms() + timeout_ms;

	event_add(wake, &tv);
	while (o->results < n && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(wake);
	return o->results >= n;
}

/* A probe of kind on port with short timings. */
static struct probe *
mk_probe(struct event_base *base, enum settings_probe_kind kind, int port,
    const char *path, struct obs *o)
{
	struct settings_probe t = { kind, NULL, port, (char *)path };
	struct probe_config cfg = { &t, 20, 300, 0, 0 };
	char *cause = NULL;
	struct probe *p = probe_new(base, &cfg, obs_cb, o, &cause);

	ck_assert_msg(p != NULL, "probe_new: %s", cause);
	probe_start(p);
	return p;
}

/* HTTP codes and the state after one check, and after three. */
struct http_case {
	int			 code;
	enum probe_state	 after1, after3;
};

static const struct http_case http_cases[] = {
	{ 200, PROBE_READY, PROBE_READY },
	{ 204, PROBE_READY, PROBE_READY },
	{ 302, PROBE_READY, PROBE_READY },
	{ 399, PROBE_READY, PROBE_READY },
	{ 400, PROBE_STARTING, PROBE_UNHEALTHY },
	{ 404, PROBE_STARTING, PROBE_UNHEALTHY },
	{ 500, PROBE_STARTING, PROBE_UNHEALTHY },
	{ 503, PROBE_STARTING, PROBE_UNHEALTHY },
};

START_TEST(test_probe_http_codes)
{
	const struct http_case *c = &http_cases[_i];
	struct event_base *base = event_base_new();
	struct srv s = { 0 };
	struct obs o = { 0 };
	struct probe *p;
	char want[32];

	s.codes = &c->code;
	s.ncodes = 1;
	srv_http_start(base, &s);
	p = mk_probe(base, SETTINGS_PROBE_HTTP, s.port, "/healthz", &o);
	ck_assert_int_eq(probe_get_state(p), PROBE_STARTING);
	ck_assert_ptr_nonnull(strstr(probe_reason(p), "waiting for the first"));
	ck_assert(run_until_results(base, &o, 1, 5000));
	snprintf(want, sizeof want, "HTTP %d", c->code);
	ck_assert_str_eq(o.last_detail, want);
	ck_assert_int_eq(o.state, c->after1);
	ck_assert(run_until_results(base, &o, 3, 5000));
	ck_assert_int_eq(o.state, c->after3);
	ck_assert_int_eq(probe_get_state(p), c->after3);
	ck_assert_uint_eq(o.changes, 1);
	if (c->after3 == PROBE_READY) {
		ck_assert_ptr_nonnull(strstr(o.reason, "/healthz"));
		ck_assert_uint_eq(probe_failures(p), 0);
	} else {
		ck_assert_ptr_nonnull(strstr(o.reason,
		    "3 consecutive failed checks"));
		ck_assert_ptr_nonnull(strstr(o.reason, want));
		ck_assert_uint_eq(probe_failures(p), 3);
	}
	ck_assert_uint_ge(probe_checks(p), 3);
	ck_assert_uint_ge(s.served, 3);
	probe_free(p);
	srv_stop(&s);
	event_base_free(base);
}
END_TEST

/* A server that never answers: each check times out. */
START_TEST(test_probe_http_timeout)
{
	struct event_base *base = event_base_new();
	static const int code = 200;
	struct srv s = { 0 };
	struct obs o = { 0 };
	struct probe *p;
	long long t0 = now_ms();

	s.codes = &code;
	s.ncodes = 1;
	s.hang = true;
	srv_http_start(base, &s);
	p = mk_probe(base, SETTINGS_PROBE_HTTP, s.port, "/", &o);
	ck_assert(run_until_results(base, &o, 3, 10000));
	ck_assert_ptr_nonnull(strstr(o.last_detail, "timeout"));
	ck_assert_int_eq(o.state, PROBE_UNHEALTHY);
	/* three timeouts of 300 ms each, not less */
	ck_assert(now_ms() - t0 >= 3 * 280);
	probe_free(p);
	srv_stop(&s);
	event_base_free(base);
}
END_TEST

/* Nothing listens: HTTP and TCP checks fail fast. */
START_TEST(test_probe_refused)
{
	struct event_base *base = event_base_new();
	struct obs oh = { 0 }, ot = { 0 };
	int port = free_port();
	struct probe *ph, *pt;

	ph = mk_probe(base, SETTINGS_PROBE_HTTP, port, "/", &oh);
	pt = mk_probe(base, SETTINGS_PROBE_TCP, port, NULL, &ot);
	ck_assert(run_until_results(base, &oh, 3, 5000));
	ck_assert(run_until_results(base, &ot, 3, 5000));
	ck_assert_int_eq(oh.state, PROBE_UNHEALTHY);
	ck_assert_int_eq(ot.state, PROBE_UNHEALTHY);
	ck_assert(!oh.last_ok && !ot.last_ok);
	ck_assert_msg(strstr(ot.last_detail, "refused") != NULL,
	    "tcp detail: %s", ot.last_detail);
	ck_assert_msg(strstr(oh.last_detail, "timeout") == NULL,
	    "http detail: %s", oh.last_detail);
	probe_free(ph);
	probe_free(pt);
	event_base_free(base);
}
END_TEST

/* TCP: a listener passes. */
START_TEST(test_probe_tcp_ok)
{
	struct event_base *base = event_base_new();
	struct srv s = { 0 };
	struct obs o = { 0 };
	struct probe *p;

	srv_tcp_start(base, &s);
	p = mk_probe(base, SETTINGS_PROBE_TCP, s.port, NULL, &o);
	ck_assert(run_until_results(base, &o, 2, 5000));
	ck_assert_int_eq(o.state, PROBE_READY);
	ck_assert_str_eq(o.last_detail, "connected");
	ck_assert_ptr_nonnull(strstr(o.reason, "tcp://127.0.0.1:"));
	probe_free(p);
	srv_stop(&s);
	event_base_free(base);
}
END_TEST

/* Hostile HTTP servers: garbage, a closed connection, oversized headers. */
static const char *const raw_replies[] = {
	"HELLO THERE\r\n\r\n",
	"",
	"HTTP/1.1 200 OK\r\nX-Big: ",	/* followed by a huge header below */
	"HTTP/1.1 abc OK\r\n\r\n",
};

START_TEST(test_probe_http_hostile)
{
	struct event_base *base = event_base_new();
	struct srv s = { 0 };
	struct obs o = { 0 };
	struct probe *p;
	char *big = NULL;

	if (_i == 2) {
		size_t n = strlen(raw_replies[2]);

		big = xmalloc(n + PROBE_MAX_RESPONSE * 2 + 8);
		memcpy(big, raw_replies[2], n);
		memset(big + n, 'a', PROBE_MAX_RESPONSE * 2);
		memcpy(big + n + PROBE_MAX_RESPONSE * 2, "\r\n\r\n", 5);
		s.raw = big;
	} else
		s.raw = raw_replies[_i];
	srv_tcp_start(base, &s);
	p = mk_probe(base, SETTINGS_PROBE_HTTP, s.port, "/", &o);
	ck_assert(run_until_results(base, &o, 3, 10000));
	ck_assert_msg(o.state == PROBE_UNHEALTHY, "reply %d: state %d (%s)",
	    _i, o.state, o.last_detail);
	ck_assert(!o.last_ok);
	probe_free(p);
	srv_stop(&s);
	event_base_free(base);
	free(big);
}
END_TEST

/* A flapping worker stays ready; three failures in a row make it unhealthy. */
START_TEST(test_probe_flapping)
{
	static const int codes[] = { 200, 500, 200, 500, 500, 200, 500, 200,
	    500, 500, 500, 200 };
	struct event_base *base = event_base_new();
	struct srv s = { 0 };
	struct obs o = { 0 };
	struct probe *p;

	s.codes = codes;
	s.ncodes = N_CASES(codes);
	srv_http_start(base, &s);
	p = mk_probe(base, SETTINGS_PROBE_HTTP, s.port, "/healthz", &o);
	ck_assert(run_until_results(base, &o, 9, 10000));
	ck_assert_int_eq(o.state, PROBE_READY);
	ck_assert_uint_eq(o.changes, 1);
	ck_assert(run_until_results(base, &o, 11, 10000));
	ck_assert_int_eq(o.state, PROBE_UNHEALTHY);
	ck_assert_uint_eq(o.changes, 2);
	ck_assert(run_until_results(base, &o, 12, 10000));
	ck_assert_int_eq(o.state, PROBE_READY);
	ck_assert_uint_eq(o.changes, 3);
	probe_free(p);
	srv_stop(&s);
	event_base_free(base);
}
END_TEST

/* The none probe is ready at once and does not keep checking. */
START_TEST(test_probe_none)
{
	struct event_base *base = event_base_new();
	struct obs o = { 0 };
	struct probe *p = mk_probe(base, SETTINGS_PROBE_NONE, 0, NULL, &o);

	ck_assert(run_until_results(base, &o, 1, 2000));
	ck_assert_int_eq(o.state, PROBE_READY);
	ck_assert_str_eq(o.reason, "none: no worker probe");
	ck_assert(!run_until_results(base, &o, 2, 200));
	probe_free(p);
	event_base_free(base);
}
END_TEST

/* Switching targets: from a dead port to a live server, then to none. */
START_TEST(test_probe_set_target)
{
	static const int code = 200;
	struct event_base *base = event_base_new();
	struct srv s = { 0 };
	struct obs o = { 0 };
	struct settings_probe t = { SETTINGS_PROBE_HTTP, (char *)"127.0.0.1",
	    0, (char *)"/ok" };
	struct probe *p;

	s.codes = &code;
	s.ncodes = 1;
	srv_http_start(base, &s);
	p = mk_probe(base, SETTINGS_PROBE_TCP, free_port(), NULL, &o);
	ck_assert(run_until_results(base, &o, 3, 5000));
	ck_assert_int_eq(o.state, PROBE_UNHEALTHY);
	t.port = s.port;
	probe_set_target(p, &t);
	/* the state is kept until the new target's first result */
	ck_assert_int_eq(probe_get_state(p), PROBE_UNHEALTHY);
	ck_assert(run_until_results(base, &o, o.results + 1, 5000));
	ck_assert_int_eq(o.state, PROBE_READY);
	ck_assert_ptr_nonnull(strstr(o.reason, "/ok: HTTP 200"));
	/* the same target again changes nothing */
	probe_set_target(p, &t);
	ck_assert_int_eq(probe_get_state(p), PROBE_READY);
	t.kind = SETTINGS_PROBE_NONE;
	probe_set_target(p, &t);
	ck_assert(run_until_results(base, &o, o.results + 1, 5000));
	ck_assert_str_eq(o.last_detail, "no worker probe");
	probe_free(p);
	srv_stop(&s);
	event_base_free(base);
}
END_TEST

/* Freeing a probe with a check in flight. */
START_TEST(test_probe_free_in_flight)
{
	static const int code = 200;
	struct event_base *base = event_base_new();
	struct srv s = { 0 };
	struct obs o = { 0 };
	struct probe *p;

	s.codes = &code;
	s.ncodes = 1;
	s.hang = true;
	srv_http_start(base, &s);
	p = mk_probe(base, SETTINGS_PROBE_HTTP, s.port, "/", &o);
	{
		long long end = now_ms() + 5000;

		while (s.served == 0 && now_ms() < end)
			event_base_loop(base, EVLOOP_ONCE);
	}
	ck_assert_uint_eq(s.served, 1);
	probe_free(p);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(o.results, 0);
	srv_stop(&s);
	event_base_free(base);
}
END_TEST

/* The suite. */
static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *pure = tcase_create("fsm"), *live = tcase_create("live");

	tcase_add_loop_test(pure, test_probe_fsm, 0, N_CASES(fsm_cases));
	tcase_add_test(pure, test_probe_fsm_thresholds);
	tcase_add_test(pure, test_probe_url);
	tcase_add_test(pure, test_probe_bad_config);
	suite_add_tcase(s, pure);
	tcase_add_loop_test(live, test_probe_http_codes, 0,
	    N_CASES(http_cases));
	tcase_add_test(live, test_probe_http_timeout);
	tcase_add_test(live, test_probe_refused);
	tcase_add_test(live, test_probe_tcp_ok);
	tcase_add_loop_test(live, test_probe_http_hostile, 0,
	    N_CASES(raw_replies));
	tcase_add_test(live, test_probe_flapping);
	tcase_add_test(live, test_probe_none);
	tcase_add_test(live, test_probe_set_target);
	tcase_add_test(live, test_probe_free_in_flight);
	suite_add_tcase(s, live);
	return s;
}

CHECK_MAIN(probe_suite)
