-- Shared by the regression tests that follow (they run in one database):
-- try(sql) runs a statement that must fail and reports its SQLSTATE,
-- message and detail on one line.
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
  RETURN st || ': ' || msg || coalesce(' / ' || nullif(det, ''), '');
END $$;
