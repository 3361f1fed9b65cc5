// Package kafka reads records from Kafka topics as a bounded snapshot: each
// partition from its start (or from the offset of the window's since, found
// by timestamp) up to the high-water mark seen when the read starts. It
// never joins a consumer group and never commits offsets, so an audit
// disturbs no consumer.
//
// Each message is shown to the mapping as a document: topic, partition,
// offset, timestamp (unix ms), key, headers.<name>, value.<path>, plus what
// the decoder adds (Debezium: op, before, after, source, ts_ms, with value
// the row image; CloudEvents: ce.<attribute> and data.<path>, in
// structured and binary mode alike). A dead-letter dump line has the same
// shape, so one mapping serves a DLQ read from a file or from Kafka.
package kafka

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/sources/mapping"
)

// Config is a kafka source's settings.
type Config struct {
	// Brokers are bootstrap addresses (host:port).
	Brokers []string `mapstructure:"brokers"`
	// BrokersEnv names an environment variable holding comma-separated
	// brokers; when it is set and not empty it wins over Brokers.
	BrokersEnv string `mapstructure:"brokers_env"`
	ClientID   string `mapstructure:"client_id"`
	TLS        TLS    `mapstructure:"tls"`
	SASL       SASL   `mapstructure:"sasl"`
	// Start is where each partition is read from: since (default: the
	// offset of the window's since, by message timestamp) or earliest.
	Start string `mapstructure:"start"`
	// DialTimeout bounds connecting (default 10s); ReadTimeout bounds each
	// fetch (default 30s): a broker silent that long has gone away.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	ReadTimeout time.Duration `mapstructure:"read_timeout"`
	// Retries is how often a partition read is resumed after a broker
	// error before the source fails (default 3).
	Retries *int `mapstructure:"retries"`
	// FetchMaxBytes bounds one fetch (default 4 MiB).
	FetchMaxBytes int `mapstructure:"fetch_max_bytes"`
	// Concurrency is how many partitions are read at once (default 4).
	Concurrency int      `mapstructure:"concurrency"`
	Records     []Record `mapstructure:"records"`
}

// TLS settings. TLS is on when Enabled is true or any file is given.
type TLS struct {
	Enabled            bool   `mapstructure:"enabled"`
	CAFile             string `mapstructure:"ca_file"`
	CertFile           string `mapstructure:"cert_file"`
	KeyFile            string `mapstructure:"key_file"`
	ServerName         string `mapstructure:"server_name"`
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
}

func (t TLS) on() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}

// SASL settings: mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
type SASL struct {
	Mechanism   string `mapstructure:"mechanism"`
	Username    string `mapstructure:"username"`
	Password    string `mapstructure:"password"`
	PasswordEnv string `mapstructure:"password_env"`
}

// Record maps the messages of one topic to records.
type Record struct {
	mapping.Spec `mapstructure:",squash"`
	Topic        string `mapstructure:"topic"`
	// Decoder is json (default), debezium or cloudevents.
	Decoder string `mapstructure:"decoder"`
	// DeadLetter marks a dead-letter topic: connect (Kafka Connect
	// __connect.errors.* headers), spring (kafka_dlt-* headers), auto
	// (whichever a message has), or custom (DeadLetterHeaders names them).
	DeadLetter string `mapstructure:"dead_letter"`
	// DeadLetterHeaders names the headers of a custom convention, or
	// overrides some of connect's or spring's: topic, partition, offset,
	// timestamp, error_class, error_message, attempts, consumer.
	DeadLetterHeaders map[string]string `mapstructure:"dead_letter_headers"`
	// OriginalTopic is the topic whose mapping decodes a dead letter's
	// payload; by default the original topic its headers name. That topic
	// must be mapped in this source for its mapping to be used.
	OriginalTopic string `mapstructure:"original_topic"`
}

const (
	defaultDialTimeout   = 10 * time.Second
	defaultReadTimeout   = 30 * time.Second
	defaultRetries       = 3
	defaultFetchMaxBytes = 4 << 20
	defaultConcurrency   = 4
)

var decoders = []string{"json", "debezium", "cloudevents"}

// Validate checks the settings without any I/O.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 && c.BrokersEnv == "" {
		return errors.New("brokers: required: bootstrap addresses such as [kafka-1:9092], or brokers_env: naming a variable that holds them")
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("brokers: %q has no port (host:9092)", b)
		}
	}
	switch c.Start {
	case "", "since", "earliest":
	default:
		return fmt.Errorf("start: %q: use since (the offset of the window's since, by timestamp) or earliest", c.Start)
	}
	if c.DialTimeout < 0 || c.ReadTimeout < 0 || c.FetchMaxBytes < 0 || c.Concurrency < 0 || (c.Retries != nil && *c.Retries < 0) {
		return errors.New("dial_timeout, read_timeout, retries, fetch_max_bytes and concurrency must not be negative")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: cert_file and key_file go together")
	}
	if c.SASL.Mechanism != "" || c.SASL.Username != "" {
		switch strings.ToUpper(c.SASL.Mechanism) {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			return fmt.Errorf("sasl.mechanism: %q: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism)
		}
		if c.SASL.Username == "" {
			return errors.New("sasl.username: required")
		}
		if (c.SASL.Password == "") == (c.SASL.PasswordEnv == "") {
			return errors.New("sasl: give password_env (the variable holding the password) or password, one of them")
		}
	}
	if len(c.Records) == 0 {
		return errors.New("records: at least one record mapping is required")
	}
	for i, r := range c.Records {
		if r.Topic == "" {
			return fmt.Errorf("records[%d].topic: required", i)
		}
		if r.Decoder != "" && !contains(decoders, r.Decoder) {
			return fmt.Errorf("records[%d].decoder: %q: use %s", i, r.Decoder, strings.Join(decoders, ", "))
		}
		switch r.DeadLetter {
		case "", "connect", "spring", "auto", "custom":
		default:
			return fmt.Errorf("records[%d].dead_letter: %q: use connect, spring, auto or custom", i, r.DeadLetter)
		}
		if r.DeadLetter == "" && (len(r.DeadLetterHeaders) > 0 || r.OriginalTopic != "") {
			return fmt.Errorf("records[%d]: dead_letter_headers and original_topic need dead_letter: (connect, spring, auto or custom)", i)
		}
		if r.DeadLetter == "custom" && r.DeadLetterHeaders["topic"] == "" {
			return fmt.Errorf("records[%d].dead_letter_headers.topic: required for a custom convention (the header naming the original topic)", i)
		}
		for k := range r.DeadLetterHeaders {
			if !contains(deadLetterFields, k) {
				return fmt.Errorf("records[%d].dead_letter_headers: unknown %q (known: %s)", i, k, strings.Join(deadLetterFields, ", "))
			}
		}
	}
	return nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
