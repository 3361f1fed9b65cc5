package config_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/sources/all"
)

// TestConfigs loads every testdata/*.yaml through the same path `vitals
// check` takes (load, compile the process, build the sources) and checks
// the outcome its first line announces: "# want: ok" or "# want: <part of
// the error>". Every failure must be a config error (exit 2).
func TestConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := firstLineWant(t, path)
			err := load(path)
			if want == "ok" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded fine; want an error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\ndoes not contain %q", err, want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v is a %T, not a config error (exit 2)", err, err)
			}
		})
	}
}

func load(path string) error {
	cfg, err := config.Load(path, nil)
	if err != nil {
		return err
	}
	_, err = reconcile.Setup(cfg, all.Registry(), time.Now())
	return err
}

func firstLineWant(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	line := sc.Text()
	want, ok := strings.CutPrefix(line, "# want: ")
	if !ok {
		t.Fatalf("%s: first line must be `# want: ok` or `# want: <error>`", path)
	}
	return want
}

// TestPrecedence: flags over environment over file.
func TestPrecedence(t *testing.T) {
	path := "testdata/valid.yaml"
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Grace.D() != 15*time.Minute || c.AsOf != "2026-11-20T12:00:00Z" {
		t.Fatalf("file values: grace %v as_of %q", c.Grace.D(), c.AsOf)
	}

	t.Setenv("VITALS_GRACE", "20m")
	t.Setenv("VITALS_AS_OF", "2026-11-21T00:00:00Z")
	c, err = config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Grace.D() != 20*time.Minute || c.AsOf != "2026-11-21T00:00:00Z" {
		t.Fatalf("env must override the file: grace %v as_of %q", c.Grace.D(), c.AsOf)
	}

	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("grace", "", "")
	fs.String("as-of", "", "")
	if err := fs.Parse([]string{"--grace", "30m"}); err != nil {
		t.Fatal(err)
	}
	c, err = config.Load(path, fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Grace.D() != 30*time.Minute {
		t.Errorf("flag must override env: grace %v", c.Grace.D())
	}
	if c.AsOf != "2026-11-21T00:00:00Z" {
		t.Errorf("an unset flag must not override env: as_of %q", c.AsOf)
	}
}

// TestBadOverrideNamesItsOrigin: a bad value from a flag or a VITALS_*
// variable is blamed on the flag or the variable, not on the config file;
// a flag that is set hides a bad variable.
func TestBadOverrideNamesItsOrigin(t *testing.T) {
	path := "testdata/valid.yaml"
	for _, tc := range []struct {
		env, flag []string // name, value
		want      string
	}{
		{flag: []string{"as-of", "2026-11-20"}, want: `--as-of "2026-11-20": not an RFC 3339 time`},
		{flag: []string{"since", "bogus"}, want: `--since "bogus": neither an RFC 3339 time`},
		{flag: []string{"lookback", "-1h"}, want: `--lookback "-1h": must not be negative`},
		{flag: []string{"grace", "soon"}, want: `--grace "soon": not a duration`},
		{env: []string{"VITALS_AS_OF", "yesterday"}, want: `VITALS_AS_OF "yesterday": not an RFC 3339 time`},
		{env: []string{"VITALS_WINDOW_UNTIL", "later"}, want: `VITALS_WINDOW_UNTIL "later": neither`},
		{env: []string{"VITALS_GRACE", "x"}, flag: []string{"grace", "20m"}}, // the flag wins: no error
	} {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		for _, f := range []string{"as-of", "since", "until", "lookback", "grace"} {
			fs.String(f, "", "")
		}
		if tc.flag != nil {
			if err := fs.Parse([]string{"--" + tc.flag[0], tc.flag[1]}); err != nil {
				t.Fatal(err)
			}
		}
		if tc.env != nil {
			t.Setenv(tc.env[0], tc.env[1])
		}
		_, err := config.Load(path, fs)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v %v: %v", tc.flag, tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), path)):
			t.Errorf("%v %v: error %v, want one containing %q and not naming %s", tc.flag, tc.env, err, tc.want, path)
		}
		if tc.env != nil {
			os.Unsetenv(tc.env[0])
		}
	}
}

// TestExtendsAndDataDir: a config extending another overrides its values;
// data_dir is relative to the file that sets it.
func TestExtendsAndDataDir(t *testing.T) {
	dir := t.TempDir()
	base, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "base", "exports"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("base/vitals.yaml", string(base)+"data_dir: exports\n")
	write("child.yaml", "extends: base/vitals.yaml\ngrace: 1h\n")
	write("child2.yaml", "extends: base/vitals.yaml\ndata_dir: elsewhere\n")

	c, err := config.Load(filepath.Join(dir, "child.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Grace.D() != time.Hour || c.Window.Since != "3d" {
		t.Errorf("child must override grace and keep the base window: grace %v since %q", c.Grace.D(), c.Window.Since)
	}
	if want := filepath.Join(dir, "base", "exports"); c.Dir != want {
		t.Errorf("data dir %q, want %q (relative to the base config that set it)", c.Dir, want)
	}
	c, err = config.Load(filepath.Join(dir, "child2.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "elsewhere"); c.Dir != want {
		t.Errorf("data dir %q, want %q (relative to the child that set it)", c.Dir, want)
	}
}
