-- Shared by the regression tests that follow (they run in one database):
-- try(sql) runs a statement that must fail and reports its SQLSTATE,
-- message and detail on one line.
-- Ids of personal rows are opaque and depend on the server key (25_pseudonyms.sql):
-- pname(id) names a person p1, p2, ... in the order they were registered,
-- and named(text) writes every such id in a text as its person's name, or
-- <id> when it is no person's.
CREATE FUNCTION public.pname(id bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT 'p' || x.n FROM (SELECT p.id, row_number() OVER (ORDER BY p.registered_at, p.id) AS n
                                    FROM healthcode.person p) x
           WHERE x.id = pname.id);
END $$;
CREATE FUNCTION public.named(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text;
BEGIN
  FOR m IN SELECT DISTINCT x[1] FROM regexp_matches(t, '\m(\d{18,19})\M', 'g') x LOOP
    t := regexp_replace(t, '\m' || m || '\M', coalesce(public.pname(m::bigint), '<id>'), 'g');
  END LOOP;
  RETURN t;
END $$;
CREATE FUNCTION public.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  -- a failing row holds timestamps: keep the output stable
  IF det LIKE 'Failing row contains%' THEN det := NULL; END IF;
  -- the role running the suite differs between machines
  msg := replace(msg, 'role ' || current_user || ' ', 'role <me> ');
  RETURN public.named(st || ': ' || msg || coalesce(' / ' || nullif(det, ''), ''));
END $$;
