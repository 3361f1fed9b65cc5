// Package postgres reads records from PostgreSQL: one SQL query per record
// mapping, all run in one read-only REPEATABLE READ transaction so they see
// one consistent snapshot. The run's window is bound as the named parameters
// :since and :until, never spliced into the SQL. Rows stream from the server.
package postgres

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/vitals-dev/vitals/sources/mapping"
)

// Config is a postgres source's settings.
type Config struct {
	// DSN is a libpq connection string or postgres:// URL. Prefer DSNEnv:
	// a password in a config file is easily leaked.
	DSN string `mapstructure:"dsn"`
	// DSNEnv names the environment variable holding the DSN.
	DSNEnv string `mapstructure:"dsn_env"`
	// ConnectTimeout bounds connecting and authenticating (default 10s).
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// StatementTimeout bounds each query, streaming its rows included
	// (default 10m; 0s in the config is not allowed: use a large value).
	StatementTimeout time.Duration `mapstructure:"statement_timeout"`
	// ShardPushdown, in a sharded run (check --shard i/n), filters each
	// query in SQL to the rows whose root key column hashes to the shard,
	// plus the rows without a root key (see package shard and README:
	// Sharded runs).
	ShardPushdown bool     `mapstructure:"shard_pushdown"`
	Records       []Record `mapstructure:"records"`
}

// Record maps the rows of one query to records of one kind.
type Record struct {
	mapping.Spec `mapstructure:",squash"`
	// Query is the SQL; :since and :until are bound to the run's read window
	// (since is 0001-01-01 when the window has no lower bound). Without a
	// query, every row of Table is read.
	Query string `mapstructure:"query"`
	// Table names the table: provenance shows it (shopdb:orders#8812).
	Table string `mapstructure:"table"`
	// Name names the query in provenance when it is not one table's rows.
	Name string `mapstructure:"name"`
	// PrimaryKey lists the column(s) that identify a row in provenance
	// (default id).
	PrimaryKey []string `mapstructure:"primary_key"`
}

const (
	defaultConnectTimeout   = 10 * time.Second
	defaultStatementTimeout = 10 * time.Minute
)

// loc is what provenance calls the query's rows.
func (r *Record) loc() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Table
}

func (r *Record) pk() []string {
	if len(r.PrimaryKey) == 0 {
		return []string{"id"}
	}
	return r.PrimaryKey
}

// Validate checks the settings without any I/O: not even the environment
// variable is read here.
func (c *Config) Validate() error {
	switch {
	case c.DSN == "" && c.DSNEnv == "":
		return errors.New("dsn_env: required: the environment variable holding the connection string, e.g. dsn_env: SHOPDB_DSN (or dsn: for a DSN without password)")
	case c.DSN != "" && c.DSNEnv != "":
		return errors.New("dsn and dsn_env: give one, not both")
	}
	if c.ConnectTimeout < 0 || c.StatementTimeout < 0 {
		return errors.New("connect_timeout and statement_timeout must not be negative")
	}
	if len(c.Records) == 0 {
		return errors.New("records: at least one record mapping is required")
	}
	for i := range c.Records {
		r := &c.Records[i]
		if r.Query == "" && r.Table == "" {
			return fmt.Errorf("records[%d]: give a query (SELECT ... WHERE created_at >= :since AND created_at < :until) or a table", i)
		}
		if r.loc() == "" {
			return fmt.Errorf("records[%d]: give table: (the table the query reads) or name: (what provenance calls its rows)", i)
		}
		if strings.ContainsAny(r.loc(), "#:@ ") {
			return fmt.Errorf("records[%d]: %q must not contain spaces or any of # : @", i, r.loc())
		}
		for _, col := range r.PrimaryKey {
			if col == "" {
				return fmt.Errorf("records[%d].primary_key: empty column name", i)
			}
		}
		if _, _, err := bindQuery(r.sql(), time.Time{}, time.Time{}); err != nil {
			return fmt.Errorf("records[%d].query: %w", i, err)
		}
	}
	return nil
}

// sql returns the query to run.
func (r *Record) sql() string {
	if r.Query != "" {
		return r.Query
	}
	return "SELECT * FROM " + quoteTable(r.Table)
}

// quoteTable quotes each part of schema.table as an identifier.
func quoteTable(t string) string {
	parts := strings.Split(t, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

// bindQuery turns :since and :until into $n parameters. It reports whether
// the query filters by since (its coverage then starts there).
func bindQuery(q string, since, until time.Time) (bound boundQuery, usesSince bool, err error) {
	type marker struct{ name string }
	ms, mu := &marker{"since"}, &marker{"until"}
	// sqlx reads "::" as an escaped ":"; a cast (created_at::date) must
	// reach the server as written.
	q = strings.ReplaceAll(q, "::", "::::")
	out, args, err := sqlx.BindNamed(sqlx.DOLLAR, q, map[string]any{"since": ms, "until": mu})
	if err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "could not find name "); ok {
			name, _, _ = strings.Cut(name, " ")
			return bound, false, fmt.Errorf("uses :%s, but only :since and :until are bound (write :: for a literal colon, as in ::text)", name)
		}
		return bound, false, err
	}
	bound.sql = out
	for _, a := range args {
		switch a {
		case ms:
			usesSince = true
			bound.args = append(bound.args, since)
		case mu:
			bound.args = append(bound.args, until)
		}
	}
	return bound, usesSince, nil
}

type boundQuery struct {
	sql  string
	args []any
}
