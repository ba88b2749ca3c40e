/*
 * unseal_tool.c — opens a sealed issuer secret outside the database, the
 * way an attacker holding a pg_dump and (or without) the server key would.
 * Used by a shell test to prove a dump alone holds no usable secret.
 *
 *   unseal_tool SERVER_KEY_FILE KEY_ID_HEX REGION SEALED_HEX
 *
 * KEY_ID_HEX is 16 hex digits, REGION six digits, SEALED_HEX the sealed
 * blob (nonce || ciphertext || tag) in hex; both hex arguments may carry
 * PostgreSQL's bytea "\x" prefix.  On success prints the 64-byte secret key
 * as lowercase hex on stdout and exits 0.  Exits 1 (message on stderr) when
 * the blob does not open, 2 on usage errors: wrong arguments, malformed hex
 * or region, an unreadable or malformed server key file.
 */
#include "hc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_NOT_OPENED 1
#define EXIT_USAGE		2

static void
usage(void)
{
	fprintf(stderr,
			"usage: unseal_tool SERVER_KEY_FILE KEY_ID_HEX REGION SEALED_HEX\n"
			"  prints the unsealed 64-byte issuer secret key as hex;\n"
			"  exit 1 if it does not open, 2 on usage errors\n");
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes hex (an optional "\x" prefix allowed) into out[cap]; returns the
 * number of bytes, or -1 if the text is not hex or too long.
 */
static long
parse_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t		len;
	size_t		i;

	if (s[0] == '\\' && s[1] == 'x')
		s += 2;
	len = strlen(s);
	if (len % 2 != 0 || len / 2 > cap)
		return -1;
	for (i = 0; i < len / 2; i++)
	{
		int			hi = hex_value(s[2 * i]);
		int			lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t) (hi * 16 + lo);
	}
	return (long) (len / 2);
}

int
main(int argc, char **argv)
{
	uint8_t		file_buf[256];
	size_t		file_len;
	uint8_t		server_key[HC_SERVER_KEY_LEN];
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint32_t	region;
	uint8_t		sealed[HC_SEALED_LEN + 64];
	long		sealed_len;
	uint8_t		sk[HC_SECRET_KEY_LEN];
	char		detail[HC_DETAIL_LEN];
	FILE	   *f;
	size_t		i;

	if (argc != 5)
	{
		usage();
		return EXIT_USAGE;
	}
	if (!hc_crypto_init())
	{
		fprintf(stderr, "unseal_tool: libsodium does not initialise\n");
		return EXIT_USAGE;
	}

	f = fopen(argv[1], "rb");
	if (f == NULL)
	{
		perror(argv[1]);
		return EXIT_USAGE;
	}
	file_len = fread(file_buf, 1, sizeof(file_buf), f);
	if (ferror(f))
	{
		perror(argv[1]);
		fclose(f);
		return EXIT_USAGE;
	}
	fclose(f);
	if (file_len == sizeof(file_buf))
	{
		hc_wipe(file_buf, sizeof(file_buf));
		fprintf(stderr, "unseal_tool: %s: too long to be a server key file\n", argv[1]);
		return EXIT_USAGE;
	}
	if (hc_parse_server_key(file_buf, file_len, server_key, detail, sizeof(detail)) != HC_OK)
	{
		hc_wipe(file_buf, sizeof(file_buf));
		fprintf(stderr, "unseal_tool: %s: %s\n", argv[1], detail);
		return EXIT_USAGE;
	}
	hc_wipe(file_buf, sizeof(file_buf));

	if (parse_hex(argv[2], key_id, sizeof(key_id)) != HC_KEY_ID_LEN)
	{
		fprintf(stderr, "unseal_tool: KEY_ID_HEX must be %d hex digits\n", 2 * HC_KEY_ID_LEN);
		hc_wipe(server_key, sizeof(server_key));
		return EXIT_USAGE;
	}
	if (hc_region_parse(argv[3], strlen(argv[3]), &region, detail, sizeof(detail)) != HC_OK)
	{
		fprintf(stderr, "unseal_tool: REGION: %s\n", detail);
		hc_wipe(server_key, sizeof(server_key));
		return EXIT_USAGE;
	}
	sealed_len = parse_hex(argv[4], sealed, sizeof(sealed));
	if (sealed_len < 0)
	{
		fprintf(stderr, "unseal_tool: SEALED_HEX is not hex of at most %zu bytes\n",
				sizeof(sealed));
		hc_wipe(server_key, sizeof(server_key));
		return EXIT_USAGE;
	}

	/* A blob of the wrong length simply does not open. */
	if (!hc_unseal_secret(server_key, key_id, region, sealed, (size_t) sealed_len, sk))
	{
		hc_wipe(server_key, sizeof(server_key));
		hc_wipe(sk, sizeof(sk));
		if (sealed_len != HC_SEALED_LEN)
			fprintf(stderr, "unseal_tool: the sealed secret has %ld bytes, not %d: it does not open\n",
					sealed_len, HC_SEALED_LEN);
		else
			fprintf(stderr, "unseal_tool: the sealed secret does not open with this server key, key id and region\n");
		return EXIT_NOT_OPENED;
	}
	hc_wipe(server_key, sizeof(server_key));

	for (i = 0; i < HC_SECRET_KEY_LEN; i++)
		printf("%02x", sk[i]);
	printf("\n");
	hc_wipe(sk, sizeof(sk));
	return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}
