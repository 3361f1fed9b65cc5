// Package file reads records from exported files: CSV with a header row,
// JSON Lines, or a JSON array, optionally gzip-compressed, one file or a glob.
package file

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/sources/mapping"
)

// Config is a file source's settings.
type Config struct {
	// Dir is the directory paths are relative to; itself relative to the
	// config file. Provenance shows paths relative to it.
	Dir      string   `mapstructure:"dir"`
	Coverage Coverage `mapstructure:"coverage"`
	Records  []Record `mapstructure:"records"`
}

// Coverage says which time range the files cover. Each bound is an RFC 3339
// time, `as_of` (the file is complete up to the run's as_of), or, for until,
// `last_record` (the default: the latest record read). Since defaults to no
// lower bound.
type Coverage struct {
	Since string `mapstructure:"since"`
	Until string `mapstructure:"until"`
}

// Record maps the rows of some files to records of one kind.
type Record struct {
	mapping.Spec `mapstructure:",squash"`
	// Path is a file or glob, relative to Dir; .gz files are decompressed.
	Path string `mapstructure:"path"`
	// Format is csv, jsonl or json; by default from the extension.
	Format string `mapstructure:"format"`
	// Delimiter for CSV (default ",").
	Delimiter string `mapstructure:"delimiter"`
}

// bound is a parsed coverage bound.
type bound struct {
	kind string // "", "time", "as_of", "last_record"
	t    time.Time
}

func parseBound(s string, allowLast bool) (bound, error) {
	switch s {
	case "":
		return bound{}, nil
	case "as_of":
		return bound{kind: "as_of"}, nil
	case "last_record":
		if !allowLast {
			return bound{}, errors.New("last_record is only for until")
		}
		return bound{kind: "last_record"}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return bound{}, fmt.Errorf("%q is neither an RFC 3339 time, as_of nor last_record", s)
	}
	return bound{kind: "time", t: t.UTC()}, nil
}

// Validate checks the settings without touching the file system.
func (c *Config) Validate() error {
	if len(c.Records) == 0 {
		return errors.New("records: at least one record mapping is required")
	}
	if _, err := parseBound(c.Coverage.Since, false); err != nil {
		return fmt.Errorf("coverage.since: %w", err)
	}
	if _, err := parseBound(c.Coverage.Until, true); err != nil {
		return fmt.Errorf("coverage.until: %w", err)
	}
	for i, r := range c.Records {
		if r.Path == "" {
			return fmt.Errorf("records[%d].path: required (a file or glob such as exports/charges-*.csv.gz)", i)
		}
		if _, err := filepath.Match(r.Path, ""); err != nil {
			return fmt.Errorf("records[%d].path: bad glob %q: %w", i, r.Path, err)
		}
		f, err := formatOf(r.Format, r.Path)
		if err != nil {
			return fmt.Errorf("records[%d].format: %w", i, err)
		}
		if len(r.Delimiter) > 1 {
			return fmt.Errorf("records[%d].delimiter: one character, got %q", i, r.Delimiter)
		}
		if r.Delimiter != "" && f != formatCSV {
			return fmt.Errorf("records[%d].delimiter: only CSV has one, and %s is read as %s: remove it, or set format: csv", i, r.Path, f)
		}
	}
	return nil
}

type format string

const (
	formatCSV   format = "csv"
	formatJSONL format = "jsonl"
	formatJSON  format = "json"
)

func formatOf(configured, path string) (format, error) {
	switch configured {
	case "csv", "jsonl", "json":
		return format(configured), nil
	case "ndjson":
		return formatJSONL, nil
	case "":
	default:
		return "", fmt.Errorf("unknown format %q: use csv, jsonl or json", configured)
	}
	p := strings.TrimSuffix(strings.ToLower(path), ".gz")
	switch {
	case strings.HasSuffix(p, ".csv"), strings.HasSuffix(p, ".tsv"):
		return formatCSV, nil
	case strings.HasSuffix(p, ".jsonl"), strings.HasSuffix(p, ".ndjson"):
		return formatJSONL, nil
	case strings.HasSuffix(p, ".json"):
		return formatJSON, nil
	}
	return "", fmt.Errorf("cannot tell the format of %q from its extension: set format: csv, jsonl or json", path)
}
