package reconcile

import (
	"fmt"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/sources"
)

// coverage answers: may we call evidence of these kinds missing at time t?
// Only if every source that could have produced it covered t completely.
type coverage struct {
	srcs []covSrc
}

type covSrc struct {
	name  string
	kinds []string // exact kinds, "prefix*" patterns, or "*"
	cov   sources.Coverage
}

func newCoverage(reports []SourceReport) *coverage {
	c := &coverage{}
	for _, r := range reports {
		c.srcs = append(c.srcs, covSrc{name: r.Name, kinds: r.Kinds, cov: r.Coverage})
	}
	return c
}

// gap returns "" when absence of evidence of the given kinds at t can be
// claimed, or a short reason naming the source that did not cover t.
func (c *coverage) gap(kinds []string, anyKind bool, t time.Time) string {
	for _, s := range c.srcs {
		if !anyKind && !s.produces(kinds) {
			continue
		}
		switch {
		case !s.cov.Complete:
			return fmt.Sprintf("source %s did not finish reading", s.name)
		case !s.cov.Since.IsZero() && t.Before(s.cov.Since):
			return fmt.Sprintf("source %s covers only from %s", s.name, s.cov.Since.Format(time.RFC3339))
		case t.After(s.cov.Until):
			if s.cov.Until.IsZero() {
				return fmt.Sprintf("source %s read no records, so its coverage is unknown", s.name)
			}
			return fmt.Sprintf("source %s covers only until %s", s.name, s.cov.Until.Format(time.RFC3339))
		}
	}
	return ""
}

// partialCov says, for records of a set of kinds, which source read an
// instance only in part: one that did not finish reading (failed), else
// the one whose coverage begins latest (since). Where a source's coverage
// ends is no reason: what it read up to there is whole, and a source that
// read nothing (its end unknown) holds nothing to compare.
type partialCov struct {
	failed    string
	since     time.Time
	sinceName string
}

func (c *coverage) partialFor(kinds []string, anyKind bool) partialCov {
	var p partialCov
	for _, s := range c.srcs {
		if !anyKind && !s.produces(kinds) {
			continue
		}
		if !s.cov.Complete && p.failed == "" {
			p.failed = s.name
		}
		if s.cov.Since.After(p.since) {
			p.since, p.sinceName = s.cov.Since, s.name
		}
	}
	return p
}

// at names the source that read an instance starting at start only in
// part, or returns "".
func (p partialCov) at(start time.Time) string {
	if p.failed != "" {
		return p.failed
	}
	if start.Before(p.since) {
		return p.sinceName
	}
	return ""
}

func (s *covSrc) produces(kinds []string) bool {
	for _, p := range s.kinds {
		if p == "*" {
			return true
		}
		for _, k := range kinds {
			if p == k || strings.HasSuffix(p, "*") && strings.HasPrefix(k, strings.TrimSuffix(p, "*")) {
				return true
			}
		}
	}
	return false
}
