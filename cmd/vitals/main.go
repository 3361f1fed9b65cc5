// Command vitals audits business processes that run without a workflow
// engine: see README.md.
package main

import (
	"os"

	"github.com/vitals-dev/vitals/cmd/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
