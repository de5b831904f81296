-- scripts/lib/bench-scale-data.sql -- fills a freshly migrated database with links and
-- click events at scale for scripts/bench-scale (which passes the sizes and checks the
-- counters afterwards).
--
--   psql -X -q -At -v links=N -v clicks=M -v hot=H -v users=U -v chunk=C -f THIS_FILE
--
-- Everything goes through the real tables, so the statement-level triggers of migration
-- 20261202000001 and 20261207000004 keep list_counts exact and the clicks' deltas, which
-- the fold (fold_click_deltas, as a replica runs it) then adds to link_clicks,
-- link_daily_clicks and link_referrers.
-- Each trigger aggregates its statement's transition table, hence one INSERT per chunk of
-- about C rows, each in its own transaction (\gexec runs every generated statement on
-- its own in autocommit mode).
--
-- The data:
--   * users 1..U; links 1..N, link g owned by user 1 + (g - 1) % U (user 1 owns link 1),
--     short code 'lnk' || g (codes are at least 3 characters), every tenth inactive;
--     created 90 to 60 days ago, each with its 'created' audit event;
--   * M clicks over the last 60 days, ids growing with time as a live service writes them:
--     H of them (evenly interleaved) on link 1, the rest spread evenly over links 2..N;
--     20 referrers plus "none sent" (JSON null, as the click writer stores it) on one
--     click in six, picked by a hash so that the hot link's clicks get all of them; each
--     click attributed to the link's owner.
--   * with classified clicks, the rollups by class, dimension and hour those clicks would
--     have made (below).
-- The click months are created empty before the clicks arrive (events_create_click_month),
-- so nothing is moved out of the default partition afterwards; events_maintain_partitions
-- then runs as maintenance would and must find nothing to move.
-- Session settings only (SET): the server's configuration is never touched. The backend
-- is reniced, so the load leaves room for whoever else shares the machine.

SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
SELECT pg_backend_pid() AS backend_pid, now() AS t0, clock_timestamp() AS started \gset
\setenv BENCH_SCALE_BACKEND :backend_pid
\! renice -n 10 -p "$BENCH_SCALE_BACKEND" >/dev/null 2>&1 || true

INSERT INTO users (id, username, email, created_at)
SELECT g, 'user' || g, 'user' || g || '@example.com',
       :'t0'::timestamptz - interval '120 days' + g * (interval '30 days' / :users)
FROM generate_series(1, :users) AS g;
SELECT setval(pg_get_serial_sequence('users', 'id'), :users) \gset

SELECT format($sql$
    INSERT INTO urls (id, user_id, short_code, original_url, title, is_active, created_at, updated_at)
    SELECT g, 1 + (g - 1) %% %2$s, 'lnk' || g, 'https://example.com/articles/' || g,
           CASE WHEN g %% 4 = 0 THEN 'Article ' || g END, g %% 10 <> 0, t.ts, t.ts
    FROM generate_series(%3$s, %4$s) AS g,
         LATERAL (SELECT %1$L::timestamptz - interval '90 days'
                         + g * (interval '30 days' / %5$s) AS ts) AS t
    $sql$, :'t0', :users, lo, hi, :links)
FROM generate_series(0, (:links - 1) / :chunk) AS c,
     LATERAL (SELECT c * :chunk + 1 AS lo, least((c + 1) * :chunk, :links) AS hi) AS b
ORDER BY c \gexec
SELECT setval(pg_get_serial_sequence('urls', 'id'), :links) \gset

SELECT format($sql$
    INSERT INTO events (url_id, user_id, event_type, timestamp, details)
    SELECT id, user_id, 'created', created_at,
           jsonb_build_object('short_code', short_code, 'original_url', original_url)
    FROM urls WHERE id BETWEEN %1$s AND %2$s ORDER BY id
    $sql$, lo, hi)
FROM generate_series(0, (:links - 1) / :chunk) AS c,
     LATERAL (SELECT c * :chunk + 1 AS lo, least((c + 1) * :chunk, :links) AS hi) AS b
ORDER BY c \gexec
SELECT round(extract(epoch FROM clock_timestamp() - :'started'::timestamptz), 1) AS secs \gset
\echo links done in :secs s

SELECT count(*) FILTER (WHERE events_create_click_month(m::date)) AS precreated
FROM generate_series(date_trunc('month', (:'t0'::timestamptz - interval '61 days') AT TIME ZONE 'UTC'),
                     date_trunc('month', :'t0'::timestamptz AT TIME ZONE 'UTC'),
                     interval '1 month') AS m \gset

-- Click i (1..M) in time order gets id base + i and a timestamp that grows with i. It is
-- on link 1 when floor(i*H/M) steps up at i: exactly H clicks, evenly interleaved, the
-- k-th at i = ceil(k*M/H). The j-th other click (j from 0, D = M - H of them) is at
-- i = floor(j*M/D) + 1 and goes round-robin to link 2 + j % (N - 1). Clicks are inserted
-- link by link, not in time order, so a chunk's trigger aggregates few links (one row per
-- link, not one per click) and the (url_id, id) index fills in order: several times
-- faster at full size than time-ordered chunks, for the same rows.
SELECT coalesce(max(id), 0) AS base, :clicks - :hot AS others,
       greatest(1, :chunk::bigint * (:links - 1) / greatest(:clicks - :hot, 1)) AS per_chunk,
       least(:links - 1, :clicks - :hot) AS clicked
FROM events \gset

SELECT format($sql$
    INSERT INTO events (id, url_id, user_id, event_type, timestamp, details)
    SELECT %2$s + c.i, 1, 1, 'click',
           %1$L::timestamptz - interval '60 days' + (c.i::float8 / %3$s) * interval '60 days',
           jsonb_build_object(
               'referrer', CASE WHEN r.k < 20 THEN 'https://ref' || r.k || '.example.org/post/' || c.i %% 50 END,
               'user_agent', CASE WHEN c.i %% 3 = 0 THEN 'curl/8.5.0' ELSE 'Mozilla/5.0 (bench-scale)' END)
    FROM generate_series(%5$s::bigint, %6$s::bigint) AS k,
         LATERAL (SELECT (k * %3$s + %4$s - 1) / %4$s AS i) AS c,
         LATERAL (SELECT ((c.i * 2246822519) >> 11) %% 24 AS k) AS r
    $sql$, :'t0', :base, :clicks, :hot, lo, hi),
    format($sql$SELECT 'clicks: ' || %1$s || '/' || %2$s || ' on link 1 after '
                       || round(extract(epoch FROM clock_timestamp() - %3$L::timestamptz), 1) || ' s'$sql$,
           hi, :hot, :'started')
FROM generate_series(0, (:hot - 1) / :chunk) AS c,
     LATERAL (SELECT c * :chunk + 1 AS lo, least((c + 1) * :chunk, :hot) AS hi) AS b
WHERE :hot > 0
ORDER BY c \gexec

SELECT format($sql$
    INSERT INTO events (id, url_id, user_id, event_type, timestamp, details)
    SELECT %2$s + c.i, l, 1 + (l - 1) %% %5$s, 'click',
           %1$L::timestamptz - interval '60 days' + (c.i::float8 / %3$s) * interval '60 days',
           jsonb_build_object(
               'referrer', CASE WHEN r.k < 20 THEN 'https://ref' || r.k || '.example.org/post/' || c.i %% 50 END,
               'user_agent', CASE WHEN c.i %% 3 = 0 THEN 'curl/8.5.0' ELSE 'Mozilla/5.0 (bench-scale)' END)
    FROM generate_series(%7$s::bigint, %8$s::bigint) AS l,
         LATERAL generate_series(0::bigint, (%4$s - 1 - (l - 2)) / (%6$s - 1)) AS t,
         LATERAL (SELECT ((l - 2) + t * (%6$s - 1)) * %3$s / %4$s + 1 AS i) AS c,
         LATERAL (SELECT ((c.i * 2246822519) >> 11) %% 24 AS k) AS r
    $sql$, :'t0', :base, :clicks, :others, :users, :links, lo, hi),
    format($sql$SELECT 'clicks: links 2..' || %1$s || ' of ' || %2$s || ' done after '
                       || round(extract(epoch FROM clock_timestamp() - %3$L::timestamptz), 1) || ' s'$sql$,
           hi, :links, :'started')
FROM generate_series(0, (:clicked - 1) / :per_chunk) AS c,
     LATERAL (SELECT 2 + c * :per_chunk AS lo, least(1 + (c + 1) * :per_chunk, 1 + :clicked) AS hi) AS b
WHERE :others > 0
ORDER BY c \gexec
SELECT setval('events_id_seq', greatest(max(id), 1)) FROM events \gset

SELECT format('SELECT rows FROM fold_click_deltas(%s)', :chunk)
FROM generate_series(0, (SELECT count(*) FROM click_deltas) / :chunk) \gexec
SELECT count(*) AS pending FROM click_deltas \gset
\echo click deltas left unfolded: :pending

-- With classified clicks (migration 20261207000005): the rollups by class, dimension and
-- hour, as the writer and the fold would have kept them. The generated clicks carry no
-- class, so each gets one from its user agent (curl: a bot; the rest people, each a
-- visitor of their own), a country, browser, OS, device and language from its id, and
-- its referrer's host; links in chunks of C/10.
SELECT to_regclass('link_dimension_clicks') IS NOT NULL AS classified \gset
\if :classified
SELECT format($sql$
    WITH c AS (
        SELECT url_id, timestamp AS ts, (timestamp AT TIME ZONE 'UTC')::date AS day,
               details->>'user_agent' LIKE 'curl%%' AS bot,
               (ARRAY['US','GB','DE','FR','IN','BR','JP','NL','CA','ES','IT','PL','SE','MX',
                      'AU','KR','TR','ID','NG','ZA'])[1 + id %% 20] AS country,
               (ARRAY['Chrome','Safari','Firefox','Edge','Samsung Internet','Opera'])[1 + id %% 6] AS browser,
               (ARRAY['Windows','macOS','iOS','Android','Linux'])[1 + id %% 5] AS os,
               (ARRAY['desktop','mobile','tablet'])[1 + id %% 3] AS device,
               (ARRAY['en','de','fr','es','pt','ja','it','nl','pl','tr'])[1 + id %% 10] AS language,
               coalesce(substring(details->>'referrer' FROM '://([^/]+)'), '') AS host
        FROM events_clicks WHERE url_id BETWEEN %1$s AND %2$s),
    dimensions AS (
        INSERT INTO link_dimension_clicks (url_id, dimension, day, key, humans, bots, previews, visitors)
        SELECT url_id, k.dimension, day, k.key, count(*) FILTER (WHERE NOT bot),
               count(*) FILTER (WHERE bot), 0, count(*) FILTER (WHERE NOT bot)
        -- The six dimensions of every click, spelled out: `click_dimension_keys` took a
        -- seventh argument (the variant, which generated links have none of) in
        -- migration 20261207000014, and this script also fills older schemas.
        FROM c, LATERAL (VALUES ('c'::"char", c.country),
                                ('b', CASE WHEN bot THEN '' ELSE c.browser END),
                                ('o', CASE WHEN bot THEN '' ELSE c.os END),
                                ('d', CASE WHEN bot THEN 'bot' ELSE c.device END),
                                ('l', CASE WHEN bot THEN '' ELSE c.language END),
                                ('r', c.host)) AS k(dimension, key)
        GROUP BY 1, 2, 3, 4),
    hours AS (
        INSERT INTO link_hourly_clicks (url_id, hour, humans, bots, previews, visitors)
        SELECT url_id, date_trunc('hour', ts, 'UTC'), count(*) FILTER (WHERE NOT bot),
               count(*) FILTER (WHERE bot), 0, count(*) FILTER (WHERE NOT bot)
        FROM c GROUP BY 1, 2)
    UPDATE link_daily_clicks d SET humans = s.humans, bots = s.bots, visitors = s.humans
    FROM (SELECT url_id, day, count(*) FILTER (WHERE NOT bot) AS humans,
                 count(*) FILTER (WHERE bot) AS bots
          FROM c GROUP BY 1, 2) s
    WHERE d.url_id = s.url_id AND d.day = s.day
    $sql$, lo, hi)
FROM generate_series(0, (:links - 1) / greatest(:chunk / 10, 1)) AS c,
     LATERAL (SELECT c * greatest(:chunk / 10, 1) + 1 AS lo,
                     least((c + 1) * greatest(:chunk / 10, 1), :links) AS hi) AS b
ORDER BY c \gexec
SELECT round(extract(epoch FROM clock_timestamp() - :'started'::timestamptz), 1) AS secs \gset
\echo class, dimension and hour rollups done in :secs s
\endif

-- With scopes (migration 20261207000009): the same rollups per owner and for every link,
-- summed from the links' as that migration does (the fold above made the days' without
-- the classes the links' were given since: they are made again).
SELECT to_regclass('scope_daily_clicks') IS NOT NULL AS scoped \gset
\if :scoped
TRUNCATE scope_daily_clicks, scope_dimension_clicks, scope_hourly_clicks;
INSERT INTO scope_daily_clicks (scope, day, clicks, humans, bots, previews, visitors)
SELECT s.scope, d.day, sum(d.clicks), sum(d.humans), sum(d.bots), sum(d.previews), sum(d.visitors)
FROM link_daily_clicks d JOIN urls u ON u.id = d.url_id, click_scopes(u.user_id) AS s(scope)
GROUP BY 1, 2;
INSERT INTO scope_dimension_clicks (scope, dimension, day, key, humans, bots, previews, visitors)
SELECT s.scope, d.dimension, d.day, d.key, sum(d.humans), sum(d.bots), sum(d.previews), sum(d.visitors)
FROM link_dimension_clicks d JOIN urls u ON u.id = d.url_id, click_scopes(u.user_id) AS s(scope)
GROUP BY 1, 2, 3, 4;
INSERT INTO scope_hourly_clicks (scope, hour, humans, bots, previews, visitors)
SELECT s.scope, d.hour, sum(d.humans), sum(d.bots), sum(d.previews), sum(d.visitors)
FROM link_hourly_clicks d JOIN urls u ON u.id = d.url_id, click_scopes(u.user_id) AS s(scope)
GROUP BY 1, 2;
SELECT round(extract(epoch FROM clock_timestamp() - :'started'::timestamptz), 1) AS secs \gset
\echo scope rollups done in :secs s
\endif

-- With each scope day's first links listed (migration 20261207000010): listed again from
-- the links' days, as that migration does.
SELECT to_regprocedure('relist_scope_top_links()') IS NOT NULL AS listed \gset
\if :listed
SELECT relist_scope_top_links();
SELECT round(extract(epoch FROM clock_timestamp() - :'started'::timestamptz), 1) AS secs \gset
\echo scope day lists done in :secs s
\endif

SELECT events_maintain_partitions(2) AS created_partitions \gset
SELECT count(*) AS left_in_default FROM events_clicks_default \gset
\echo click partitions created by maintenance: :created_partitions, clicks left in the default partition: :left_in_default
SELECT round(extract(epoch FROM clock_timestamp() - :'started'::timestamptz), 1) AS secs \gset
\echo inserts done in :secs s
VACUUM (ANALYZE);
SELECT round(extract(epoch FROM clock_timestamp() - :'started'::timestamptz), 1) AS secs \gset
\echo vacuum analyze done in :secs s
