// Package reconcile runs the pipeline: it reads every source into one
// record store, links records into instances (union-find over business
// keys), infers each step's state from the evidence, and hands each
// instance to the rules for findings.
package reconcile

import (
	"errors"
	"fmt"
	"time"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/mapping"
)

// Input is everything a run needs, built from config without I/O.
type Input struct {
	Model    *rules.Model
	KeyTypes []string
	Links    []bool // per key type
	Sources  []SourceSpec
	AsOf     time.Time
	Since    time.Time // zero: no lower bound
	Until    time.Time
	Lookback time.Duration
	Grace    time.Duration
	Mask     []string
}

// SourceSpec is one configured source.
type SourceSpec struct {
	Name   string
	Type   string
	Source sources.Source
}

// Setup builds the input of a run from cfg. now is the wall clock, used
// only when the config sets no as_of.
func Setup(cfg *config.Config, reg *sources.Registry, now time.Time) (*Input, error) {
	asOf, since, until, err := cfg.Times(now)
	if err != nil {
		return nil, config.Errorf("%s: %v", cfg.Path, err)
	}
	keyTypes := cfg.KeyTypes()
	model, err := rules.Compile(cfg.Process, keyTypes)
	if err != nil {
		return nil, config.Errorf("%s: %v", cfg.Path, err)
	}
	in := &Input{
		Model: model, KeyTypes: keyTypes,
		AsOf: asOf, Since: since, Until: until,
		Lookback: cfg.Window.Lookback.D(), Grace: cfg.Grace.D(),
		Mask: cfg.Mask,
	}
	for _, k := range keyTypes {
		in.Links = append(in.Links, cfg.Keys.Links(k))
	}
	for i, sc := range cfg.Sources {
		src, err := reg.New(sources.Config{Name: sc.Name, Type: sc.Type, Dir: cfg.Dir, KeyTypes: keyTypes, SearchKeys: cfg.Keys.Search, Raw: sc.Raw})
		if err != nil {
			var uk *mapping.UnknownKeysError
			if errors.As(err, &uk) {
				uk.Prefix = fmt.Sprintf("sources[%d]", i)
				return nil, config.Errorf("%s: %v", cfg.Path, uk)
			}
			return nil, config.Errorf("%s: sources[%d] (%s): %v", cfg.Path, i, sc.Name, err)
		}
		in.Sources = append(in.Sources, SourceSpec{Name: sc.Name, Type: sc.Type, Source: src})
	}
	if !in.Links[model.RootType] {
		return nil, config.Errorf("%s: process.root: %q must be under keys.link: the root key is what links an instance", cfg.Path, model.Root)
	}
	for _, s := range model.Steps {
		if s.Authority != "" && !in.hasSource(s.Authority) {
			return nil, config.Errorf("%s: process.steps[%d].authority: %q is not a configured source", cfg.Path, s.Index, s.Authority)
		}
	}
	return in, nil
}

func (in *Input) hasSource(name string) bool {
	for _, s := range in.Sources {
		if s.Name == name {
			return true
		}
	}
	return false
}

// readWindow is what sources are asked to read.
func (in *Input) readWindow() sources.Window {
	w := sources.Window{Until: in.AsOf}
	if !in.Since.IsZero() {
		w.Since = in.Since.Add(-in.Lookback)
	}
	return w
}

func (in *Input) String() string {
	return fmt.Sprintf("as_of %s, window [%s, %s)", in.AsOf.Format(time.RFC3339), in.Since.Format(time.RFC3339), in.Until.Format(time.RFC3339))
}
