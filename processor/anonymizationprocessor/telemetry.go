package anonymizationprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/insights-collector/insights-collector/processor/anonymizationprocessor/internal/metadata"
)

// Outcomes of a record, the `outcome` label of otelcol_processor_anonymization_records.
const (
	outcomePassed      = "passed"
	outcomeOptedOut    = "opted_out"    // its user is on the opt-out list: dropped
	outcomeInvalidUser = "invalid_user" // its user field could not be pseudonymised: dropped (fail closed)
)

// Rule names of the default treatments, the `rule` label of otelcol_processor_anonymization_fields (a
// configured rule is labelled with its name).
const (
	ruleUserID        = "user_id"
	ruleAnonymousID   = "anonymous_id"
	rulePersonal      = "personal_attributes" // user.email, user.name, user.full_name
	ruleUserRef       = "user_ref"
	ruleClientAddress = "client_address"
	ruleUserAgent     = "user_agent"
	ruleSearchTerm    = "search_term"
	ruleFreeText      = "free_text"
	ruleTraits        = "identify_traits"
)

type fieldKey struct{ action, rule string }

// tally counts one batch; it is added to the metrics once per batch, not per record.
type tally struct {
	records map[string]int64
	fields  map[fieldKey]int64
}

func newTally() *tally { return &tally{records: map[string]int64{}, fields: map[fieldKey]int64{}} }

func (t *tally) field(action, rule string) { t.fields[fieldKey{action, rule}]++ }

type telemetry struct {
	records metric.Int64Counter
	fields  metric.Int64Counter
	optOuts metric.Int64Gauge
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	records, err := meter.Int64Counter("otelcol_processor_anonymization_records",
		metric.WithDescription("Records (log records, spans) the processor saw, by outcome (passed, opted_out, invalid_user)."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, fmt.Errorf("create records counter: %w", err)
	}
	fields, err := meter.Int64Counter("otelcol_processor_anonymization_fields",
		metric.WithDescription("Attribute values the processor changed, by action (hash, redact, drop, truncate, generalize, scrub) and rule."),
		metric.WithUnit("{field}"))
	if err != nil {
		return nil, fmt.Errorf("create fields counter: %w", err)
	}
	optOuts, err := meter.Int64Gauge("otelcol_processor_anonymization_opt_outs",
		metric.WithDescription("Entries of the opt-out list in force."), metric.WithUnit("{user}"))
	if err != nil {
		return nil, fmt.Errorf("create opt-outs gauge: %w", err)
	}
	return &telemetry{records: records, fields: fields, optOuts: optOuts}, nil
}

func (t *telemetry) record(ctx context.Context, tl *tally) {
	for outcome, n := range tl.records {
		t.records.Add(ctx, n, metric.WithAttributes(attribute.String("outcome", outcome)))
	}
	for k, n := range tl.fields {
		t.fields.Add(ctx, n, metric.WithAttributes(attribute.String("action", k.action), attribute.String("rule", k.rule)))
	}
}
