package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/valyala/fastjson"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/mapping"
)

// Factory registers the postgres source type.
func Factory() sources.Factory {
	return sources.Factory{Type: "postgres", New: New}
}

// Source reads one configured PostgreSQL source.
type Source struct {
	name             string
	dsn              string
	dsnEnv           string
	connectTimeout   time.Duration
	statementTimeout time.Duration
	pushdown         bool
	queries          []query
}

type query struct {
	index    int
	loc      string
	sql      string
	pk       []string
	mapper   *mapping.Mapper
	keys     map[string]mapping.Field
	pushdown bool
}

// label names the query in errors: its place in the config, the kind it
// maps and the table or query name ("records[1] (order_failed from orders)").
func (q *query) label() string {
	return fmt.Sprintf("records[%d] (%s from %s)", q.index, q.mapper.KindPattern(), q.loc)
}

// New decodes and validates cfg; it does no I/O.
func New(cfg sources.Config) (sources.Source, error) {
	var c Config
	if err := mapping.Decode(cfg.Raw, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Source{
		name: cfg.Name, dsn: c.DSN, dsnEnv: c.DSNEnv,
		connectTimeout: c.ConnectTimeout, statementTimeout: c.StatementTimeout,
		pushdown: c.ShardPushdown,
	}
	if s.connectTimeout == 0 {
		s.connectTimeout = defaultConnectTimeout
	}
	if s.statementTimeout == 0 {
		s.statementTimeout = defaultStatementTimeout
	}
	for i := range c.Records {
		r := &c.Records[i]
		m, err := mapping.Compile(r.Spec, cfg.KeyTypes, cfg.SearchKeys)
		if err != nil {
			return nil, fmt.Errorf("records[%d].%w", i, err)
		}
		s.queries = append(s.queries, query{index: i, loc: r.loc(), sql: r.sql(), pk: r.pk(), mapper: m, keys: r.Keys, pushdown: c.ShardPushdown})
	}
	return s, nil
}

// Pushdown reports whether the source filters its queries to the shard of
// a sharded run (shard_pushdown).
func (s *Source) Pushdown() bool { return s.pushdown }

// Kinds lists the kinds this source can produce.
func (s *Source) Kinds() []string {
	var out []string
	for _, q := range s.queries {
		if p := q.mapper.KindPattern(); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// KeyTypesByMapping lists, for each query, the key types it gives its
// records.
func (s *Source) KeyTypesByMapping() [][]string {
	var out [][]string
	for _, q := range s.queries {
		out = append(out, q.mapper.KeyTypes())
	}
	return out
}

// connInfo resolves the DSN (reading dsn_env) and the secrets to scrub.
func (s *Source) connInfo() (pq.Config, *secrets, error) {
	dsn := s.dsn
	if s.dsnEnv != "" {
		dsn = os.Getenv(s.dsnEnv)
		if dsn == "" {
			return pq.Config{}, &secrets{}, fmt.Errorf("environment variable %s (dsn_env) is empty or unset: export it with the connection string, e.g. %s='postgres://vitals_ro@db.internal:5432/shop'", s.dsnEnv, s.dsnEnv)
		}
	}
	sec := &secrets{dsn: dsn, password: passwordOf(dsn)}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return cfg, sec, errorf(sec, "bad connection string %s: %v", Redact(dsn), err)
	}
	if cfg.Password != "" {
		sec.password = cfg.Password // PGPASSWORD included
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = s.connectTimeout
	}
	if cfg.ApplicationName == "" {
		cfg.ApplicationName = "vitals"
	}
	return cfg, sec, nil
}

// Endpoint describes where the source connects, without the password.
func (s *Source) Endpoint() string {
	cfg, _, err := s.connInfo()
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// session is one open read-only transaction.
type session struct {
	db  *sqlx.DB
	tx  *sqlx.Tx
	sec *secrets
	now time.Time // the snapshot's time, by the server's clock
}

func (s *session) close() {
	if s.tx != nil {
		_ = s.tx.Rollback() // read only: nothing to commit
	}
	if s.db != nil {
		_ = s.db.Close()
	}
}

// open connects and starts the snapshot transaction.
func (s *Source) open(ctx context.Context) (*session, error) {
	cfg, sec, err := s.connInfo()
	if err != nil {
		return &session{sec: sec}, err
	}
	ses := &session{sec: sec}
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return ses, errorf(sec, "connection settings: %v", err)
	}
	ses.db = sqlx.NewDb(sql.OpenDB(connector), "postgres")
	ses.db.SetMaxOpenConns(1)
	where := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	cctx, cancel := context.WithTimeout(ctx, s.connectTimeout)
	defer cancel()
	if err := ses.db.PingContext(cctx); err != nil {
		if ctx.Err() != nil {
			return ses, sec.scrub(fmt.Errorf("connecting to %s: %w", where, ctx.Err()))
		}
		if cctx.Err() != nil {
			return ses, errorf(sec, "cannot connect to %s within connect_timeout %s: %v; check host, port and firewall, or raise connect_timeout", where, s.connectTimeout, err)
		}
		return ses, errorf(sec, "cannot connect to %s as %s: %v; check the DSN (%s), that the server runs, and that the role may log in", where, cfg.User, err, dsnEnvHint(s.dsnEnv))
	}
	ses.tx, err = ses.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return ses, errorf(sec, "start a read-only REPEATABLE READ transaction on %s: %v", where, err)
	}
	// An integer rendered by us, not user text: nothing to bind here.
	if _, err := ses.tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", s.statementTimeout.Milliseconds())); err != nil {
		return ses, errorf(sec, "set statement_timeout: %v", err)
	}
	if err := ses.tx.QueryRowContext(ctx, "SELECT now()").Scan(&ses.now); err != nil {
		return ses, errorf(sec, "read the snapshot time: %v", err)
	}
	ses.now = ses.now.UTC()
	return ses, nil
}

func dsnEnvHint(env string) string {
	if env == "" {
		return "dsn"
	}
	return "$" + env
}

// Check connects and opens the snapshot transaction, then closes it.
func (s *Source) Check(ctx context.Context) error {
	ses, err := s.open(ctx)
	defer ses.close()
	return err
}

// Read runs every query in one snapshot and streams the rows as records.
func (s *Source) Read(ctx context.Context, w sources.Window, sink sources.Sink) (sources.Coverage, error) {
	ses, err := s.open(ctx)
	defer ses.close()
	if err != nil {
		return sources.Coverage{}, err
	}
	since, until := w.Since, w.Until
	if since.IsZero() {
		since = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if until.IsZero() {
		until = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	cov := sources.Coverage{Until: ses.now}
	if !w.Until.IsZero() && w.Until.Before(cov.Until) {
		cov.Until = w.Until
	}
	out := sink.Writer()
	defer out.Close()
	for i := range s.queries {
		q := &s.queries[i]
		bq, usesSince, err := bindQuery(q.sql, since, until)
		if err != nil {
			return cov, fmt.Errorf("records[%d].query: %w", q.index, err)
		}
		if usesSince && !w.Since.IsZero() {
			cov.Since = w.Since
		}
		if err := s.runQuery(ctx, ses, q, bq, w.Shard, out); err != nil {
			return cov, err
		}
	}
	cov.Complete = true
	return cov, nil
}

// column says where one mapped field comes from: a column, or a JSON path
// inside a json/jsonb (or JSON text) column.
type column struct {
	col  int
	path []string
}

func (s *Source) resolve(q *query, cols []string) ([]column, []int, error) {
	idx := map[string]int{}
	for i, c := range cols {
		if _, dup := idx[c]; !dup {
			idx[c] = i
		}
	}
	var out []column
	var missing []string
	for _, f := range q.mapper.Fields() {
		if i, ok := idx[f]; ok {
			out = append(out, column{col: i})
			continue
		}
		if p, err := mapping.ParsePath(f); err == nil && len(p) > 1 {
			if i, ok := idx[p[0]]; ok {
				out = append(out, column{col: i, path: p[1:]})
				continue
			}
		}
		missing = append(missing, fmt.Sprintf("%q", f))
	}
	var pk []int
	for _, c := range q.pk {
		i, ok := idx[c]
		if !ok {
			return nil, nil, fmt.Errorf("%s: the query returns no primary key column %q (it returns %s); set primary_key: to the column(s) that identify a row", q.label(), c, strings.Join(cols, ", "))
		}
		pk = append(pk, i)
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%s: the query returns no column %s (it returns %s); fix the mapping or the SELECT list (a.b reads key b of json column a)", q.label(), strings.Join(missing, ", "), strings.Join(cols, ", "))
	}
	return out, pk, nil
}

func (s *Source) runQuery(ctx context.Context, ses *session, q *query, bq boundQuery, sh sources.Shard, out sources.Writer) error {
	p, err := s.describe(ctx, ses, q, bq, sh)
	if err != nil {
		return err
	}
	rows, err := ses.tx.QueryContext(ctx, p.sql, bq.args...)
	if err != nil {
		return s.queryError(ctx, ses, q, err)
	}
	defer rows.Close()
	if p.cols == nil { // run as written
		if p.cols, err = rows.Columns(); err != nil {
			return s.queryError(ctx, ses, q, err)
		}
		p.kinds = make([]int, len(p.cols))
		for i := range p.kinds {
			p.kinds[i] = colTyped
		}
	}
	fields, pk, err := s.resolve(q, p.cols)
	if err != nil {
		return err
	}
	cols := p.cols
	m := q.mapper.Clone()
	raw := make([]sql.RawBytes, len(cols))
	typed := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i, k := range p.kinds {
		if k == colTyped {
			ptrs[i] = &typed[i]
		} else {
			ptrs[i] = &raw[i]
		}
	}
	vals := make([]string, len(fields))
	texts := make([]string, len(cols))
	have := make([]bool, len(cols))
	bufs := make([][]byte, len(cols))
	parsers := make([]fastjson.Parser, len(cols))
	docs := make([]*fastjson.Value, len(cols))
	parsed := make([]bool, len(cols))
	var rec record.Record
	var pkb []byte
	n := int64(0)
	for rows.Next() {
		n++
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%s: read interrupted: %w", q.label(), err)
			}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return s.queryError(ctx, ses, q, err)
		}
		clear(have)
		clear(parsed)
		// The texts point into the driver's buffer for this row, or into
		// bufs: the mapping and the sink copy what they keep.
		textOf := func(c int) string {
			if !have[c] {
				have[c] = true
				switch p.kinds[c] {
				case colRaw:
					texts[c] = str(raw[c])
				case colTime, colDate:
					if raw[c] == nil {
						texts[c] = ""
						break
					}
					bufs[c] = rfc3339(raw[c], p.kinds[c] == colDate, bufs[c])
					texts[c] = str(bufs[c])
				default:
					texts[c], bufs[c] = text(typed[c], bufs[c])
				}
			}
			return texts[c]
		}
		pkb = pkb[:0]
		for i, c := range pk {
			if i > 0 {
				pkb = append(pkb, '/')
			}
			pkb = append(pkb, textOf(c)...)
		}
		rec.Prov = record.Provenance{Source: s.name, Loc: q.loc, Pos: n, Key: str(pkb), Style: record.StyleKey}
		var badJSON error
		for i, f := range fields {
			t := textOf(f.col)
			if f.path == nil || t == "" {
				vals[i] = t
				continue
			}
			if !parsed[f.col] {
				parsed[f.col] = true
				v, err := parsers[f.col].Parse(t)
				if err != nil {
					badJSON = fmt.Errorf("column %q is not JSON: %v", cols[f.col], err)
				}
				docs[f.col] = v
			}
			vals[i] = jsonText(docs[f.col], f.path)
		}
		if badJSON != nil {
			if err := s.bad(out, rec.Prov, badJSON); err != nil {
				return err
			}
			continue
		}
		keep, err := m.Map(vals, &rec)
		if err != nil {
			if err := s.bad(out, rec.Prov, err); err != nil {
				return err
			}
			continue
		}
		if !keep {
			out.Filtered(1)
			continue
		}
		if err := out.Record(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.queryError(ctx, ses, q, err)
	}
	return nil
}

// bad reports bad input; its provenance is copied first, as its key points
// into a buffer reused for the next row.
func (s *Source) bad(out sources.Writer, at record.Provenance, err error) error {
	at.Key = strings.Clone(at.Key)
	return out.Bad(at, err)
}

// jsonText extracts a path's text (see mapping.JSONText), as a copy.
func jsonText(doc *fastjson.Value, path []string) string {
	if doc == nil {
		return ""
	}
	text, _ := mapping.JSONText(doc.Get(path...), nil)
	return strings.Clone(text)
}

// queryError explains why a query failed, naming the query and what to do.
func (s *Source) queryError(ctx context.Context, ses *session, q *query, err error) error {
	if ctx.Err() != nil {
		return ses.sec.scrub(fmt.Errorf("%s: read interrupted: %w", q.label(), ctx.Err()))
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "57014" && strings.Contains(pe.Message, "statement timeout"):
			return errorf(ses.sec, "%s: the query ran longer than statement_timeout (%s) and PostgreSQL cancelled it; raise statement_timeout, index the time column, or narrow the window", q.label(), s.statementTimeout)
		case pe.Code == "42501":
			return errorf(ses.sec, "%s: %s; grant the read-only role SELECT on it (see README: PostgreSQL source)", q.label(), pe.Message)
		case pe.Code.Class() == "42":
			return errorf(ses.sec, "%s: the query is not valid here: %s; fix it in the config (try it with psql)", q.label(), pe.Message)
		case pe.Code.Class() == "57" || pe.Code.Class() == "08":
			return errorf(ses.sec, "%s: the connection was lost while reading: %s (the session was terminated or the server restarted); run again", q.label(), pe.Message)
		}
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf(ses.sec, "%s: the connection was lost while reading (%v: the session was terminated, the server restarted, or the network dropped it); run again", q.label(), err)
	}
	return errorf(ses.sec, "%s: %v", q.label(), err)
}
