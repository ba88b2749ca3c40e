/*
 * raw_rates.c — the baselines of bench/run.sh: what libsodium and
 * libqrencode do on their own, without PostgreSQL or the healthcode glue.
 *
 *   raw_rates sign N          crypto_sign_detached over N distinct 38-byte
 *                             messages
 *   raw_rates verify N        crypto_sign_verify_detached over N distinct
 *                             38-byte messages (signed beforehand, untimed)
 *   raw_rates sign-verify N   both: signs N distinct messages (timed as
 *                             "sign"), then verifies those signatures
 *                             (timed as "verify"); saves signing twice
 *   raw_rates qr FILE         QRcode_encodeString of every line of FILE
 *                             (level M, hint QR_MODE_8, case-sensitive)
 *   raw_rates qr-gen N        the same over N generated 157-character texts
 *                             "HCN:" + QR alphanumeric characters
 *   raw_rates screen N        the floor of a code screen, N times: one
 *                             signature of a 38-byte message, one QR symbol
 *                             of a 157-character text (level M) and its SVG
 *                             (4-pixel modules), written by the extension's
 *                             own pure-C core (hc_qr_encode, hc_qr_svg)
 *
 * Prints one line per measurement:
 *   "<sign|verify|qr> <rate in operations per second> <operations> <seconds>".
 * Only the loop over the library call is timed (CLOCK_MONOTONIC); inputs
 * are prepared and outputs checked outside it, so the compiler cannot drop
 * the work and a broken library cannot look fast.
 *
 * Built by run.sh: gcc -O2 -Isrc -o bench/raw_rates bench/raw_rates.c src/hc_core_qr.c src/hc_core_buf.c
 *                   -lsodium -lqrencode -lpng
 */
#include "hc_core.h"

#include <errno.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_LEN		38			/* the signed part of a v1 payload */
#define TEXT_LEN	157			/* "HCN:" + base45 of 102 bytes */
#define MAX_LINE	1024

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "raw_rates: %s\n", what);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
		die("out of memory");
	return p;
}

static long
parse_count(const char *s)
{
	char	   *end;
	long		n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n < 1 || n > 100000000)
		die("the count must be a positive integer");
	return n;
}

/* N distinct messages: random bytes with the index in the first 4. */
static uint8_t *
make_messages(long n)
{
	uint8_t    *msgs = xmalloc((size_t) n * MSG_LEN);
	long		i;

	randombytes_buf(msgs, (size_t) n * MSG_LEN);
	for (i = 0; i < n; i++)
	{
		uint8_t    *m = msgs + (size_t) i * MSG_LEN;

		m[0] = (uint8_t) (i >> 24);
		m[1] = (uint8_t) (i >> 16);
		m[2] = (uint8_t) (i >> 8);
		m[3] = (uint8_t) i;
	}
	return msgs;
}

static void
report(const char *name, long ops, double secs)
{
	printf("%s %.1f %ld %.6f\n", name, (double) ops / secs, ops, secs);
	fflush(stdout);
}

/* Signs n distinct messages, then verifies them; time_sign / time_verify
 * say which loops are timed and reported. */
static void
bench_sign_verify(long n, int time_sign, int time_verify)
{
	uint8_t		pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t		sk[crypto_sign_SECRETKEYBYTES];
	uint8_t    *msgs = make_messages(n);
	uint8_t    *sigs = xmalloc((size_t) n * crypto_sign_BYTES);
	double		t0,
				t1;
	long		i,
				good = 0;

	crypto_sign_keypair(pk, sk);
	t0 = now_seconds();
	for (i = 0; i < n; i++)
		crypto_sign_detached(sigs + (size_t) i * crypto_sign_BYTES, NULL,
							 msgs + (size_t) i * MSG_LEN, MSG_LEN, sk);
	t1 = now_seconds();
	if (time_sign)
		report("sign", n, t1 - t0);
	if (!time_verify)
	{
		/* spot-check the signatures (untimed) */
		for (i = 0; i < n; i += 997)
			if (crypto_sign_verify_detached(sigs + (size_t) i * crypto_sign_BYTES,
											msgs + (size_t) i * MSG_LEN, MSG_LEN, pk) != 0)
				die("a signature does not verify");
	}
	else
	{
		t0 = now_seconds();
		for (i = 0; i < n; i++)
			good += crypto_sign_verify_detached(sigs + (size_t) i * crypto_sign_BYTES,
												msgs + (size_t) i * MSG_LEN, MSG_LEN, pk) == 0;
		t1 = now_seconds();
		if (good != n)
			die("not every signature verified");
		report("verify", n, t1 - t0);
	}
	free(msgs);
	free(sigs);
}

static void
bench_qr(char **texts, long n)
{
	double		t0,
				t1;
	long		i;
	long		modules = 0;

	t0 = now_seconds();
	for (i = 0; i < n; i++)
	{
		QRcode	   *code = QRcode_encodeString(texts[i], 0, QR_ECLEVEL_M, QR_MODE_8, 1);

		if (code == NULL)
			die("QRcode_encodeString failed");
		modules += code->width;
		QRcode_free(code);
	}
	t1 = now_seconds();
	if (modules < n * 21)
		die("implausible QR symbols");
	report("qr", n, t1 - t0);
}

static char **generate_texts(long n);

/* sign + QR + SVG, as code_screen's floor */
static void
bench_screen(long n)
{
	char	  **texts = generate_texts(n);
	unsigned char pk[crypto_sign_PUBLICKEYBYTES],
				sk[crypto_sign_SECRETKEYBYTES],
				sig[crypto_sign_BYTES];
	unsigned char *msgs = xmalloc((size_t) n * MSG_LEN);
	double		t0,
				t1;
	long		i;
	size_t		bytes = 0;

	crypto_sign_keypair(pk, sk);
	randombytes_buf(msgs, (size_t) n * MSG_LEN);
	t0 = now_seconds();
	for (i = 0; i < n; i++)
	{
		hc_qr		qr;
		hc_buf		svg = {0};

		crypto_sign_detached(sig, NULL, msgs + i * MSG_LEN, MSG_LEN, sk);
		if (hc_qr_encode(texts[i], HC_QR_M, &qr) != HC_OK || hc_qr_svg(&qr, 4, &svg) != HC_OK)
			die("QR or SVG failed");
		bytes += svg.len + sig[0] % 2;
		hc_qr_free(&qr);
		hc_buf_free(&svg);
	}
	t1 = now_seconds();
	if (bytes < (size_t) n * 100)
		die("implausible SVG output");
	report("screen", n, t1 - t0);
}

static char **
read_texts(const char *path, long *n_out)
{
	FILE	   *f = fopen(path, "r");
	char		line[MAX_LINE];
	char	  **texts = NULL;
	long		n = 0,
				cap = 0;

	if (f == NULL)
	{
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f))
	{
		size_t		len = strcspn(line, "\n");

		line[len] = '\0';
		if (len == 0)
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 1024;
			texts = realloc(texts, (size_t) cap * sizeof(char *));
			if (texts == NULL)
				die("out of memory");
		}
		texts[n] = xmalloc(len + 1);
		memcpy(texts[n], line, len + 1);
		n++;
	}
	fclose(f);
	if (n == 0)
		die("no texts in the input file");
	*n_out = n;
	return texts;
}

static char **
generate_texts(long n)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
	char	  **texts = xmalloc((size_t) n * sizeof(char *));
	long		i;
	int			j;

	for (i = 0; i < n; i++)
	{
		texts[i] = xmalloc(TEXT_LEN + 1);
		memcpy(texts[i], "HCN:", 4);
		for (j = 4; j < TEXT_LEN; j++)
			texts[i][j] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		texts[i][TEXT_LEN] = '\0';
	}
	return texts;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	if (argc == 3 && strcmp(argv[1], "sign") == 0)
		bench_sign_verify(parse_count(argv[2]), 1, 0);
	else if (argc == 3 && strcmp(argv[1], "verify") == 0)
		bench_sign_verify(parse_count(argv[2]), 0, 1);
	else if (argc == 3 && strcmp(argv[1], "sign-verify") == 0)
		bench_sign_verify(parse_count(argv[2]), 1, 1);
	else if (argc == 3 && strcmp(argv[1], "qr") == 0)
	{
		long		n;
		char	  **texts = read_texts(argv[2], &n);

		bench_qr(texts, n);
	}
	else if (argc == 3 && strcmp(argv[1], "screen") == 0)
		bench_screen(parse_count(argv[2]));
	else if (argc == 3 && strcmp(argv[1], "qr-gen") == 0)
	{
		long		n = parse_count(argv[2]);

		bench_qr(generate_texts(n), n);
	}
	else
	{
		fprintf(stderr, "usage: raw_rates sign N | verify N | sign-verify N | qr FILE | qr-gen N | screen N\n");
		return 2;
	}
	return 0;
}
