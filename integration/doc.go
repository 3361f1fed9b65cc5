// Package integration holds end-to-end tests that run vitals against real
// servers: the local PostgreSQL and an in-process Kafka broker reached
// over TCP. They check that the checkout scenario gives the same findings
// from PostgreSQL + Kafka as from files, and how vitals behaves when a
// source fails: unreachable, broker gone mid-read, statement timeout,
// interruption.
package integration
