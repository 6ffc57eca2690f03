/* Tests of downward: the downward-API labels/annotations file format. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "downward.h"
#include "xalloc.h"

/* One file and what it must parse to (up to three pairs), or fail with. */
struct dw_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	int		 rc;
	size_t		 n;
	const char	*k[3];
	const char	*v[3];
	size_t		 vlen[3];	/* 0: strlen(v) */
	const char	*cause_has;
};

static const struct dw_case dw_cases[] = {
	{ "empty file", "", 0, 0, 0, { NULL }, { NULL }, { 0 }, NULL },
	{ "one pair", "twa.dev/rollout=\"Progressive\"", 0, 0, 1,
	  { "twa.dev/rollout" }, { "Progressive" }, { 0 }, NULL },
	{ "trailing newline", "a=\"1\"\nb=\"2\"\n", 0, 0, 2, { "a", "b" },
	  { "1", "2" }, { 0 }, NULL },
	{ "kubernetes shape", "kubernetes.io/config.seen=\"2024-01-01T00:00:00Z\"\n"
	  "twa.dev/ramp-steps=\"10%/5m,50%/10m\"\ntwa.dev/worker-probe="
	  "\"http://:8080/healthz\"", 0, 0, 3,
	  { "kubernetes.io/config.seen", "twa.dev/ramp-steps",
	    "twa.dev/worker-probe" },
	  { "2024-01-01T00:00:00Z", "10%/5m,50%/10m", "http://:8080/healthz" },
	  { 0 }, NULL },
	{ "empty value", "k=\"\"", 0, 0, 1, { "k" }, { "" }, { 0 }, NULL },
	{ "value with =", "k=\"a=b\"", 0, 0, 1, { "k" }, { "a=b" }, { 0 }, NULL },
	{ "simple escapes", "k=\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\"", 0, 0, 1,
	  { "k" }, { "\a\b\f\n\r\t\v\\\"" }, { 0 }, NULL },
	{ "json value", "twa.dev/gate-input=\"{\\\"a\\\": [1, 2]}\"", 0, 0, 1,
	  { "twa.dev/gate-input" }, { "{\"a\": [1, 2]}" }, { 0 }, NULL },
	{ "hex escape", "k=\"\\x41\\xff\\x7f\"", 0, 0, 1, { "k" },
	  { "A\xff\x7f" }, { 0 }, NULL },
	{ "hex escape upper", "k=\"\\xAB\"", 0, 0, 1, { "k" }, { "\xab" },
	  { 0 }, NULL },
	{ "octal escape", "k=\"\\101\\377\\001\"", 0, 0, 1, { "k" },
	  { "A\xff\x01" }, { 0 }, NULL },
	{ "u escape", "k=\"\\u00e9\\u2603\"", 0, 0, 1, { "k" },
	  { "\xc3\xa9\xe2\x98\x83" }, { 0 }, NULL },
	{ "U escape", "k=\"\\U0001F600\\U0010FFFF\"", 0, 0, 1, { "k" },
	  { "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf" }, { 0 }, NULL },
	{ "raw UTF-8", "k=\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\"", 0, 0,
	  1, { "k" }, { "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80" }, { 0 },
	  NULL },
	{ "raw tab", "k=\"a\tb\"", 0, 0, 1, { "k" }, { "a\tb" }, { 0 }, NULL },
	{ "prefixed key chars", "a.b-c_d/E.f-9=\"x\"", 0, 0, 1,
	  { "a.b-c_d/E.f-9" }, { "x" }, { 0 }, NULL },

	{ "unterminated", "k=\"abc", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "line 1: key \"k\": unterminated quoted value" },
	{ "unterminated by escaped quote", "k=\"abc\\\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "unterminated quoted value" },
	{ "quote only", "k=\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "unterminated" },
	{ "unquoted value", "a=\"1\"\nk=abc", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "line 2: key \"k\": the value does not start with '\"'" },
	{ "no value", "k=", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "does not start with" },
	{ "single quotes", "k='a'", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "does not start with" },
	{ "text after quote", "k=\"a\"b", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "text after the closing quote" },
	{ "space after quote", "k=\"a\" ", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "text after the closing quote" },
	{ "CRLF", "a=\"1\"\r\nb=\"2\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "line 1: key \"a\": text after the closing quote" },
	{ "no equals", "a=\"1\"\nb=\"2\"\njunk", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "line 3: expected key=\"value\", found no '='" },
	{ "empty line", "a=\"1\"\n\nb=\"2\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "line 2: empty line" },
	{ "two newlines at end", "a=\"1\"\n\n", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "line 2: empty line" },
	{ "empty key", "=\"1\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "line 1: empty key" },
	{ "space in key", "a b=\"1\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "outside [A-Za-z0-9._/-]" },
	{ "key with space before =", "a =\"1\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "outside" },
	{ "two slashes", "a/b/c=\"1\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "not [prefix/]name" },
	{ "leading slash", "/a=\"1\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "not [prefix/]name" },
	{ "trailing slash", "a/=\"1\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "not [prefix/]name" },
	{ "duplicate key", "a=\"1\"\nb=\"2\"\na=\"3\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "line 3: duplicate key \"a\" (first on line 1)" },
	{ "bad escape", "k=\"\\q\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "line 1: key \"k\": unknown escape \\q" },
	{ "single-quote escape", "k=\"\\'\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "unknown escape \\'" },
	{ "short hex", "k=\"\\x4\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "escape \\x needs 2 hex digits" },
	{ "bad hex", "k=\"\\xg0\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "needs 2 hex digits" },
	{ "short u", "k=\"\\u12\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "escape \\u needs 4 hex digits" },
	{ "surrogate", "k=\"\\uD800\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "not a Unicode scalar value" },
	{ "past unicode", "k=\"\\U00110000\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "not a Unicode scalar value" },
	{ "octal too big", "k=\"\\400\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "above \\377" },
	{ "octal short", "k=\"\\12\"", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "octal escape needs three digits" },
	{ "escaped NUL hex", "k=\"a\\x00b\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "NUL byte" },
	{ "escaped NUL octal", "k=\"\\000\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "NUL byte" },
	{ "escaped NUL u", "k=\"\\u0000\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "NUL byte" },
	{ "raw NUL", "k=\"a\0b\"", 7, -1, 0, { NULL }, { NULL }, { 0 },
	  "line 1: NUL byte" },
	{ "backslash at end", "k=\"a\\", 0, -1, 0, { NULL }, { NULL }, { 0 },
	  "unterminated" },
	{ "unescaped quote inside", "k=\"a\"b\"", 0, -1, 0, { NULL }, { NULL },
	  { 0 }, "text after the closing quote" },
	{ "invalid UTF-8 lone continuation", "k=\"\x80\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "invalid UTF-8 at byte 1" },
	{ "invalid UTF-8 truncated", "k=\"a\xc3\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "invalid UTF-8" },
	{ "invalid UTF-8 overlong", "k=\"\xc0\xaf\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "invalid UTF-8" },
	{ "invalid UTF-8 overlong 3", "k=\"\xe0\x80\xaf\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "invalid UTF-8" },
	{ "invalid UTF-8 surrogate", "k=\"\xed\xa0\x80\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "invalid UTF-8" },
	{ "invalid UTF-8 past max", "k=\"\xf4\x90\x80\x80\"", 0, -1, 0,
	  { NULL }, { NULL }, { 0 }, "invalid UTF-8" },
	{ "invalid UTF-8 in key", "k\xc3\xa9=\"1\"", 0, -1, 0, { NULL },
	  { NULL }, { 0 }, "outside" },
	{ "error names the later line", "a=\"1\"\nb=\"2\"\nc=\"\\z\"", 0, -1,
	  0, { NULL }, { NULL }, { 0 }, "line 3: key \"c\": unknown escape" },
};

START_TEST(test_downward_table)
{
	const struct dw_case *c = &dw_cases[_i];
	struct downward d = { (void *)1, 99 };
	char *cause = NULL;
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	int rc = downward_parse(c->in, len, &d, &cause);

	ck_assert_msg(rc == c->rc, "%s: rc %d, want %d (cause %s)", c->name,
	    rc, c->rc, cause != NULL ? cause : "none");
	if (rc != 0) {
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, c->cause_has) != NULL,
		    "%s: cause \"%s\" lacks \"%s\"", c->name, cause,
		    c->cause_has);
		ck_assert_ptr_null(d.v);
		ck_assert_uint_eq(d.n, 0);
		free(cause);
		return;
	}
	ck_assert_ptr_null(cause);
	ck_assert_msg(d.n == c->n, "%s: %zu pairs, want %zu", c->name, d.n,
	    c->n);
	for (size_t i = 0; i < c->n; i++) {
		size_t vl = c->vlen[i] != 0 ? c->vlen[i] : strlen(c->v[i]);

		ck_assert_str_eq(d.v[i].key, c->k[i]);
		ck_assert_uint_eq(strlen(d.v[i].value), vl);
		ck_assert_msg(memcmp(d.v[i].value, c->v[i], vl) == 0,
		    "%s: value %zu differs", c->name, i);
		ck_assert_uint_eq(d.v[i].line, i + 1);
		ck_assert_ptr_eq(downward_get(&d, c->k[i]), d.v[i].value);
	}
	ck_assert_ptr_null(downward_get(&d, "no/such-key"));
	downward_clear(&d);
	ck_assert_ptr_null(d.v);
	ck_assert_uint_eq(d.n, 0);
}
END_TEST

/* Every byte value escaped as Go's %q writes it decodes back. */
START_TEST(test_downward_all_bytes)
{
	char in[4 * 256 + 16], want[256];
	size_t n = 0, w = 0;
	struct downward d;
	char *cause = NULL;

	n += (size_t)snprintf(in + n, sizeof in - n, "k=\"");
	for (int b = 1; b < 256; b++) {
		want[w++] = (char)b;
		if (b == '"' || b == '\\')
			n += (size_t)snprintf(in + n, sizeof in - n, "\\%c", b);
		else if (b >= 0x20 && b < 0x7f)
			in[n++] = (char)b;
		else
			n += (size_t)snprintf(in + n, sizeof in - n, "\\x%02x",
			    b);
	}
	in[n++] = '"';
	ck_assert_int_eq(downward_parse(in, n, &d, &cause), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(strlen(d.v[0].value), w);
	ck_assert(memcmp(d.v[0].value, want, w) == 0);
	downward_clear(&d);
}
END_TEST

/* A huge value parses up to the cap; one byte past the cap fails. */
START_TEST(test_downward_huge)
{
	size_t big = 300 * 1024, n;
	char *in = xmalloc(DOWNWARD_MAX_BYTES + 2);
	struct downward d;
	char *cause = NULL;

	memcpy(in, "k=\"", 3);
	memset(in + 3, 'x', big);
	in[3 + big] = '"';
	n = big + 4;
	ck_assert_int_eq(downward_parse(in, n, &d, &cause), 0);
	ck_assert_uint_eq(strlen(d.v[0].value), big);
	downward_clear(&d);

	/* an unterminated huge line is reported, not overrun */
	ck_assert_int_eq(downward_parse(in, n - 1, &d, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "unterminated"));
	free(cause);

	memset(in, 'a', DOWNWARD_MAX_BYTES + 1);
	cause = NULL;
	ck_assert_int_eq(downward_parse(in, DOWNWARD_MAX_BYTES + 1, &d,
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "more than the"));
	free(cause);

	/* a key over the limit */
	memset(in, 'a', DOWNWARD_MAX_KEY + 1);
	memcpy(in + DOWNWARD_MAX_KEY + 1, "=\"1\"", 4);
	cause = NULL;
	ck_assert_int_eq(downward_parse(in, DOWNWARD_MAX_KEY + 5, &d, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "key longer than"));
	free(cause);
	free(in);
}
END_TEST

/* Many pairs keep their order and line numbers. */
START_TEST(test_downward_many)
{
	char *in = xmalloc(64 * 1000), key[32];
	size_t n = 0;
	struct downward d;
	char *cause = NULL;

	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(in + n, 64, "k%04d=\"v%d\"\n", i, i);
	ck_assert_int_eq(downward_parse(in, n, &d, &cause), 0);
	ck_assert_uint_eq(d.n, 1000);
	ck_assert_uint_eq(d.v[999].line, 1000);
	snprintf(key, sizeof key, "k%04d", 500);
	ck_assert_str_eq(downward_get(&d, key), "v500");
	downward_clear(&d);
	free(in);
}
END_TEST

/* downward_unquote on its own. */
START_TEST(test_downward_unquote)
{
	char *cause = NULL, *v;

	v = downward_unquote("\"a\\tb\"", 6, &cause);
	ck_assert_str_eq(v, "a\tb");
	free(v);
	ck_assert_ptr_null(downward_unquote("abc", 3, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "does not start"));
	free(cause);
	ck_assert_ptr_null(downward_unquote("\"", 1, &cause));
	free(cause);
	ck_assert_ptr_null(downward_unquote("\"ab", 3, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "unterminated"));
	free(cause);
	ck_assert_ptr_null(downward_unquote("\"a\nb\"", 5, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "newline"));
	free(cause);
}
END_TEST

/* The suite. */
static Suite *
downward_suite(void)
{
	Suite *s = suite_create("downward");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_downward_table, 0, N_CASES(dw_cases));
	tcase_add_test(tc, test_downward_all_bytes);
	tcase_add_test(tc, test_downward_huge);
	tcase_add_test(tc, test_downward_many);
	tcase_add_test(tc, test_downward_unquote);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(downward_suite)
