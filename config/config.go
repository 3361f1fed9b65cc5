// Package config loads a vitals config: a YAML file, VITALS_* environment
// overrides and command-line flags (flags over environment over file).
// Unknown keys are rejected with their path. Validate does no I/O.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/sources/mapping"
)

// Config is a whole vitals config.
type Config struct {
	// Extends names a base config (relative to this file) that this file
	// overrides: maps merge, lists and values replace.
	Extends string `mapstructure:"extends"`
	// DataDir is where file sources' relative paths start; relative to the
	// config file that sets it (or to the working directory when it comes
	// from --data-dir or VITALS_DATA_DIR). Default: the config's directory.
	DataDir string `mapstructure:"data_dir"`
	// AsOf is the instant the run judges at (RFC 3339, or "now"). Every run
	// is reproducible from its as_of.
	AsOf string `mapstructure:"as_of"`
	// Window selects the instances a run judges, by start time.
	Window Window `mapstructure:"window"`
	// Grace keeps younger instances in flight: never flagged.
	Grace rules.Duration `mapstructure:"grace"`
	// Keys declares the key types records may carry.
	Keys    Keys         `mapstructure:"keys"`
	Sources []Source     `mapstructure:"sources"`
	Process rules.Config `mapstructure:"process"`
	// Mask lists attribute names (PII) whose values reports never show.
	Mask []string `mapstructure:"mask"`

	// Path is the file the config was read from; Dir is where file
	// sources' relative paths start (the resolved data_dir).
	Path string `mapstructure:"-"`
	Dir  string `mapstructure:"-"`
}

// Window selects instances by start time: since (a duration before as_of
// or an RFC 3339 time) up to until (default as_of). Sources read from
// since - lookback, so that evidence of a judged instance that started a
// little earlier still links.
type Window struct {
	Since    string         `mapstructure:"since"`
	Until    string         `mapstructure:"until"`
	Lookback rules.Duration `mapstructure:"lookback"`
}

// Keys declares key types. Records sharing a value of a Link type belong to
// the same instance; Search types (like customer_id) can be looked up with
// explain but never link two instances.
type Keys struct {
	Link   []string `mapstructure:"link"`
	Search []string `mapstructure:"search"`
}

// Links reports whether the key type links records.
func (k Keys) Links(typ string) bool { return slices.Contains(k.Link, typ) }

// Source is one source entry; its type-specific settings stay raw until
// the source's factory decodes them.
type Source struct {
	Name string         `mapstructure:"name"`
	Type string         `mapstructure:"type"`
	Raw  map[string]any `mapstructure:",remain"`
}

// Error is a config error: the run exits 2.
type Error struct {
	Err error
}

func (e *Error) Error() string { return "config: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a config error.
func Errorf(format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...)}
}

// Flag names bound to config keys. Commands define those they offer.
var flagKeys = map[string]string{
	"as-of":    "as_of",
	"since":    "window::since",
	"until":    "window::until",
	"lookback": "window::lookback",
	"grace":    "grace",
	"data-dir": "data_dir",
}

// envKeys are the keys VITALS_* variables may override.
var envKeys = []string{"as_of", "window::since", "window::until", "window::lookback", "grace", "data_dir"}

// Load reads the config at path (and the configs it extends), applies
// VITALS_* environment variables and the flags that were set, and
// validates the result.
func Load(path string, flags *pflag.FlagSet) (*Config, error) {
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigType("yaml")
	dataDir, err := readChain(v, path, 0)
	if err != nil {
		return nil, err
	}
	v.Set("extends", "")
	v.SetEnvPrefix("VITALS")
	v.SetEnvKeyReplacer(strings.NewReplacer("::", "_"))
	for _, k := range envKeys {
		if err := v.BindEnv(k); err != nil {
			return nil, Errorf("%v", err)
		}
	}
	if err := checkOverrides(flags); err != nil {
		return nil, err
	}
	flagDataDir := false
	if flags != nil {
		for flag, key := range flagKeys {
			if f := flags.Lookup(flag); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return nil, Errorf("%v", err)
				}
				flagDataDir = flagDataDir || flag == "data-dir" && f.Changed
			}
		}
	}
	var c Config
	err = v.UnmarshalExact(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		rules.DurationHook(),
		mapping.TimeToStringHook(),
		mapping.DecodeHook(),
	)))
	if err != nil {
		return nil, Errorf("%s: %s", path, explainDecode(err))
	}
	c.Path = path
	c.Dir = dataDir
	if flagDataDir || os.Getenv("VITALS_DATA_DIR") != "" {
		// From the command line or environment: relative to where vitals runs.
		if c.Dir, err = filepath.Abs(c.DataDir); err != nil {
			return nil, Errorf("data_dir: %v", err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, &Error{Err: fmt.Errorf("%s: %w", path, err)}
	}
	return &c, nil
}

// checkOverrides checks the values given by flags and VITALS_* variables
// before they are merged into the config, so that an error names the flag
// or the variable to fix, not the config file. A flag that is set hides
// its variable.
func checkOverrides(flags *pflag.FlagSet) error {
	for _, flag := range slices.Sorted(maps.Keys(flagKeys)) {
		key := flagKeys[flag]
		name, val := "", ""
		if flags != nil {
			if f := flags.Lookup(flag); f != nil && f.Changed {
				name, val = "--"+flag, f.Value.String()
			}
		}
		if name == "" {
			env := "VITALS_" + strings.ToUpper(strings.ReplaceAll(key, "::", "_"))
			v, ok := os.LookupEnv(env)
			if !ok {
				continue
			}
			name, val = env, v
		}
		if err := checkOverride(key, val); err != nil {
			return Errorf("%s %q: %v", name, val, err)
		}
	}
	return nil
}

func checkOverride(key, val string) error {
	switch key {
	case "as_of":
		if val == "" || val == "now" {
			return nil
		}
		if _, err := time.Parse(time.RFC3339, val); err != nil {
			return errors.New("not an RFC 3339 time such as 2026-11-20T12:00:00Z (or now)")
		}
	case "window::since", "window::until":
		if _, err := parseWhen(val, time.Now()); err != nil {
			return errors.New("neither an RFC 3339 time such as 2026-11-20T12:00:00Z nor a duration before as_of such as 72h or 3d")
		}
	case "window::lookback", "grace":
		if val == "" {
			return nil
		}
		d, err := rules.ParseDuration(val)
		if err != nil {
			return errors.New("not a duration such as 15m, 72h or 3d")
		}
		if d < 0 {
			return errors.New("must not be negative")
		}
	}
	return nil
}

// readChain merges the config at path over the configs it extends into v
// and returns the data directory, resolved against the file that set it.
func readChain(v *viper.Viper, path string, depth int) (string, error) {
	if depth > 8 {
		return "", Errorf("%s: extends nests more than 8 deep (a loop?)", path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", Errorf("cannot read %s: %v; pass --config FILE or set VITALS_CONFIG", path, err)
	}
	one := viper.NewWithOptions(viper.KeyDelimiter("::"))
	one.SetConfigType("yaml")
	if err := one.ReadConfig(bytes.NewReader(src)); err != nil {
		return "", Errorf("%s: %v", path, yamlError(err, src))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", Errorf("%s: %v", path, err)
	}
	dir := filepath.Dir(abs)
	dataDir := dir
	if base := one.GetString("extends"); base != "" {
		if !filepath.IsAbs(base) {
			base = filepath.Join(dir, base)
		}
		if dataDir, err = readChain(v, base, depth+1); err != nil {
			return "", err
		}
	}
	if dd := one.GetString("data_dir"); dd != "" {
		dataDir = dd
		if !filepath.IsAbs(dd) {
			dataDir = filepath.Join(dir, dd)
		}
	}
	if err := v.MergeConfigMap(one.AllSettings()); err != nil {
		return "", Errorf("%s: %v", path, err)
	}
	return dataDir, nil
}

var invalidKeys = regexp.MustCompile(`'([^']*)' has invalid keys: (.*)`)

// explainDecode rewrites mapstructure's unknown-key message into one that
// names each key's full path and says what to do.
func explainDecode(err error) string {
	msg := strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):\n\n")
	var lines []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if m := invalidKeys.FindStringSubmatch(line); m != nil {
			for _, k := range strings.Split(m[2], ", ") {
				p := k
				if m[1] != "" && m[1] != fmt.Sprintf("%T", Config{}) {
					p = m[1] + "." + k
				}
				lines = append(lines, fmt.Sprintf("unknown key %q: check its spelling against the config reference in README.md", p))
			}
			continue
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}

func yamlError(err error, src []byte) string {
	msg := strings.TrimPrefix(err.Error(), "While parsing config: ")
	// The parser names the line where the enclosing block starts; point at
	// the line that is most likely out of place.
	m := parserLine.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	at, _ := strconv.Atoi(m[1])
	if n, text := misindented(src); n > at {
		msg += fmt.Sprintf(" (in the block that starts there, line %d is the first whose indentation does not fit the lines above it: %q; align it, or the line before it, with the lines it belongs with, using spaces)", n, text)
	}
	return msg
}

var parserLine = regexp.MustCompile(`^yaml: line (\d+):`)

// Validate checks the config without any I/O.
func (c *Config) Validate() error {
	if c.AsOf != "" && c.AsOf != "now" {
		if _, err := time.Parse(time.RFC3339, c.AsOf); err != nil {
			return fmt.Errorf("as_of: %q is not an RFC 3339 time such as 2026-11-20T12:00:00Z (or now)", c.AsOf)
		}
	}
	if _, err := parseWhen(c.Window.Since, time.Now()); err != nil {
		return fmt.Errorf("window.since: %w", err)
	}
	if _, err := parseWhen(c.Window.Until, time.Now()); err != nil {
		return fmt.Errorf("window.until: %w", err)
	}
	if c.Grace < 0 || c.Window.Lookback < 0 {
		return errors.New("grace and window.lookback must not be negative")
	}
	if len(c.Keys.Link) == 0 {
		return errors.New("keys.link: declare the key types that link records, e.g. keys: {link: [order_id, charge_id]}")
	}
	if n := len(c.Keys.Link) + len(c.Keys.Search); n > record.MaxKeyTypes {
		return fmt.Errorf("keys: %d key types are declared; at most %d: drop the ones no mapping or process uses", n, record.MaxKeyTypes)
	}
	seenKey := map[string]bool{}
	for _, k := range append(slices.Clone(c.Keys.Link), c.Keys.Search...) {
		if k == "" || strings.ContainsAny(k, ": ") {
			return fmt.Errorf("keys: %q is not a key type name (use names like order_id)", k)
		}
		if seenKey[k] {
			return fmt.Errorf("keys: %q is declared twice", k)
		}
		seenKey[k] = true
	}
	if len(c.Sources) == 0 {
		return errors.New("sources: at least one source is required")
	}
	names := map[string]bool{}
	for i, s := range c.Sources {
		if s.Name == "" {
			return fmt.Errorf("sources[%d].name: required", i)
		}
		if strings.ContainsAny(s.Name, ":/@# ") {
			return fmt.Errorf("sources[%d].name: %q must not contain spaces or any of : / @ #", i, s.Name)
		}
		if names[s.Name] {
			return fmt.Errorf("sources[%d].name: %q is used twice", i, s.Name)
		}
		names[s.Name] = true
		if s.Type == "" {
			return fmt.Errorf("sources[%d] (%s).type: required (file, postgres or kafka)", i, s.Name)
		}
	}
	for _, m := range c.Mask {
		if m == "" {
			return errors.New("mask: empty attribute name")
		}
	}
	return nil
}

// KeyTypes returns the declared key types, sorted.
func (c *Config) KeyTypes() []string {
	ks := append(slices.Clone(c.Keys.Link), c.Keys.Search...)
	sort.Strings(ks)
	return ks
}

// Digest fingerprints what decides a run's findings, apart from its time:
// the keys, the sources and their mappings, the process, the mask, the
// lookback and the grace — not as_of, the window's bounds or where the
// data lives (data_dir). Two runs with the same digest judged by the same
// rules; a merge refuses shards whose digests differ.
func (c *Config) Digest() string {
	b, err := json.Marshal(struct {
		Keys     Keys
		Mask     []string
		Lookback rules.Duration
		Grace    rules.Duration
		Sources  []Source
		Process  rules.Config
	}{c.Keys, c.Mask, c.Window.Lookback, c.Grace, c.Sources, c.Process})
	if err != nil {
		return "" // cannot happen for a config read from YAML; no digest then
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Times resolves as_of and the window against now.
func (c *Config) Times(now time.Time) (asOf, since, until time.Time, err error) {
	asOf = now.UTC().Truncate(time.Second)
	if c.AsOf != "" && c.AsOf != "now" {
		asOf, err = time.Parse(time.RFC3339, c.AsOf)
		if err != nil {
			return
		}
		asOf = asOf.UTC()
	}
	until = asOf
	if c.Window.Until != "" {
		if until, err = parseWhen(c.Window.Until, asOf); err != nil {
			return
		}
	}
	if c.Window.Since != "" {
		if since, err = parseWhen(c.Window.Since, asOf); err != nil {
			return
		}
	}
	if !since.IsZero() && !since.Before(until) {
		err = fmt.Errorf("window: since %s is not before until %s: check window.since, window.until and as_of (or --since, --until, --as-of)", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	return
}

// parseWhen reads an RFC 3339 time or a duration before ref ("72h", "3d").
func parseWhen(s string, ref time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := rules.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration before as_of (72h, 3d)", s)
	}
	return ref.Add(-d.D()).UTC(), nil
}
