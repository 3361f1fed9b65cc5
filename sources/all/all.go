// Package all lists every source type this binary knows. Adding a source
// type means adding its factory here: there is no registration by init().
package all

import (
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/file"
	"github.com/vitals-dev/vitals/sources/kafka"
	"github.com/vitals-dev/vitals/sources/postgres"
)

// Registry returns a registry of all source types.
func Registry() *sources.Registry {
	return sources.NewRegistry(
		file.Factory(),
		kafka.Factory(),
		postgres.Factory(),
	)
}
