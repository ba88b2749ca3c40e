/*
 * fuzz_reader.h — how the fuzz targets read their input: big-endian fields
 * taken one after another, zeros once the input runs out (so every input,
 * however short, is a whole case).
 */
#ifndef HC_FUZZ_READER_H
#define HC_FUZZ_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct reader
{
	const uint8_t *p;
	size_t		left;
} reader;

/* The next n bytes as a big-endian number. */
static inline uint64_t
take(reader *r, size_t n)
{
	uint64_t	v = 0;

	while (n--)
	{
		v <<= 8;
		if (r->left)
		{
			v |= *r->p++;
			r->left--;
		}
	}
	return v;
}

#endif							/* HC_FUZZ_READER_H */
