#!/usr/bin/env bash
# The QR images decode back to the exact code text with a real decoder:
# PNG with zbarimg, SVG through rsvg-convert then zbarimg, and the terminal
# rendering redrawn as a bitmap, at every error-correction level.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
# The QR symbols in an image, as zbarimg reads them. (QR only: its other
# decoders see things in a QR image now and then; once in CI a GS1 DataBar
# "0180651446247755" came out of a code's PNG, a line after the code.)
read_qr() { zbarimg --raw -q -Sdisable -Sqrcode.enable "$1" 2>/dev/null; }

sql -c "SELECT healthcode.create_key('330000')" >/dev/null
code=$(sql -c "SELECT healthcode.issue('330106', healthcode.pseudonym('qr-subject'), 'red', '1 hour', true)")
like "$code" '^HCN:' "issued a code"

for level in L M Q H; do
	for px in 3 8; do
		sql -c "SELECT encode(healthcode.qr_png('$code', '$level', $px), 'base64')" | base64 -d > "$TEST_TMP/code.png"
		is "$(read_qr "$TEST_TMP/code.png")" "$code" "PNG, level $level, $px px modules: zbarimg reads the code"
		sql -c "SELECT healthcode.qr_svg('$code', '$level', $px)" > "$TEST_TMP/code.svg"
		rsvg-convert "$TEST_TMP/code.svg" -o "$TEST_TMP/svg.png"
		is "$(read_qr "$TEST_TMP/svg.png")" "$code" "SVG, level $level, $px px modules: rsvg-convert + zbarimg read the code"
	done
done

# A venue code (场所码) as PNG and SVG reads back as its text too.
venue=$(sql -c "SELECT healthcode._sign_venue_code('330106', 4611686018427390001)")
like "$venue" '^HCV:' "signed a venue code"
sql -c "SELECT encode(healthcode.venue_qr_png('$venue', 'M', 4), 'base64')" | base64 -d > "$TEST_TMP/venue.png"
is "$(read_qr "$TEST_TMP/venue.png")" "$venue" "venue code PNG: zbarimg reads the venue code"
sql -c "SELECT healthcode.venue_qr_svg('$venue', 'M', 4)" > "$TEST_TMP/venue.svg"
rsvg-convert "$TEST_TMP/venue.svg" -o "$TEST_TMP/venue_svg.png"
is "$(read_qr "$TEST_TMP/venue_svg.png")" "$venue" "venue code SVG: rsvg-convert + zbarimg read it"

# Terminal: each character is two module rows; by default light modules
# are drawn (for dark terminals), inverted the dark ones. Redraw as PBM.
for invert in false true; do
	sql -c "SELECT healthcode.qr_terminal('$code', 'M', $invert)" |
	perl -CS -Mutf8 -e '
		my $invert = shift; my @rows;
		while (my $l = <STDIN>) { chomp $l; next if $l eq ""; my (@t, @b);
			for my $c (split //, $l) {
				my ($top, $bot) = $c eq "█" ? (1,1) : $c eq "▀" ? (1,0) : $c eq "▄" ? (0,1) : (0,0);
				push @t, $top; push @b, $bot; }
			push @rows, \@t, \@b; }
		my $s = 6; my $w = @{$rows[0]};
		print "P1\n", $w * $s, " ", scalar(@rows) * $s, "\n";
		for my $r (@rows) { my $line = join " ", map { my $ink = $_; my $dark = $invert eq "true" ? $ink : 1 - $ink; ($dark) x $s } @$r;
			print "$line\n" for 1 .. $s; }
	' "$invert" > "$TEST_TMP/term.pbm"
	is "$(read_qr "$TEST_TMP/term.pbm")" "$code" "terminal rendering (invert=$invert) redrawn as a bitmap reads back as the code"
done

# A format version 2 code (it also carries the last negative test and the
# dose count: 165 characters instead of 157) at the highest level, where
# the symbol is densest; read back, it verifies with its facts.
code2=$(sql -c "SELECT healthcode.issue('330106', healthcode.pseudonym('qr-subject'), 'green', '1 hour', false, false, '2024-06-01 08:00:00+00', 3)")
is "${#code2}" 165 "a version 2 code has 165 characters"
sql -c "SELECT encode(healthcode.qr_png('$code2', 'H', 3), 'base64')" | base64 -d > "$TEST_TMP/code2.png"
read2=$(read_qr "$TEST_TMP/code2.png")
is "$read2" "$code2" "PNG, level H: zbarimg reads the version 2 code"
is "$(sql -c "SELECT reason || ' ' || doses || ' ' || (last_negative_at = '2024-06-01 08:00:00+00') FROM healthcode.verify('$read2')")" \
	"ok 3 true" "the code read back verifies, with its last negative test and doses"

done_testing
