/*
 * bench/import_client.c — runs one statement the way an application sends
 * an import batch, and watches the memory of the backend that runs it.
 *
 *   import_client [-f FILE] [-e SQLSTATE] [-i MS] [-s SAMPLES] SQL
 *
 * With -f, FILE's contents are sent as $1: a text-format bind parameter of
 * unspecified type (paramTypes NULL), as a driver sends a query parameter,
 * so the server gives it the type of the function argument it is passed
 * to (json or jsonb alike). Without -f, SQL is sent as a simple query (a
 * COPY FROM a server file, say).
 *
 * Connects with the PG* environment, asks its backend's pid
 * (pg_backend_pid()), reads /proc/<pid>/smaps_rollup once before sending,
 * then every MS milliseconds (-i, default 50) while the statement is sent
 * and runs, until its result has arrived. Prints two lines:
 *
 *   <ms> <peak private kB> <peak anonymous kB> <private kB before> <anonymous kB before> <samples> <sqlstate>
 *   <the first value of the result, or the error message's first line>
 *
 * ms is the wall time from sending the statement to the arrival of its
 * result (as psql's \timing measures it); private = Private_Clean +
 * Private_Dirty; anonymous = the Anonymous line (heap and stack: private
 * memory that is not shared memory; the private figure also counts the
 * pages of shared memory that only this backend has touched). sqlstate is
 * 00000 on success. -s writes every sample ("<ms> <private kB> <anonymous
 * kB>") to SAMPLES.
 *
 * Exit status: 0 when the statement succeeded (or, with -e, failed with
 * that SQLSTATE), 1 otherwise, 2 on a usage or connection error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct mem
{
	long		private_kb;
	long		anon_kb;
};

static int
read_mem(const char *path, struct mem *m)
{
	char		line[256];
	long		clean = -1, dirty = -1, anon = -1, v;
	FILE	   *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
	{
		if (sscanf(line, "Private_Clean: %ld kB", &v) == 1)
			clean = v;
		else if (sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			dirty = v;
		else if (sscanf(line, "Anonymous: %ld kB", &v) == 1)
			anon = v;
	}
	fclose(f);
	if (clean < 0 || dirty < 0 || anon < 0)
		return -1;
	m->private_kb = clean + dirty;
	m->anon_kb = anon;
	return 0;
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char	   *buf;
	size_t		got = 0;
	int			fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
	{
		fprintf(stderr, "import_client: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	buf = malloc((size_t) st.st_size + 1);
	if (buf == NULL)
	{
		fprintf(stderr, "import_client: out of memory\n");
		exit(2);
	}
	while (got < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + got, (size_t) st.st_size - got);

		if (n <= 0)
		{
			fprintf(stderr, "import_client: reading %s failed\n", path);
			exit(2);
		}
		got += (size_t) n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* one line, without its newline and surrounding blanks */
static void
print_first_line(const char *s)
{
	size_t		n;

	while (*s == ' ' || *s == '\n')
		s++;
	n = strcspn(s, "\n");
	printf("%.*s\n", (int) n, s);
}

int
main(int argc, char **argv)
{
	const char *file = NULL, *expect = NULL, *samples_path = NULL, *sql;
	int			interval = 50, opt, sock, ok;
	PGconn	   *conn;
	PGresult   *res;
	char		path[64];
	char		sqlstate[6] = "00000";
	char	   *param = NULL, *message = NULL;
	size_t		param_len = 0;
	struct mem	before, peak, m;
	long		samples = 0;
	double		t0, t1;
	FILE	   *sf = NULL;

	while ((opt = getopt(argc, argv, "f:e:i:s:")) != -1)
	{
		switch (opt)
		{
			case 'f':
				file = optarg;
				break;
			case 'e':
				expect = optarg;
				break;
			case 'i':
				interval = atoi(optarg);
				break;
			case 's':
				samples_path = optarg;
				break;
			default:
				fprintf(stderr, "usage: import_client [-f FILE] [-e SQLSTATE] [-i MS] [-s SAMPLES] SQL\n");
				return 2;
		}
	}
	if (optind != argc - 1 || interval < 1)
	{
		fprintf(stderr, "usage: import_client [-f FILE] [-e SQLSTATE] [-i MS] [-s SAMPLES] SQL\n");
		return 2;
	}
	sql = argv[optind];
	if (file != NULL)
		param = read_file(file, &param_len);
	if (samples_path != NULL && (sf = fopen(samples_path, "w")) == NULL)
	{
		fprintf(stderr, "import_client: %s: %s\n", samples_path, strerror(errno));
		return 2;
	}

	conn = PQconnectdb("application_name=bench_import");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "import_client: %s", PQerrorMessage(conn));
		return 2;
	}
	res = PQexec(conn, "SELECT pg_backend_pid()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "import_client: %s", PQerrorMessage(conn));
		return 2;
	}
	snprintf(path, sizeof path, "/proc/%s/smaps_rollup", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (read_mem(path, &before) != 0)
	{
		fprintf(stderr, "import_client: cannot read %s (run as root or as the server's user)\n", path);
		return 2;
	}
	peak = before;

	sock = PQsocket(conn);
	PQsetnonblocking(conn, 1);
	t0 = now_ms();
	if (param != NULL)
	{
		const char *values[1] = {param};

		/* paramTypes NULL: the server infers the type; text format */
		ok = PQsendQueryParams(conn, sql, 1, NULL, values, NULL, NULL, 0);
	}
	else
		ok = PQsendQuery(conn, sql);
	if (!ok)
	{
		fprintf(stderr, "import_client: %s", PQerrorMessage(conn));
		return 2;
	}

	/* send (the parameter may be large), then wait for the results */
	for (;;)
	{
		struct pollfd pfd;
		int			flushed = PQflush(conn);

		if (flushed < 0)
		{
			fprintf(stderr, "import_client: %s", PQerrorMessage(conn));
			return 2;
		}
		if (flushed == 0 && !PQisBusy(conn))
		{
			res = PQgetResult(conn);
			if (res == NULL)
				break;
			if (PQresultStatus(res) == PGRES_FATAL_ERROR)
			{
				const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
				const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

				snprintf(sqlstate, sizeof sqlstate, "%s", st ? st : "?????");
				free(message);
				message = strdup(msg ? msg : PQresultErrorMessage(res));
			}
			else if (message == NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
					 PQntuples(res) > 0 && PQnfields(res) > 0)
				message = strdup(PQgetvalue(res, 0, 0));
			else if (message == NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
				message = strdup(PQcmdStatus(res));
			PQclear(res);
			continue;
		}
		pfd.fd = sock;
		pfd.events = POLLIN | (flushed ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, interval) < 0 && errno != EINTR)
		{
			perror("import_client: poll");
			return 2;
		}
		if (read_mem(path, &m) == 0)
		{
			samples++;
			if (m.private_kb > peak.private_kb)
				peak.private_kb = m.private_kb;
			if (m.anon_kb > peak.anon_kb)
				peak.anon_kb = m.anon_kb;
			if (sf != NULL)
				fprintf(sf, "%.0f %ld %ld\n", now_ms() - t0, m.private_kb, m.anon_kb);
		}
		if ((pfd.revents & POLLIN) && !PQconsumeInput(conn))
		{
			fprintf(stderr, "import_client: %s", PQerrorMessage(conn));
			return 2;
		}
	}
	t1 = now_ms();
	/* a last look: the backend may have grown since the last sample */
	if (read_mem(path, &m) == 0)
	{
		samples++;
		if (m.private_kb > peak.private_kb)
			peak.private_kb = m.private_kb;
		if (m.anon_kb > peak.anon_kb)
			peak.anon_kb = m.anon_kb;
	}
	if (sf != NULL)
		fclose(sf);
	PQfinish(conn);

	printf("%.1f %ld %ld %ld %ld %ld %s\n", t1 - t0, peak.private_kb, peak.anon_kb,
		   before.private_kb, before.anon_kb, samples, sqlstate);
	print_first_line(message ? message : "");
	if (expect != NULL)
		return strcmp(sqlstate, expect) == 0 ? 0 : 1;
	return strcmp(sqlstate, "00000") == 0 ? 0 : 1;
}
