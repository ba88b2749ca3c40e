-- ---------------------------------------------------------------------------
-- Division names (GB/T 2260): what a citizen's screen shows for a place
-- code. The extension ships every provincial-level division and the cities
-- and districts its demo and tests use (built_in); a DBA loads the full
-- list into a table of their own and adds the rows the extension does not
-- ship (INSERT ... SELECT ... ON CONFLICT (code) DO NOTHING, doc/api.md);
-- those rows are dumped with the data. A code no row names is shown as
-- the code.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.division_name (
  code          text PRIMARY KEY
                CONSTRAINT code_is_place_code CHECK (@extschema@.place_code_valid(code)),
  name_zh       text NOT NULL CONSTRAINT name_zh_is_given CHECK (pg_catalog.length(pg_catalog.btrim(name_zh)) > 0),
  name_en       text NOT NULL CONSTRAINT name_en_is_given CHECK (pg_catalog.length(pg_catalog.btrim(name_en)) > 0),
  built_in      boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE @extschema@.division_name IS
  'Names of administrative divisions (GB/T 2260) in Chinese and English, for the screens (code_screen, itinerary). The extension ships the provinces and the places its demo and tests use; load the full list into it.';
COMMENT ON COLUMN @extschema@.division_name.code IS 'The division code, or a township''s (9 digits) or village''s (12).';
COMMENT ON COLUMN @extschema@.division_name.name_zh IS 'Its name in Chinese, e.g. 西湖区.';
COMMENT ON COLUMN @extschema@.division_name.name_en IS 'Its name in English, e.g. Xihu.';
COMMENT ON COLUMN @extschema@.division_name.built_in IS 'Shipped with the extension (not dumped: CREATE EXTENSION makes it).';
REVOKE ALL ON @extschema@.division_name FROM PUBLIC;
GRANT SELECT ON @extschema@.division_name TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON @extschema@.division_name TO healthcode_admin;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.division_name', 'WHERE NOT built_in');

INSERT INTO @extschema@.division_name (code, name_zh, name_en, built_in)
SELECT v.code, v.name_zh, v.name_en, true FROM (VALUES
  -- every provincial-level division
  ('110000', '北京市', 'Beijing'), ('120000', '天津市', 'Tianjin'), ('130000', '河北省', 'Hebei'),
  ('140000', '山西省', 'Shanxi'), ('150000', '内蒙古自治区', 'Inner Mongolia'), ('210000', '辽宁省', 'Liaoning'),
  ('220000', '吉林省', 'Jilin'), ('230000', '黑龙江省', 'Heilongjiang'), ('310000', '上海市', 'Shanghai'),
  ('320000', '江苏省', 'Jiangsu'), ('330000', '浙江省', 'Zhejiang'), ('340000', '安徽省', 'Anhui'),
  ('350000', '福建省', 'Fujian'), ('360000', '江西省', 'Jiangxi'), ('370000', '山东省', 'Shandong'),
  ('410000', '河南省', 'Henan'), ('420000', '湖北省', 'Hubei'), ('430000', '湖南省', 'Hunan'),
  ('440000', '广东省', 'Guangdong'), ('450000', '广西壮族自治区', 'Guangxi'), ('460000', '海南省', 'Hainan'),
  ('500000', '重庆市', 'Chongqing'), ('510000', '四川省', 'Sichuan'), ('520000', '贵州省', 'Guizhou'),
  ('530000', '云南省', 'Yunnan'), ('540000', '西藏自治区', 'Xizang'), ('610000', '陕西省', 'Shaanxi'),
  ('620000', '甘肃省', 'Gansu'), ('630000', '青海省', 'Qinghai'), ('640000', '宁夏回族自治区', 'Ningxia'),
  ('650000', '新疆维吾尔自治区', 'Xinjiang'), ('710000', '台湾省', 'Taiwan'),
  ('810000', '香港特别行政区', 'Hong Kong'), ('820000', '澳门特别行政区', 'Macao'),
  -- the cities and districts of the demo and the tests (a municipality's
  -- districts under the municipality's own name)
  ('110100', '北京市', 'Beijing'), ('110101', '东城区', 'Dongcheng'), ('110105', '朝阳区', 'Chaoyang'),
  ('110108', '海淀区', 'Haidian'),
  ('120100', '天津市', 'Tianjin'), ('120101', '和平区', 'Heping'),
  ('140100', '太原市', 'Taiyuan'), ('140105', '小店区', 'Xiaodian'),
  ('310100', '上海市', 'Shanghai'), ('310101', '黄浦区', 'Huangpu'), ('310104', '徐汇区', 'Xuhui'),
  ('310115', '浦东新区', 'Pudong'),
  ('320100', '南京市', 'Nanjing'), ('320102', '玄武区', 'Xuanwu'),
  ('330100', '杭州市', 'Hangzhou'), ('330102', '上城区', 'Shangcheng'), ('330105', '拱墅区', 'Gongshu'),
  ('330106', '西湖区', 'Xihu'), ('330108', '滨江区', 'Binjiang'), ('330109', '萧山区', 'Xiaoshan'),
  ('330110', '余杭区', 'Yuhang'),
  ('330200', '宁波市', 'Ningbo'), ('330203', '海曙区', 'Haishu'),
  ('330300', '温州市', 'Wenzhou'), ('330302', '鹿城区', 'Lucheng'),
  ('340100', '合肥市', 'Hefei'),
  ('350100', '福州市', 'Fuzhou'), ('350102', '鼓楼区', 'Gulou'),
  ('420100', '武汉市', 'Wuhan'), ('420106', '武昌区', 'Wuchang'),
  ('430100', '长沙市', 'Changsha'), ('430102', '芙蓉区', 'Furong'), ('430104', '岳麓区', 'Yuelu'),
  ('440100', '广州市', 'Guangzhou'), ('440103', '荔湾区', 'Liwan'), ('440106', '天河区', 'Tianhe'),
  ('440300', '深圳市', 'Shenzhen'), ('440305', '南山区', 'Nanshan'),
  ('460100', '海口市', 'Haikou'), ('460105', '秀英区', 'Xiuying'), ('460106', '龙华区', 'Longhua'),
  ('460107', '琼山区', 'Qiongshan'), ('460108', '美兰区', 'Meilan'),
  ('460200', '三亚市', 'Sanya'), ('460205', '天涯区', 'Tianya'),
  ('500100', '重庆市', 'Chongqing'), ('500101', '万州区', 'Wanzhou'),
  ('510100', '成都市', 'Chengdu'), ('510104', '锦江区', 'Jinjiang'),
  ('650100', '乌鲁木齐市', 'Urumqi')
) AS v(code, name_zh, name_en);

-- A place as a screen names it: its city, district and, below, its
-- township and community (a province's own name for a province), Chinese
-- 杭州市西湖区北山街道, English "Beishan, Xihu, Hangzhou"; the levels no row
-- names are left out, and a code none names is shown as the code.
-- (lookups by key, the place's and those of the levels above it up to
-- its city. A SQL body with neither SET nor SECURITY DEFINER: a query
-- that calls it in FROM, as the screen's reasons do, has it inlined)
CREATE FUNCTION @extschema@._division_labels(code text, OUT zh text, OUT en text)
RETURNS SETOF record
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT NULLIF(pg_catalog.concat(c.name_zh, k.name_zh, t.name_zh, o.name_zh), ''),
         NULLIF(pg_catalog.concat_ws(', ', o.name_en, t.name_en, k.name_en, c.name_en), '')
    FROM (SELECT @extschema@.division_rank(_division_labels.code) AS rank) one
    LEFT JOIN @extschema@.division_name o ON o.code OPERATOR(pg_catalog.=) _division_labels.code
    LEFT JOIN @extschema@.division_name c
           ON one.rank OPERATOR(pg_catalog.>=) 3
          AND c.code OPERATOR(pg_catalog.=) (pg_catalog.left(_division_labels.code, 4) OPERATOR(pg_catalog.||) '00')
    -- (a township of a city without counties names the city once)
    LEFT JOIN @extschema@.division_name k
           ON one.rank OPERATOR(pg_catalog.>=) 4
          AND k.code OPERATOR(pg_catalog.=) pg_catalog.left(_division_labels.code, 6)
          AND pg_catalog.right(k.code, 2) OPERATOR(pg_catalog.<>) '00'
    LEFT JOIN @extschema@.division_name t
           ON one.rank OPERATOR(pg_catalog.=) 5
          AND t.code OPERATOR(pg_catalog.=) pg_catalog.left(_division_labels.code, 9)
   WHERE _division_labels.code IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@._division_labels(text) IS
  'Internal: a place''s names as a screen shows them, zh and en (NULL where no division_name row names any of its levels); no row for NULL.';
REVOKE ALL ON FUNCTION @extschema@._division_labels(text) FROM PUBLIC;
-- (division_label and screen_reasons run as their callers, anyone)
GRANT EXECUTE ON FUNCTION @extschema@._division_labels(text) TO PUBLIC;

-- The names, cached by each backend (src/hc_division_names.c): a screen
-- names its places at every refresh; the cache asks _division_labels for
-- a place it has not seen, and again once division_name changes.
CREATE FUNCTION @extschema@._division_names(code text) RETURNS text[]
  AS 'MODULE_PATHNAME', 'healthcode_division_names'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._division_names(text) IS
  'Internal: {zh, en}, a place''s names as _division_labels composes them (each NULL where no row names any of its levels), from this backend''s cache.';
REVOKE ALL ON FUNCTION @extschema@._division_names(text) FROM PUBLIC;
-- (division_label, screen_reasons and the itinerary run as their callers, anyone)
GRANT EXECUTE ON FUNCTION @extschema@._division_names(text) TO PUBLIC;
-- every backend's cache of the names is stale once the table changes
CREATE TRIGGER division_name_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.division_name
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();

CREATE FUNCTION @extschema@.division_label(code text, lang text DEFAULT 'zh') RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED
-- (a SQL body without SET: inlined where it is called)
RETURN CASE WHEN code IS NULL OR lang IS NULL THEN NULL
            ELSE COALESCE((@extschema@._division_names(code))[CASE lang WHEN 'zh' THEN 1 WHEN 'en' THEN 2 END], code) END;
COMMENT ON FUNCTION @extschema@.division_label(text, text) IS
  'A division or place as a screen names it, lang zh (杭州市西湖区) or en (Xihu, Hangzhou): its city, district and, below the district, township and community, or a province''s name; the code itself when no division_name row names it (or lang is neither).';
