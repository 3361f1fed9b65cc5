// Package emit publishes a reviewed plan's actions as command messages to
// Kafka, one message per action keyed by its idempotency key. It refuses
// unless the plan id the reviewer confirmed is the id of the plan just
// computed, so what is sent is exactly what was reviewed.
package emit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vitals-dev/vitals/plan"
)

// Schema names the command message format (docs/plan-schema.md).
const Schema = "vitals.command/v1"

// Command is the value of one message: one action of one plan.
type Command struct {
	Schema string      `json:"schema"`
	PlanID string      `json:"plan_id"`
	AsOf   string      `json:"as_of"`
	Action plan.Action `json:"action"`
}

// Writer publishes messages; *kafka.Writer is one.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// RefusedError says why a plan was not emitted. Nothing was sent.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "not emitted: " + e.Reason }

// Check refuses a plan that is not the one confirmed, or that comes from an
// incomplete run, one that could not read some of its input, or one older
// than its evidence.
func Check(p *plan.Plan, confirm string) error {
	switch {
	case confirm == "":
		return &RefusedError{Reason: fmt.Sprintf("--confirm PLAN_ID is required: review the plan, then confirm its id (this plan is %s)", p.ID)}
	case confirm != p.ID:
		return &RefusedError{Reason: fmt.Sprintf("you confirmed plan %s, but the plan computed now is %s: this is not the plan that was reviewed — the evidence changed since, or this run's config or flags (--config, --as-of, the window, --data-dir) differ from the reviewed run's; review this plan and confirm its id", confirm, p.ID)}
	case !p.Run.Complete:
		return &RefusedError{Reason: "a source failed, so the plan may miss refunds or releases already made; fix the source and plan again"}
	case p.Run.AfterAsOf > 0:
		return &RefusedError{Reason: fmt.Sprintf("the sources hold %d record(s) dated after as_of %s, left out of this plan: one may be a refund or release made since; plan again with a later --as-of (e.g. now)", p.Run.AfterAsOf, p.Run.AsOf)}
	case p.Run.BadInput > 0:
		return &RefusedError{Reason: fmt.Sprintf("%d input(s) could not be read (vitals check lists where), so the plan may miss refunds or releases already made; fix the input and plan again", p.Run.BadInput)}
	}
	return nil
}

// Messages returns one message per action, in plan order, keyed by the
// action's idempotency key.
func Messages(p *plan.Plan) ([]kafka.Message, error) {
	out := make([]kafka.Message, 0, len(p.Actions))
	for _, a := range p.Actions {
		v, err := json.Marshal(Command{Schema: Schema, PlanID: p.ID, AsOf: p.Run.AsOf, Action: a})
		if err != nil {
			return nil, fmt.Errorf("encode action %d: %w", a.Seq, err)
		}
		out = append(out, kafka.Message{
			Key:   []byte(a.IdempotencyKey),
			Value: v,
			Headers: []kafka.Header{
				{Key: "vitals-schema", Value: []byte(Schema)},
				{Key: "vitals-plan-id", Value: []byte(p.ID)},
				{Key: "vitals-action", Value: []byte(a.Action)},
			},
		})
	}
	return out, nil
}

// Send checks the confirmation and publishes every action through w. It
// returns how many messages were sent.
func Send(ctx context.Context, w Writer, p *plan.Plan, confirm string) (int, error) {
	if err := Check(p, confirm); err != nil {
		return 0, err
	}
	msgs, err := Messages(p)
	if err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		var we kafka.WriteErrors
		if errors.As(err, &we) {
			return len(msgs) - we.Count(), fmt.Errorf("%d of %d command(s) were not written (%w); messages are keyed by idempotency key, so emitting the same plan again is safe", we.Count(), len(msgs), err)
		}
		return 0, fmt.Errorf("write commands: %w; check --brokers and that the topic exists; emitting the same plan again is safe", err)
	}
	return len(msgs), nil
}

// NewKafkaWriter returns a writer for topic on brokers: messages of one key
// go to one partition, and every write waits for all in-sync replicas.
// The topic must exist. Close it when done.
func NewKafkaWriter(brokers []string, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 10 * time.Millisecond,
		WriteTimeout: 10 * time.Second,
		MaxAttempts:  3,
	}
}
