package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/sources"
	"github.com/vitals-dev/vitals/sources/mapping"
)

// Factory registers the kafka source type.
func Factory() sources.Factory {
	return sources.Factory{Type: "kafka", New: New}
}

// Source reads one configured Kafka source.
type Source struct {
	name          string
	dir           string
	cfg           Config
	retries       int
	topics        []string             // in config order, once each
	streams       map[string][]*stream // by topic
	fetchMaxBytes int
}

// stream is one record mapping of a topic.
type stream struct {
	index  int
	topic  string
	dec    decoder
	mapper *mapping.Mapper
	acc    []accessor
	dl     *deadLetter
}

// New decodes and validates cfg; it does no I/O.
func New(cfg sources.Config) (sources.Source, error) {
	var c Config
	if err := mapping.Decode(cfg.Raw, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Source{name: cfg.Name, dir: cfg.Dir, cfg: c, streams: map[string][]*stream{}, retries: defaultRetries}
	if c.Retries != nil {
		s.retries = *c.Retries
	}
	if s.cfg.DialTimeout == 0 {
		s.cfg.DialTimeout = defaultDialTimeout
	}
	if s.cfg.ReadTimeout == 0 {
		s.cfg.ReadTimeout = defaultReadTimeout
	}
	if s.cfg.FetchMaxBytes == 0 {
		s.cfg.FetchMaxBytes = defaultFetchMaxBytes
	}
	if s.cfg.Concurrency == 0 {
		s.cfg.Concurrency = defaultConcurrency
	}
	if s.cfg.ClientID == "" {
		s.cfg.ClientID = "vitals"
	}
	for i, r := range c.Records {
		spec := r.Spec
		if r.DeadLetter != "" && spec.Kind.IsZero() {
			spec.Kind = mapping.Field{Const: record.KindDeadLetter}
		}
		if spec.Time.IsZero() {
			spec.Time = mapping.Field{Field: "timestamp", Format: "unix_ms"}
		}
		m, err := mapping.Compile(spec, cfg.KeyTypes, cfg.SearchKeys)
		if err != nil {
			return nil, fmt.Errorf("records[%d].%w", i, err)
		}
		st := &stream{index: i, topic: r.Topic, dec: parseDecoder(r.Decoder), mapper: m}
		for _, f := range m.Fields() {
			a, err := compileField(f, st.dec)
			if err != nil {
				return nil, fmt.Errorf("records[%d]: %w", i, err)
			}
			st.acc = append(st.acc, a)
		}
		if r.DeadLetter != "" {
			st.dl = &deadLetter{mode: r.DeadLetter, custom: convention(r.DeadLetterHeaders), originalTopic: r.OriginalTopic}
		}
		if _, ok := s.streams[r.Topic]; !ok {
			s.topics = append(s.topics, r.Topic)
		}
		s.streams[r.Topic] = append(s.streams[r.Topic], st)
	}
	return s, nil
}

// Kinds lists the kinds this source can produce.
func (s *Source) Kinds() []string {
	var out []string
	for _, t := range s.topics {
		for _, st := range s.streams[t] {
			if p := st.mapper.KindPattern(); !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// KeyTypesByMapping lists, for each record mapping, the key types it
// gives its records. A dead letter's payload is decoded with the original
// topic's mapping: its list is every key type the source maps.
func (s *Source) KeyTypesByMapping() [][]string {
	var out [][]string
	var all []string
	for _, t := range s.topics {
		for _, st := range s.streams[t] {
			ks := st.mapper.KeyTypes()
			out = append(out, ks)
			all = append(all, ks...)
		}
	}
	for _, t := range s.topics {
		for _, st := range s.streams[t] {
			if st.dl != nil {
				out = append(out, all)
			}
		}
	}
	return out
}

// brokers resolves the bootstrap addresses.
func (s *Source) brokers() ([]string, error) {
	if s.cfg.BrokersEnv != "" {
		if v, set := os.LookupEnv(s.cfg.BrokersEnv); set && (v != "" || len(s.cfg.Brokers) == 0) {
			var out []string
			for _, b := range strings.Split(v, ",") {
				if b = strings.TrimSpace(b); b != "" {
					out = append(out, b)
				}
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("environment variable %s (brokers_env) is set but holds no broker address: export it with the bootstrap brokers, e.g. %s=kafka-1:9092,kafka-2:9092", s.cfg.BrokersEnv, s.cfg.BrokersEnv)
			}
			return out, nil
		}
		if len(s.cfg.Brokers) == 0 {
			return nil, fmt.Errorf("environment variable %s (brokers_env) is empty or unset: export it with the bootstrap brokers, e.g. %s=kafka-1:9092,kafka-2:9092", s.cfg.BrokersEnv, s.cfg.BrokersEnv)
		}
	}
	return s.cfg.Brokers, nil
}

// brokersFrom says where the broker addresses came from, for errors.
func (s *Source) brokersFrom() string {
	if s.cfg.BrokersEnv != "" && os.Getenv(s.cfg.BrokersEnv) != "" {
		if len(s.cfg.Brokers) > 0 {
			return " (from $" + s.cfg.BrokersEnv + ", which overrides brokers in the config)"
		}
		return " (from $" + s.cfg.BrokersEnv + ")"
	}
	return ""
}

// Endpoint describes where the source connects.
func (s *Source) Endpoint() string {
	b, err := s.brokers()
	if err != nil {
		return "$" + s.cfg.BrokersEnv + " (unset)"
	}
	return strings.Join(b, ",")
}

func (s *Source) path(p string) string {
	if p == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return s.dir + "/" + p
}

// dialer builds the connection settings: TLS files are read here.
func (s *Source) dialer() (*kafkago.Dialer, error) {
	d := &kafkago.Dialer{Timeout: s.cfg.DialTimeout, ClientID: s.cfg.ClientID, DualStack: true}
	if t := s.cfg.TLS; t.on() {
		tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
		if t.CAFile != "" {
			pem, err := os.ReadFile(s.path(t.CAFile))
			if err != nil {
				return nil, fmt.Errorf("tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", t.CAFile)
			}
			tc.RootCAs = pool
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(s.path(t.CertFile), s.path(t.KeyFile))
			if err != nil {
				return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		d.TLS = tc
	}
	if c := s.cfg.SASL; c.Username != "" {
		pw := c.Password
		if c.PasswordEnv != "" {
			pw = os.Getenv(c.PasswordEnv)
			if pw == "" {
				return nil, fmt.Errorf("environment variable %s (sasl.password_env) is empty or unset: export it with the SASL password", c.PasswordEnv)
			}
		}
		var m sasl.Mechanism
		var err error
		switch strings.ToUpper(c.Mechanism) {
		case "PLAIN":
			m = plain.Mechanism{Username: c.Username, Password: pw}
		case "SCRAM-SHA-256":
			m, err = scram.Mechanism(scram.SHA256, c.Username, pw)
		case "SCRAM-SHA-512":
			m, err = scram.Mechanism(scram.SHA512, c.Username, pw)
		}
		if err != nil {
			return nil, fmt.Errorf("sasl: %v", err)
		}
		d.SASLMechanism = m
	}
	return d, nil
}

// partitions asks the first broker that answers for the partitions of
// every configured topic.
func (s *Source) partitions(ctx context.Context, d *kafkago.Dialer, brokers []string) ([]kafkago.Partition, error) {
	var md *kafkago.MetadataResponse
	var errs []string
	for _, b := range brokers {
		var err error
		if md, err = s.metadata(ctx, d, b); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading metadata: %w", ctx.Err())
		}
		errs = append(errs, err.Error())
	}
	if md == nil {
		return nil, fmt.Errorf("cannot reach any broker of %s%s: %s", strings.Join(brokers, ", "), s.brokersFrom(), strings.Join(errs, "; "))
	}
	byName := map[string]kafkago.Topic{}
	for _, t := range md.Topics {
		byName[t.Name] = t
	}
	var out []kafkago.Partition
	for _, t := range s.topics {
		mt, ok := byName[t]
		if !ok {
			return nil, fmt.Errorf("topic %q: not in the broker's metadata; check the topic name and that the principal may Describe and Read it", t)
		}
		if mt.Error != nil {
			return nil, fmt.Errorf("topic %q: %v; check the topic name and that the principal may Describe and Read it", t, mt.Error)
		}
		ps := mt.Partitions
		if len(ps) == 0 {
			return nil, fmt.Errorf("topic %q has no partitions (does it exist?)", t)
		}
		slices.SortFunc(ps, func(a, b kafkago.Partition) int { return a.ID - b.ID })
		out = append(out, ps...)
	}
	return out, nil
}

// metadata reads the topics' metadata from one broker, as configured (TLS
// checks the certificate against its host).
func (s *Source) metadata(ctx context.Context, d *kafkago.Dialer, broker string) (*kafkago.MetadataResponse, error) {
	c, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		if errors.Is(err, kafkago.SASLAuthenticationFailed) {
			return nil, fmt.Errorf("%s refused the sasl login of %q: %v; check sasl.username and the password variable", broker, s.cfg.SASL.Username, err)
		}
		return nil, fmt.Errorf("%s: %v; check the address, the network and the tls settings", broker, err)
	}
	c.Close()
	// The metadata request must not ask the broker to create the topics:
	// kafka-go's Conn.ReadPartitions does (and a cluster with
	// auto.create.topics.enable, Kafka's default, would create a
	// misspelled topic and vitals would read it as empty). The client's
	// Metadata sends allow_auto_topic_creation=false.
	tr := &kafkago.Transport{
		DialTimeout:    d.Timeout,
		ClientID:       d.ClientID,
		TLS:            d.TLS,
		SASL:           d.SASLMechanism,
		MetadataTopics: s.topics,
	}
	defer tr.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(broker), Transport: tr, Timeout: s.cfg.ReadTimeout}
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: s.topics})
	switch {
	case err == nil:
		return md, nil
	case ctx.Err() != nil:
		return nil, err
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("%s accepted the connection but did not answer within read_timeout %s: is it a Kafka listener, and does it expect TLS (tls:) or not?", broker, s.cfg.ReadTimeout)
	}
	return nil, fmt.Errorf("reading the metadata of %s from %s: %v; check the topic names and that the principal may Describe and Read them", strings.Join(s.topics, ", "), broker, err)
}

// Check connects and reads the topics' metadata.
func (s *Source) Check(ctx context.Context) error {
	brokers, err := s.brokers()
	if err != nil {
		return err
	}
	d, err := s.dialer()
	if err != nil {
		return err
	}
	_, err = s.partitions(ctx, d, brokers)
	return err
}

// Read reads every partition of every configured topic up to the
// high-water mark it has when its read starts.
func (s *Source) Read(ctx context.Context, w sources.Window, sink sources.Sink) (sources.Coverage, error) {
	started := time.Now().UTC()
	cov := sources.Coverage{Until: started}
	if !w.Until.IsZero() && w.Until.Before(cov.Until) {
		cov.Until = w.Until
	}
	brokers, err := s.brokers()
	if err != nil {
		return cov, err
	}
	d, err := s.dialer()
	if err != nil {
		return cov, err
	}
	parts, err := s.partitions(ctx, d, brokers)
	if err != nil {
		return cov, err
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan kafkago.Partition)
	for range min(s.cfg.Concurrency, len(parts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				pr := s.newPartReader(d, brokers, p, sink)
				since, err := pr.read(ctx, w, started)
				mu.Lock()
				if err != nil && (firstErr == nil || errors.Is(firstErr, context.Canceled) && !errors.Is(err, context.Canceled)) {
					firstErr = err
					cancel()
				}
				if since.After(cov.Since) {
					cov.Since = since
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, p := range parts {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("read interrupted: %w", ctx.Err())
	}
	if firstErr != nil && parent.Err() != nil && !errors.Is(firstErr, context.Canceled) {
		firstErr = fmt.Errorf("%v (read interrupted: %w)", firstErr, parent.Err())
	}
	cov.Complete = firstErr == nil
	return cov, firstErr
}

// sinkError is an error from the sink (strict mode, cancellation): the
// read stops at once, without retrying.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// partReader reads one partition.
type partReader struct {
	s       *Source
	d       *kafkago.Dialer
	brokers []string
	topic   string
	part    int
	loc     string
	out     sources.Writer
	states  []*streamState
	origs   map[string]*streamState // original-topic mappings for dead letters
}

// streamState is one stream's per-goroutine state.
type streamState struct {
	st     *stream
	mapper *mapping.Mapper
	view   view
	vals   []string
	rec    record.Record
}

func newState(st *stream) *streamState {
	return &streamState{st: st, mapper: st.mapper.Clone(), view: view{dec: st.dec}, vals: make([]string, len(st.acc))}
}

func (ss *streamState) fill() {
	for i := range ss.st.acc {
		ss.vals[i] = ss.view.text(&ss.st.acc[i])
	}
}

func (s *Source) newPartReader(d *kafkago.Dialer, brokers []string, p kafkago.Partition, sink sources.Sink) *partReader {
	pr := &partReader{s: s, d: d, brokers: brokers, topic: p.Topic, part: p.ID, loc: p.Topic + "/" + strconv.Itoa(p.ID), out: sink.Writer(), origs: map[string]*streamState{}}
	for _, st := range s.streams[p.Topic] {
		pr.states = append(pr.states, newState(st))
	}
	return pr
}

func (pr *partReader) where(off int64) string {
	return fmt.Sprintf("topic %s partition %d at offset %d", pr.topic, pr.part, off)
}

// dial connects to the partition's leader through the first broker that
// answers.
func (pr *partReader) dial(ctx context.Context) (*kafkago.Conn, error) {
	var last error
	// kafka-go bounds only the TCP connect by the dialer's timeout; finding
	// the leader then talks to the broker with no deadline, and a broker
	// that stopped answering (a frozen process, a half-open connection)
	// would hold the read forever.
	limit := pr.s.cfg.DialTimeout + pr.s.cfg.ReadTimeout
	for _, b := range pr.brokers {
		dctx, cancel := context.WithTimeout(ctx, limit)
		c, err := pr.d.DialLeader(dctx, "tcp", b, pr.topic, pr.part)
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if dctx.Err() != nil {
			err = fmt.Errorf("%s did not answer within %s (dial_timeout + read_timeout)", b, limit)
		}
		last = err
	}
	return nil, last
}

// link is the connection to a partition's leader, closed when the read
// is cancelled so that a blocked fetch returns at once.
type link struct {
	conn *kafkago.Conn
	stop func() bool
	err  error // why the last dial failed
}

func (l *link) close() {
	if l.conn != nil {
		l.stop()
		l.conn.Close()
		l.conn = nil
	}
}

func (pr *partReader) connect(ctx context.Context, l *link) error {
	c, err := pr.dial(ctx)
	if err != nil {
		l.err = fmt.Errorf("cannot reach the partition's leader: %w", err)
		return l.err
	}
	l.conn, l.err = c, nil
	l.stop = context.AfterFunc(ctx, func() { c.Close() })
	return nil
}

// read reads the partition from its start offset to the high-water mark
// and returns the time from which it covers the partition.
func (pr *partReader) read(ctx context.Context, w sources.Window, started time.Time) (since time.Time, err error) {
	defer pr.out.Close()
	cfg := &pr.s.cfg
	var l link
	defer l.close()
	var first, hwm int64
	bySince := cfg.Start != "earliest" && !w.Since.IsZero()
	sinceOff := int64(-1)
	for attempt := 0; ; attempt++ {
		err := pr.connect(ctx, &l)
		if err == nil {
			_ = l.conn.SetDeadline(time.Now().Add(cfg.ReadTimeout))
			if first, hwm, err = l.conn.ReadOffsets(); err != nil {
				err = fmt.Errorf("reading its offsets: %w", err)
				l.close()
			}
		}
		if err == nil && bySince {
			if sinceOff, err = l.conn.ReadOffset(w.Since); err != nil {
				err = fmt.Errorf("finding the offset of %s: %w", w.Since.Format(time.RFC3339), err)
				l.close()
			}
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return since, pr.fail(ctx, fmt.Errorf("topic %s partition %d: %w", pr.topic, pr.part, err))
		}
		if hint, ok := refused(err); ok {
			return since, fmt.Errorf("topic %s partition %d: cannot start reading: %v; %s", pr.topic, pr.part, err, hint)
		}
		if attempt >= pr.s.retries {
			return since, fmt.Errorf("topic %s partition %d: cannot start reading (%d attempts): %v; the broker went away or the partition moved: check the cluster and run again", pr.topic, pr.part, attempt+1, err)
		}
		if !sleep(ctx, attempt+1) {
			return since, fmt.Errorf("topic %s partition %d: read interrupted: %w", pr.topic, pr.part, ctx.Err())
		}
	}
	start := first
	if bySince {
		off := sinceOff
		if off < 0 || off > hwm {
			off = hwm // no message at or after since
		}
		if off > first {
			start, since = off, w.Since
		}
	}
	// Messages before first were deleted (retention): the partition covers
	// only from its first retained message on.
	fromRetained := start == first && first > 0
	if fromRetained && start == hwm {
		since = started
	}

	off := start
	failures, idle := 0, 0
	for off < hwm {
		if err := ctx.Err(); err != nil {
			return since, fmt.Errorf("%s: read interrupted: %w", pr.where(off), err)
		}
		before := off
		firstTime, err := pr.batch(ctx, &l, &off, hwm)
		if fromRetained && before == start && !firstTime.IsZero() {
			since = firstTime
			if w.Since.After(since) {
				since = w.Since
			}
		}
		var se *sinkError
		switch {
		case errors.As(err, &se):
			return since, se.err
		case err != nil:
			if ctx.Err() != nil {
				return since, fmt.Errorf("%s: read interrupted: %w", pr.where(off), ctx.Err())
			}
			if hint, ok := refused(err); ok {
				return since, fmt.Errorf("%s: read stopped %d messages before the high-water mark %d: %v; %s", pr.where(off), hwm-off, hwm, err, hint)
			}
			failures++
			if failures > pr.s.retries {
				return since, fmt.Errorf("%s: read stopped %d messages before the high-water mark %d (%d attempts): %v; the broker went away or the partition moved: check the cluster and run again", pr.where(off), hwm-off, hwm, failures, err)
			}
			l.close()
			if !sleep(ctx, failures) {
				return since, fmt.Errorf("%s: read interrupted: %w", pr.where(off), ctx.Err())
			}
			_ = pr.connect(ctx, &l) // a failure shows on the next batch
		case off == before:
			idle++
			if idle > 3 {
				return since, fmt.Errorf("%s: no progress below the high-water mark %d; the partition may hold only transaction markers there: run again, or report this", pr.where(off), hwm)
			}
		default:
			failures, idle = 0, 0
		}
	}
	return since, nil
}

// refused says whether err is the broker's answer that asking again
// cannot change (an error code Kafka does not call retriable), and what to
// do about it. The read then stops at once instead of retrying.
func refused(err error) (hint string, ok bool) {
	var ke kafkago.Error
	if !errors.As(err, &ke) || ke.Temporary() {
		return "", false
	}
	switch ke {
	case kafkago.TopicAuthorizationFailed:
		return "the broker refuses this user: it needs the Read and Describe ACLs on the topic (or fix sasl.username)", true
	case kafkago.GroupAuthorizationFailed, kafkago.ClusterAuthorizationFailed:
		return "the broker refuses this user: ask for the ACL the error names (or fix sasl.username)", true
	case kafkago.OffsetOutOfRange:
		return "the messages there were deleted while reading (retention): run again", true
	case kafkago.SASLAuthenticationFailed:
		return "check sasl.username and the password variable", true
	}
	return "asking again cannot help (Kafka does not call this error retriable): fix what it names and run again", true
}

// sleep backs off before the n-th retry; false when ctx ended first.
func sleep(ctx context.Context, n int) bool {
	t := time.NewTimer(time.Duration(n) * 200 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (pr *partReader) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%v: read interrupted: %w", err, ctx.Err())
	}
	return err
}

// batch fetches once from *off and handles the messages below hwm. It
// returns the time of the first message handled.
func (pr *partReader) batch(ctx context.Context, l *link, off *int64, hwm int64) (time.Time, error) {
	var first time.Time
	conn := l.conn
	if conn == nil {
		return first, l.err
	}
	cfg := &pr.s.cfg
	if err := conn.SetDeadline(time.Now().Add(cfg.ReadTimeout)); err != nil {
		return first, err
	}
	if _, err := conn.Seek(*off, kafkago.SeekAbsolute|kafkago.SeekDontCheck); err != nil {
		return first, err
	}
	b := conn.ReadBatchWith(kafkago.ReadBatchConfig{MinBytes: 1, MaxBytes: cfg.FetchMaxBytes, MaxWait: 500 * time.Millisecond})
	for n := 1; ; n++ {
		if n&255 == 0 && ctx.Err() != nil {
			// A fetch may hold thousands of messages already received.
			b.Close()
			return first, ctx.Err()
		}
		m, err := b.ReadMessage()
		if err != nil {
			break
		}
		if m.Offset >= hwm {
			break
		}
		if m.Offset < *off {
			continue // a compressed batch starts before the offset asked for
		}
		if first.IsZero() {
			first = m.Time.UTC()
		}
		*off = m.Offset + 1
		if err := pr.handle(&m); err != nil {
			b.Close()
			return first, &sinkError{err: err}
		}
	}
	err := b.Close()
	if next := b.Offset(); next > *off && next <= hwm {
		*off = next
	}
	if err != nil && *off >= hwm {
		err = nil // everything wanted was read
	}
	return first, err
}

// handle maps one message with every stream of its topic.
func (pr *partReader) handle(km *kafkago.Message) error {
	m := message{topic: pr.topic, partition: pr.part, offset: km.Offset, time: km.Time.UTC(), key: km.Key, value: km.Value}
	if len(km.Headers) > 0 {
		m.headers = make([]header, len(km.Headers))
		for i, h := range km.Headers {
			m.headers[i] = header{key: h.Key, value: h.Value}
		}
	}
	prov := record.Provenance{Source: pr.s.name, Loc: pr.loc, Pos: km.Offset, Style: record.StyleOffset}
	for _, ss := range pr.states {
		if err := pr.emit(ss, &m, prov); err != nil {
			return err
		}
	}
	return nil
}

func (pr *partReader) emit(ss *streamState, m *message, prov record.Provenance) error {
	err := ss.view.decode(m)
	if ss.st.dl == nil {
		if err == errSkip {
			pr.out.Filtered(1)
			return nil
		}
		if err != nil {
			return pr.out.Bad(prov, err)
		}
	}
	// A dead letter is evidence whatever its payload: one that is not
	// JSON (often why it was dead-lettered) just has empty value paths.
	ss.fill()
	ss.rec.Prov = prov
	keep, err := ss.mapper.Map(ss.vals, &ss.rec)
	if err != nil {
		return pr.out.Bad(prov, err)
	}
	if !keep {
		pr.out.Filtered(1)
		return nil
	}
	if ss.st.dl != nil {
		pr.deadLetter(ss, m)
	}
	return pr.out.Record(&ss.rec)
}

// deadLetter adds to a dead letter what its headers say and, when the
// original topic is mapped in this source, the keys and kind its payload
// has under that mapping, so the dead letter joins its instance and step.
func (pr *partReader) deadLetter(ss *streamState, m *message) {
	in := ss.st.dl.read(m)
	topic := ss.st.dl.originalTopic
	if topic == "" {
		topic = in["topic"]
	}
	var kind string
	var keys []record.KV
	if os := pr.original(topic); os != nil {
		om := in.original(m, topic)
		if err := os.view.decode(om); err == nil {
			os.fill()
			os.rec.Prov = ss.rec.Prov
			// The payload may fail that mapping elsewhere (that may be why
			// it was dead-lettered): keep the keys and kind it did yield.
			_, _ = os.mapper.Map(os.vals, &os.rec)
			kind, keys = os.rec.Kind, os.rec.Keys
		}
	}
	enrich(&ss.rec, in, kind, keys)
}

func (pr *partReader) original(topic string) *streamState {
	if topic == "" {
		return nil
	}
	if ss, ok := pr.origs[topic]; ok {
		return ss
	}
	var ss *streamState
	for _, st := range pr.s.streams[topic] {
		if st.dl == nil {
			ss = newState(st)
			break
		}
	}
	pr.origs[topic] = ss
	return ss
}
