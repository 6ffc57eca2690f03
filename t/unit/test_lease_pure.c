/* Tests of the pure parts of the election and the health board. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "check_main.h"
#include "lease.h"

static const struct {
	int64_t		 lease, renew, retry;
	const char	*identity;
	const char	*err;		/* substring of the cause; NULL: valid */
} configs[] = {
	{ 15000, 10000, 2000, "pod-a", NULL },
	{ 3000, 2000, 500, "pod-a", NULL },
	{ 10000, 10000, 2000, "pod-a", "greater than the renew" },
	{ 9000, 10000, 2000, "pod-a", "greater than the renew" },
	{ 15000, 2400, 2000, "pod-a", "1.2 x retry" },
	{ 15000, 2401, 2000, "pod-a", NULL },
	{ 15000, 10000, 0, "pod-a", "positive" },
	{ 500, 400, 100, "pod-a", "at least 1s" },
	{ 15000, 10000, 2000, "", "identity" },
	{ 15000, 10000, 2000, NULL, "identity" },
};

START_TEST(test_config_check)
{
	struct lease_config c = { "twa-x", "ns", configs[_i].identity,
	    configs[_i].lease, configs[_i].renew, configs[_i].retry, false };
	char *cause = NULL;
	int rc = lease_config_check(&c, &cause);

	if (configs[_i].err == NULL)
		ck_assert_int_eq(rc, 0);
	else {
		ck_assert_int_eq(rc, -1);
		ck_assert_msg(strstr(cause, configs[_i].err) != NULL, "%s", cause);
		free(cause);
	}
}
END_TEST

/* Parse a Lease from JSON text into rec. */
static void
parse(const char *text, struct lease_record *rec)
{
	json_t *o = json_loads(text, 0, NULL);
	char *cause = NULL;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(lease_record_parse(o, rec, &cause), 0);
	json_decref(o);
}

#define HELD "{\"metadata\":{\"name\":\"l\",\"resourceVersion\":\"7\"," \
	"\"annotations\":{\"agents.twa.dev/a\":\"x\"}},\"spec\":{" \
	"\"holderIdentity\":\"pod-a\",\"leaseDurationSeconds\":15," \
	"\"acquireTime\":\"2026-01-01T00:00:00.000000Z\"," \
	"\"renewTime\":\"2026-01-01T00:00:10.000000Z\",\"leaseTransitions\":4}}"

START_TEST(test_record_parse)
{
	struct lease_record r, r2;
	json_t *o;
	char *cause = NULL;

	parse(HELD, &r);
	ck_assert_str_eq(r.holder, "pod-a");
	ck_assert_int_eq(r.duration_s, 15);
	ck_assert_int_eq(r.transitions, 4);
	ck_assert_str_eq(r.rv, "7");
	/* annotations and resourceVersion are not part of the record */
	parse("{\"metadata\":{\"resourceVersion\":\"99\",\"annotations\":{}},"
	    "\"spec\":{\"leaseTransitions\":4,\"renewTime\":"
	    "\"2026-01-01T00:00:10.000000Z\",\"holderIdentity\":\"pod-a\","
	    "\"acquireTime\":\"2026-01-01T00:00:00.000000Z\","
	    "\"leaseDurationSeconds\":15}}", &r2);
	ck_assert(!lease_record_changed(&r, &r2));
	lease_record_clear(&r2);
	parse("{\"metadata\":{},\"spec\":{\"holderIdentity\":\"pod-a\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":"
	    "\"2026-01-01T00:00:00.000000Z\",\"renewTime\":"
	    "\"2026-01-01T00:00:12.000000Z\",\"leaseTransitions\":4}}", &r2);
	ck_assert(lease_record_changed(&r, &r2));
	lease_record_clear(&r2);
	lease_record_clear(&r);

	/* hostile shapes */
	parse("{\"metadata\":{},\"spec\":{\"holderIdentity\":7,"
	    "\"leaseDurationSeconds\":-3,\"leaseTransitions\":\"x\"}}", &r);
	ck_assert_ptr_null(r.holder);
	ck_assert_int_eq(r.duration_s, 0);
	ck_assert_int_eq(r.transitions, -1);
	lease_record_clear(&r);
	parse("{\"metadata\":{}}", &r);
	ck_assert_str_eq(r.canon, "null");
	lease_record_clear(&r);
	o = json_loads("{\"spec\":{}}", 0, NULL);
	ck_assert_int_eq(lease_record_parse(o, &r, &cause), -1);
	free(cause);
	json_decref(o);
	o = json_loads("[1]", 0, NULL);
	ck_assert_int_eq(lease_record_parse(o, &r, &cause), -1);
	free(cause);
	json_decref(o);
	o = json_loads("{\"metadata\":{},\"spec\":\"x\"}", 0, NULL);
	ck_assert_int_eq(lease_record_parse(o, &r, &cause), -1);
	free(cause);
	json_decref(o);
}
END_TEST

static const struct {
	const char	*holder;	/* NULL: absent */
	int64_t		 duration_s;
	int64_t		 observed, now;
	bool		 may;
} acquires[] = {
	{ NULL, 15, 0, 0, true },
	{ "", 1, 0, 0, true },
	{ "me", 15, 0, 1, true },
	{ "other", 15, 1000, 15999, false },
	{ "other", 15, 1000, 16000, true },
	{ "other", 0, 1000, 10999, false },	/* default 10 s applies */
	{ "other", 0, 1000, 11000, true },
	{ "other", 1, 1000, 1999, false },	/* the record's duration wins */
	{ "other", 1, 1000, 2000, true },
};

START_TEST(test_may_acquire)
{
	struct lease_record r = { .holder = (char *)acquires[_i].holder,
	    .duration_s = acquires[_i].duration_s, .transitions = -1 };

	ck_assert_int_eq(lease_may_acquire(&r, "me", acquires[_i].observed,
	    acquires[_i].now, 10000), acquires[_i].may);
}
END_TEST

/* Compact JSON of j, then decref j; caller frees. */
static char *
dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

START_TEST(test_patch_renew_takeover_release)
{
	struct lease_record r;
	const char *now = "2026-01-01T00:00:20.000000Z";
	char *s;

	parse(HELD, &r);
	s = dump(lease_patch_acquire(&r, "pod-a", now, 15));
	ck_assert_str_eq(s, "["
	    "{\"op\":\"test\",\"path\":\"/spec/holderIdentity\",\"value\":\"pod-a\"},"
	    "{\"op\":\"test\",\"path\":\"/spec/renewTime\",\"value\":\"2026-01-01T00:00:10.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/renewTime\",\"value\":\"2026-01-01T00:00:20.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/leaseDurationSeconds\",\"value\":15}]");
	free(s);
	s = dump(lease_patch_acquire(&r, "pod-b", now, 15));
	ck_assert_str_eq(s, "["
	    "{\"op\":\"test\",\"path\":\"/spec/holderIdentity\",\"value\":\"pod-a\"},"
	    "{\"op\":\"test\",\"path\":\"/spec/renewTime\",\"value\":\"2026-01-01T00:00:10.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/holderIdentity\",\"value\":\"pod-b\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/acquireTime\",\"value\":\"2026-01-01T00:00:20.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/renewTime\",\"value\":\"2026-01-01T00:00:20.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/leaseDurationSeconds\",\"value\":15},"
	    "{\"op\":\"add\",\"path\":\"/spec/leaseTransitions\",\"value\":5}]");
	free(s);
	s = dump(lease_patch_release(&r, "pod-a", now));
	ck_assert_str_eq(s, "["
	    "{\"op\":\"test\",\"path\":\"/spec/holderIdentity\",\"value\":\"pod-a\"},"
	    "{\"op\":\"test\",\"path\":\"/spec/renewTime\",\"value\":\"2026-01-01T00:00:10.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/holderIdentity\",\"value\":\"\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/leaseDurationSeconds\",\"value\":1},"
	    "{\"op\":\"add\",\"path\":\"/spec/acquireTime\",\"value\":\"2026-01-01T00:00:20.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/renewTime\",\"value\":\"2026-01-01T00:00:20.000000Z\"}]");
	free(s);
	lease_record_clear(&r);

	/* no heartbeat fields: the write is conditional on resourceVersion */
	parse("{\"metadata\":{\"resourceVersion\":\"12\"}}", &r);
	s = dump(lease_patch_acquire(&r, "pod-b", now, 15));
	ck_assert_str_eq(s, "["
	    "{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"12\"},"
	    "{\"op\":\"add\",\"path\":\"/spec\",\"value\":{}},"
	    "{\"op\":\"add\",\"path\":\"/spec/holderIdentity\",\"value\":\"pod-b\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/acquireTime\",\"value\":\"2026-01-01T00:00:20.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/renewTime\",\"value\":\"2026-01-01T00:00:20.000000Z\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/leaseDurationSeconds\",\"value\":15},"
	    "{\"op\":\"add\",\"path\":\"/spec/leaseTransitions\",\"value\":0}]");
	free(s);
	lease_record_clear(&r);
}
END_TEST

START_TEST(test_object_new)
{
	char *s = dump(lease_object_new("ns", "twa-x", "pod-a",
	    "2026-01-01T00:00:00.000000Z", 15));

	ck_assert_str_eq(s, "{\"apiVersion\":\"coordination.k8s.io/v1\","
	    "\"kind\":\"Lease\",\"metadata\":{\"name\":\"twa-x\",\"namespace\":"
	    "\"ns\"},\"spec\":{\"holderIdentity\":\"pod-a\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":"
	    "\"2026-01-01T00:00:00.000000Z\",\"renewTime\":"
	    "\"2026-01-01T00:00:00.000000Z\",\"leaseTransitions\":0}}");
	free(s);
}
END_TEST

static const struct {
	const char	*name;
	bool		 valid;
} names[] = {
	{ "orders-v2-7d9f-abcde", true }, { "a", true }, { "A.b_c-9", true },
	{ "", false }, { "-a", false }, { "a-", false }, { "Bad_Name-", false },
	{ "a/b", false }, { "a b", false }, { "\xc3\xa9", false },
	{ "123456789012345678901234567890123456789012345678901234567890123", true },
	{ "1234567890123456789012345678901234567890123456789012345678901234", false },
};

START_TEST(test_board_names)
{
	char *k = board_key(names[_i].name);

	ck_assert_int_eq(board_name_valid(names[_i].name), names[_i].valid);
	ck_assert(strncmp(k, BOARD_KEY_PREFIX, strlen(BOARD_KEY_PREFIX)) == 0);
	if (names[_i].valid)
		ck_assert_str_eq(k + strlen(BOARD_KEY_PREFIX), names[_i].name);
	else {
		ck_assert_uint_eq(strlen(k), strlen(BOARD_KEY_PREFIX) + 18);
		ck_assert(board_name_valid(k + strlen(BOARD_KEY_PREFIX)));
	}
	free(k);
}
END_TEST

START_TEST(test_board_key_hash_stable)
{
	char *a = board_key("pod.with.a.name.that.is.much.longer.than.sixty."
	    "three.characters.0001");
	char *b = board_key("pod.with.a.name.that.is.much.longer.than.sixty."
	    "three.characters.0002");
	char *c = board_key("pod.with.a.name.that.is.much.longer.than.sixty."
	    "three.characters.0001");

	ck_assert_str_ne(a, b);
	ck_assert_str_eq(a, c);
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_board_value)
{
	char *v = board_entry_value("v2-abc", BOARD_READY, "probe ok",
	    1700000000000001LL, 1700000001500000LL, "orders-v2-x", 15000);
	json_t *j;

	ck_assert_str_eq(v, "{\"build\":\"v2-abc\",\"state\":\"ready\","
	    "\"reason\":\"probe ok\",\"changed\":\"2023-11-14T22:13:20.000001Z\","
	    "\"written\":\"2023-11-14T22:13:21.500000Z\",\"pod\":\"orders-v2-x\","
	    "\"interval_ms\":15000}");
	free(v);
	ck_assert_str_eq(board_state_name(BOARD_TERMINATING), "terminating");
	ck_assert_str_eq(board_state_name(BOARD_STARTING), "starting");
	ck_assert_str_eq(board_state_name(BOARD_UNHEALTHY), "unhealthy");
	ck_assert(!board_entry_stale(0, 44999, 0, 15000));
	ck_assert(board_entry_stale(0, 45000, 0, 15000));
	/* the writer's own interval wins over the leader's */
	ck_assert(!board_entry_stale(0, 89999, 30000, 15000));
	ck_assert(board_entry_stale(0, 90000, 30000, 15000));
	ck_assert(board_entry_stale(0, 3000, 1000, 15000));
	j = json_loads("{\"interval_ms\":5000}", 0, NULL);
	ck_assert_int_eq(board_entry_interval(j), 5000);
	json_decref(j);
	j = json_loads("{\"interval_ms\":50}", 0, NULL);
	ck_assert_int_eq(board_entry_interval(j), 0);
	json_decref(j);
	j = json_loads("{\"interval_ms\":\"5s\"}", 0, NULL);
	ck_assert_int_eq(board_entry_interval(j), 0);
	json_decref(j);
	ck_assert_int_eq(board_entry_interval(NULL), 0);
}
END_TEST

START_TEST(test_pick_standbys)
{
	struct board_entry e[] = {
		{ .pod = "me", .state = "ready", .seen_ms = 100 },
		{ .pod = "d", .state = "ready", .seen_ms = 100 },
		{ .pod = "b", .state = "ready", .seen_ms = 100 },
		{ .pod = "c", .state = "starting", .seen_ms = 100 },
		{ .pod = "a", .state = "unhealthy", .seen_ms = 100 },
		{ .pod = "e", .state = "ready", .seen_ms = -100000 },	/* stale */
		{ .pod = NULL, .state = "ready", .seen_ms = 100 },
	};
	const char *out[4];
	const char *prev[] = { "d", "e", "zz" };
	size_t n;

	n = board_pick_standbys(e, 7, "me", NULL, 0, 2, 1000, 15000, out);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0], "b");
	ck_assert_str_eq(out[1], "d");
	/* earlier standbys that still qualify are kept first */
	n = board_pick_standbys(e, 7, "me", prev, 3, 2, 1000, 15000, out);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0], "d");
	ck_assert_str_eq(out[1], "b");
	/* starting pods fill in when too few are ready */
	n = board_pick_standbys(e, 7, "me", NULL, 0, 4, 1000, 15000, out);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(out[2], "c");
	n = board_pick_standbys(e, 1, "me", NULL, 0, 2, 1000, 15000, out);
	ck_assert_uint_eq(n, 0);
	n = board_pick_standbys(NULL, 0, "me", NULL, 0, 2, 1000, 15000, out);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* The suite. */
static Suite *
lease_pure_suite(void)
{
	Suite *s = suite_create("lease_pure");
	TCase *tc = tcase_create("pure");

	tcase_add_loop_test(tc, test_config_check, 0, N_CASES(configs));
	tcase_add_test(tc, test_record_parse);
	tcase_add_loop_test(tc, test_may_acquire, 0, N_CASES(acquires));
	tcase_add_test(tc, test_patch_renew_takeover_release);
	tcase_add_test(tc, test_object_new);
	tcase_add_loop_test(tc, test_board_names, 0, N_CASES(names));
	tcase_add_test(tc, test_board_key_hash_stable);
	tcase_add_test(tc, test_board_value);
	tcase_add_test(tc, test_pick_standbys);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(lease_pure_suite)
