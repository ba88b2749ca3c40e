-- QR images: shape of each format and bad arguments. That the images
-- decode back to the code is tested with a real decoder (test/shell/qr_decode.sh).
SET search_path = public, healthcode;
CREATE EXTENSION healthcode;
\set code 'HCN: 50-81100KB0*M0DY0W016C1PN1:Y1W505JCAE05JC+K0H00PE4XS8-.C000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'

-- SVG: one path, size = (modules + 8-module quiet zone) x module_size
SELECT left(s, 38) AS xml_decl, s LIKE '%<svg xmlns="http://www.w3.org/2000/svg"%' AS is_svg,
       right(s, 7) = '</svg>' || chr(10) AS closed,
       substring(s from 'width="([0-9]+)"')::int AS px,
       substring(s from 'viewBox="0 0 ([0-9]+) ')::int AS modules_with_quiet_zone
  FROM (SELECT qr_svg(:'code'::healthcode) AS s) q;
-- larger modules scale the image, not the symbol
SELECT substring(qr_svg(:'code'::healthcode, 'M', 10) from 'width="([0-9]+)"')::int AS px_at_10;
-- higher error correction needs a bigger symbol
SELECT level, substring(qr_svg(:'code'::healthcode, level, 1) from 'viewBox="0 0 ([0-9]+) ')::int - 8 AS symbol_modules
  FROM unnest(ARRAY['L', 'M', 'Q', 'H']) level;

-- PNG: signature and IHDR (width, height, 1-bit greyscale)
SELECT substring(p from 1 for 8) = '\x89504e470d0a1a0a'::bytea AS png_signature,
       substring(p from 13 for 4) = '\x49484452'::bytea AS ihdr,
       (get_byte(p, 16) << 24 | get_byte(p, 17) << 16 | get_byte(p, 18) << 8 | get_byte(p, 19)) AS width_px,
       (get_byte(p, 20) << 24 | get_byte(p, 21) << 16 | get_byte(p, 22) << 8 | get_byte(p, 23)) AS height_px,
       get_byte(p, 24) AS bit_depth, get_byte(p, 25) AS colour_type
  FROM (SELECT qr_png(:'code'::healthcode) AS p) q;

-- terminal: two module rows a line, all lines equally wide
SELECT count(*) AS lines, min(char_length(l)) = max(char_length(l)) AS rectangular,
       max(char_length(l)) AS columns
  FROM unnest(string_to_array(rtrim(qr_terminal(:'code'::healthcode), chr(10)), chr(10))) l;
SELECT qr_terminal(:'code'::healthcode) <> qr_terminal(:'code'::healthcode, 'M', true) AS invert_differs;

-- bad arguments: 22023
SELECT try(format('SELECT qr_svg(%L, %L)', :'code', 'X')) AS unknown_level;
SELECT try(format('SELECT qr_svg(%L, %L)', :'code', 'm')) AS lowercase_level;
SELECT try(format('SELECT qr_terminal(%L, %L)', :'code', '')) AS empty_level;
SELECT try(format('SELECT qr_png(%L, %L, 0)', :'code', 'M')) AS module_0;
SELECT try(format('SELECT qr_png(%L, %L, 65)', :'code', 'M')) AS module_65;
SELECT qr_svg(NULL) IS NULL AS strict;
DROP EXTENSION healthcode;
