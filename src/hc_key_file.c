/*
 * hc_key_file.c — the key files: the server key, which seals every issuer
 * secret key and derives the pseudonym key, and the national pseudonym
 * key. Each is 32 bytes in a file only the server's operating-system user
 * may read; they are read afresh whenever a secret is made from them and
 * wiped at once. Also the locked memory those secrets live in.
 */
#include "hc_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/fd.h"

#define SERVER_KEY_HINT \
	"Create a 32-byte key file readable only by the database server's operating-system user, " \
	"e.g. head -c 32 /dev/urandom > \"$PGDATA/healthcode_server.key\" && chmod 600 \"$PGDATA/healthcode_server.key\", " \
	"then ALTER SYSTEM SET healthcode.server_key_file = 'healthcode_server.key'; SELECT pg_reload_conf();"

#define NATIONAL_KEY_HINT \
	"Every node of the national scheme holds the same 32-byte national key file, readable only by the server's " \
	"operating-system user: ALTER SYSTEM SET healthcode.national_key_file = 'healthcode_national.key'; SELECT pg_reload_conf();"

/*
 * Reads a 32-byte key file (the server key, the national pseudonym key)
 * into out, after checking it is a regular file of the server's user that
 * no one else may read. The caller wipes out on every path; this function
 * wipes its own buffer before any error that follows the read.
 */
static void
read_key_file(const char *path, const char *what, const char *unset_detail, const char *hint,
			  uint8_t out[HC_SERVER_KEY_LEN])
{
	uint8_t		raw[2 * HC_SERVER_KEY_LEN + 2];
	struct stat st;
	int			fd;
	ssize_t		n;
	char		detail[HC_DETAIL_LEN];

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("healthcode %s is not configured", what),
				 errdetail("%s", unset_detail),
				 errhint("%s", hint)));

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY | O_NOFOLLOW);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open healthcode %s file \"%s\": %m", what, path),
				 errhint("%s", hint)));
	if (fstat(fd, &st) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat healthcode %s file \"%s\": %m", what, path)));
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		(st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("healthcode %s file \"%s\" has unsafe ownership or permissions", what, path),
				 errdetail("It must be a regular file owned by the database server's user (uid %d) "
						   "with no group or other access; it is uid %d, mode %04o.",
						   (int) geteuid(), (int) st.st_uid, (unsigned) (st.st_mode & 07777)),
				 errhint("chmod 600 the file and make the server's user its owner.")));
	}
	n = read(fd, raw, sizeof(raw));
	CloseTransientFile(fd);
	if (n < 0 || hc_parse_server_key(raw, (size_t) n, out, detail, sizeof(detail)) != HC_OK)
	{
		sodium_memzero(raw, sizeof(raw));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("healthcode %s file \"%s\" is malformed", what, path),
				 errdetail("%s", n < 0 ? "It could not be read." : detail),
				 errhint("%s", hint)));
	}
	sodium_memzero(raw, sizeof(raw));
}

void
hc_read_server_key(uint8_t out[HC_SERVER_KEY_LEN])
{
	read_key_file(hc_server_key_file, "server key",
				  "healthcode.server_key_file is empty; issuer secret keys are sealed under that key.",
				  SERVER_KEY_HINT, out);
}

void
hc_read_national_key(uint8_t out[HC_SERVER_KEY_LEN])
{
	read_key_file(hc_national_key_file, "national key",
				  "healthcode.national_key_file is empty; matching people across regions needs it.",
				  NATIONAL_KEY_HINT, out);
}

uint8_t *
hc_locked_alloc_reading(size_t len, hc_key_reader read_root, uint8_t root[HC_SERVER_KEY_LEN])
{
	uint8_t    *secret = sodium_malloc(len);

	if (secret == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("could not allocate locked memory for a secret key")));
	PG_TRY();
	{
		read_root(root);
	}
	PG_CATCH();
	{
		sodium_free(secret);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return secret;
}
